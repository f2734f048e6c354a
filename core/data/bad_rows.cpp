#include "data/bad_rows.h"

namespace fw::data {

void rejectRow(Dataset& dataset, BadRows policy, const Error& error) {
  if (policy == BadRows::Fail) throw error;
  ++dataset.skippedRows;
  if (dataset.skipped.size() < Dataset::kMaxSkippedReasons) dataset.skipped.push_back(error.what());
}

}  // namespace fw::data
