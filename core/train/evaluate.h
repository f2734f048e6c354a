#pragma once
// Evaluation of a model on a labelled dataset: mean loss and the task's metrics
// (GLUE's per task; accuracy for other classification; Pearson/Spearman for regression;
// perplexity for causal LMs). Rows without a label are left out.
#include "data/example.h"
#include "models/model.h"

#include <map>
#include <string>

namespace fw::dist {
class DataParallel;
}

namespace fw::train {

struct EvalOutcome {
  double loss = 0;
  int64_t examples = 0;
  std::map<std::string, double> metrics;
};

// With `parallel`, each rank evaluates its share of every batch and the results are gathered, so
// every rank returns the metrics one process would (the same predictions, in another order).
// `autocastBf16`: the forward pass under bfloat16 autocast, as the run trained (experiment
// precision "bf16"; HF's Trainer evaluates under the training's autocast too); the loss in float32.
EvalOutcome evaluate(models::PretrainedModel& model, const data::Dataset& dataset, int64_t batchSize, int64_t padId,
                     const c10::Device& device, const std::string& glueTask = "",
                     dist::DataParallel* parallel = nullptr, bool autocastBf16 = false);

// The metric that decides the "best" eval of a run: the first of the task's metrics.
std::string primaryMetric(const data::Dataset& dataset, const std::string& glueTask);

}  // namespace fw::train
