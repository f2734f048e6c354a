#include "train/evaluate.h"

#include "data/batcher.h"
#include "data/glue.h"
#include "distributed/data_parallel.h"
#include "train/batch_tensors.h"
#include "train/losses.h"
#include "train/metrics.h"
#include "util/autocast.h"

#include <cmath>

namespace fw::train {

std::string primaryMetric(const data::Dataset& ds, const std::string& glueTask) {
  if (ds.kind == data::TaskKind::CausalLM) return "perplexity";
  if (!glueTask.empty()) return data::glueTask(glueTask).metrics.front();
  return ds.kind == data::TaskKind::Regression ? "pearson" : "accuracy";
}

EvalOutcome evaluate(models::PretrainedModel& model, const data::Dataset& ds, int64_t batchSize, int64_t padId,
                     const c10::Device& device, const std::string& glueTask, dist::DataParallel* parallel,
                     bool autocastBf16) {
  const bool wasTraining = model.is_training();
  model.eval();
  at::NoGradGuard noGrad;
  data::Batcher batcher(ds, batchSize, /*shuffle=*/false, 0, padId, parallel ? parallel->rank() : 0,
                        parallel ? parallel->worldSize() : 1);
  EvalOutcome out;
  std::vector<int64_t> predictions, labels;
  std::vector<double> scores, targets;
  double lossSum = 0, lossWeight = 0;
  for (int64_t i = 0; i < batcher.batchesPerEpoch(); ++i) {
    auto batch = batcher.batch(0, i);
    if (batch.size == 0) continue;  // a rank past the end of the last, short batch
    auto t = toTensors(batch, ds.kind, device);
    at::Tensor logits;
    {
      AutocastScope autocast(autocastBf16, device);
      logits = model.forward(t.inputs);
    }
    logits = logits.to(at::kFloat);  // losses, arg-max and scores in float32, as in training
    std::vector<bool> keep(size_t(batch.size), true);
    for (int64_t r = 0; r < batch.size; ++r) keep[size_t(r)] = ds.examples[size_t(batch.indices[size_t(r)])].hasLabel;
    if (ds.kind == data::TaskKind::CausalLM) {
      auto shifted = logits.slice(1, 0, -1).reshape({-1, logits.size(-1)});
      auto target = t.lmLabels.slice(1, 1).reshape({-1});
      auto sum = at::cross_entropy_loss(shifted, target, {}, at::Reduction::Sum, -100).item<double>();
      lossSum += sum;
      lossWeight += double(target.ne(-100).sum().item<int64_t>());
      out.examples += batch.size;
      continue;
    }
    auto keepMask = at::tensor(std::vector<int64_t>(keep.begin(), keep.end()), at::kLong).to(at::kBool).to(device);
    if (!keepMask.any().item<bool>()) continue;
    auto kept = logits.index({keepMask});
    const int64_t n = kept.size(0);
    if (ds.kind == data::TaskKind::Regression) {
      auto y = t.targets.index({keepMask});
      lossSum += regressionLoss(kept, y).item<double>() * double(n);
      auto s = kept.view({-1}).to(at::kCPU, at::kDouble), yy = y.to(at::kCPU, at::kDouble);
      scores.insert(scores.end(), s.data_ptr<double>(), s.data_ptr<double>() + n);
      targets.insert(targets.end(), yy.data_ptr<double>(), yy.data_ptr<double>() + n);
    } else {
      auto y = t.labels.index({keepMask});
      lossSum += classificationLoss(kept, y).item<double>() * double(n);
      auto p = kept.argmax(-1).to(at::kCPU), yy = y.to(at::kCPU);
      predictions.insert(predictions.end(), p.data_ptr<int64_t>(), p.data_ptr<int64_t>() + n);
      labels.insert(labels.end(), yy.data_ptr<int64_t>(), yy.data_ptr<int64_t>() + n);
    }
    lossWeight += double(n);
    out.examples += n;
  }
  if (parallel) {
    auto sums = parallel->sum({lossSum, lossWeight, double(out.examples)}, /*training=*/false);
    lossSum = sums[0];
    lossWeight = sums[1];
    out.examples = int64_t(sums[2]);
    auto asInts = [](const std::vector<double>& v) { return std::vector<int64_t>(v.begin(), v.end()); };
    predictions = asInts(parallel->gather(std::vector<double>(predictions.begin(), predictions.end())));
    labels = asInts(parallel->gather(std::vector<double>(labels.begin(), labels.end())));
    scores = parallel->gather(scores);
    targets = parallel->gather(targets);
  }
  out.loss = lossWeight > 0 ? lossSum / lossWeight : std::nan("");
  if (ds.kind == data::TaskKind::CausalLM) {
    out.metrics["perplexity"] = std::exp(out.loss);
  } else if (!glueTask.empty()) {
    out.metrics = glueMetrics(glueTask, predictions, labels, scores, targets);
  } else if (ds.kind == data::TaskKind::Regression) {
    out.metrics["pearson"] = pearson(scores, targets);
    out.metrics["spearman"] = spearman(scores, targets);
  } else {
    out.metrics["accuracy"] = accuracy(predictions, labels);
  }
  if (wasTraining) model.train();
  return out;
}

}  // namespace fw::train
