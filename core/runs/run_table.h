#pragma once
// The text table that `fourierft runs` prints: one line per run, columns sized to fit.
//
//   ID  STATUS    NAME                     MODEL         DATASET  METHODS         METRIC           STARTED           DURATION
//    2  finished  20261125-143000-default  roberta-base  sst2     fourierft,lora  accuracy=0.9406  2026-11-25 14:30     1h02m
#include "runs/run_index.h"

#include <ctime>
#include <string>
#include <vector>

namespace fw::runs {

struct RunTableOptions {
  // The final metric to show. Empty: finalMetrics["main_metric"] when it names one, else the
  // first of accuracy, matthews_correlation, pearson, spearman, f1, eval_loss, loss; the cell
  // then names it ("accuracy=0.9406"). finalMetrics may hold it at the top level or once per
  // method ({"fourierft": {"accuracy": 0.94}, "lora": {...}} -> "fourierft=0.94 lora=0.93").
  std::string metric;
  std::time_t now = 0;  // end of a running run's duration; 0: the current time
};

// Times are shown in local time; long names are shortened with "...".
std::string formatRunTable(const std::vector<RunRecord>& runs, const RunTableOptions& options = {});

}  // namespace fw::runs
