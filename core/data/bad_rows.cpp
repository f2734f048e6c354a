#include "data/bad_rows.h"

namespace fw::data {

void rejectRow(Dataset& dataset, BadRows policy, const Error& error) {
  if (policy == BadRows::Fail) {
    if (!error.hintText().empty()) throw error;
    Error withHint = error;
    throw withHint.hint("set the dataset's bad_rows to \"skip\" to leave such rows out");
  }
  ++dataset.skippedRows;
  if (dataset.skipped.size() < Dataset::kMaxSkippedReasons) dataset.skipped.push_back(error.what());
}

}  // namespace fw::data
