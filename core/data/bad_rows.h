#pragma once
// The one place where BadRows is applied, so that every reader fails or skips the same way.
#include "data/example.h"
#include "util/error.h"

namespace fw::data {

// Fail: throws `error`, with a hint that bad_rows "skip" would leave the row out when it has no
// hint of its own. Skip: counts the row in dataset.skippedRows and keeps error.what() in
// dataset.skipped while fewer than Dataset::kMaxSkippedReasons are kept.
void rejectRow(Dataset& dataset, BadRows policy, const Error& error);

}  // namespace fw::data
