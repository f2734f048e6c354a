#include "train/train_loop.h"

#include "analysis/snapshot.h"
#include "data/batcher.h"
#include "distributed/data_parallel.h"
#include "train/batch_prefetch.h"
#include "train/batch_tensors.h"
#include "train/evaluate.h"
#include "train/foreach_adamw.h"
#include "train/losses.h"
#include "train/memory.h"
#include "train/out_of_memory.h"
#include "train/schedule.h"
#include "train/train_state.h"
#include "util/autocast.h"
#include "util/error.h"

#include <ATen/core/grad_mode.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <cmath>
#include <thread>

namespace fw::train {

namespace {

using Clock = std::chrono::steady_clock;

at::Tensor lossOf(const at::Tensor& logits, const BatchTensors& t, data::TaskKind kind) {
  switch (kind) {
    case data::TaskKind::Regression: return regressionLoss(logits, t.targets);
    case data::TaskKind::CausalLM: return causalLmLoss(logits, t.lmLabels);
    default: return classificationLoss(logits, t.labels);
  }
}

// The entries lossOf averages over (labelled examples, or target tokens for a causal LM).
int64_t labelledOf(const BatchTensors& t, data::TaskKind kind) {
  switch (kind) {
    case data::TaskKind::Regression: return regressionCount(t.targets);
    case data::TaskKind::CausalLM: return causalLmCount(t.lmLabels);
    default: return classificationCount(t.labels);
  }
}

double flag(const std::atomic<bool>* f) { return f && f->load() ? 1.0 : 0.0; }

// Holds the loop between steps while `pause` is set or until `stop` is. Data-parallel ranks poll
// together with a two-value all-reduce five times a second (not counted as training traffic), so
// no rank sits in a collective long enough to time out. Returns whether a stop was agreed.
bool waitWhilePaused(const std::atomic<bool>* pause, const std::atomic<bool>* stop, dist::DataParallel* parallel) {
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (!parallel) {
      if (flag(stop) > 0) return true;
      if (flag(pause) == 0) return false;
      continue;
    }
    const auto agreed = parallel->sum({flag(pause), flag(stop)}, /*training=*/false);
    if (agreed[1] > 0) return true;
    if (agreed[0] == 0) return false;
  }
}

// Runs part of a step; an allocation that fails in it becomes an fw::Error with the sizes and
// what to change (train/out_of_memory.h), which marks the run failed with its checkpoint kept.
template <class F>
void guardMemory(const StepContext& where, F&& part) {
  try {
    part();
  } catch (const c10::Error& e) {
    if (auto err = allocationFailure(e, where)) throw *err;
    throw;
  }
}

// The other ranks' random states on every rank (rank 0 writes them): "rng.cpu.rank<r>", r >= 1.
// Every rank calls it at the same step. A state's bytes travel as doubles (exact for 0..255).
io::NamedTensors gatherRandomStates(dist::DataParallel& parallel, const PreparedMethod& pm) {
  io::NamedTensors out;
  for (const auto& [name, state] : randomStates(pm)) {
    const auto bytes = state.to(at::kCPU).contiguous();
    const auto* p = bytes.data_ptr<uint8_t>();
    const int64_t n = bytes.numel();
    const auto all = parallel.gather(std::vector<double>(p, p + n));
    if (int64_t(all.size()) != n * parallel.worldSize())
      throw Error("the ranks' random states differ in size (" + name + ")").hint("every rank must run the same LibTorch");
    for (int r = 1; r < parallel.worldSize(); ++r) {
      auto t = at::empty({n}, at::kByte);
      for (int64_t i = 0; i < n; ++i) t.data_ptr<uint8_t>()[i] = uint8_t(all[size_t(r * n + i)]);
      out.emplace_back(name + ".rank" + std::to_string(r), t);
    }
  }
  return out;
}

nlohmann::json metricsJson(const std::map<std::string, double>& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m) j[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
  return j;
}

}  // namespace

MethodResult runTrainLoop(PreparedMethod& pm, const TrainData& data, const LoopConfig& cfg, const LoopOutput& out,
                          TrainObserver* observer, const std::atomic<bool>* stop) {
  at::AutoGradMode gradients(true);  // whatever the caller's mode, training needs gradients
  auto& model = *pm.model;
  MethodResult result;
  result.method = cfg.method;
  result.trainableParameters = pm.trainableParameters;
  if (data.train.examples.empty()) throw Error("the training set is empty").file(data.train.source);

  auto* parallel = cfg.parallel;
  const int world = parallel ? parallel->worldSize() : 1;
  if (cfg.batchSize % world != 0)
    throw Error("the batch size " + std::to_string(cfg.batchSize) + " does not split evenly over " +
                std::to_string(world) + " processes")
        .field("batch_size")
        .hint("use a multiple of the number of processes (it is the global batch)");
  // With several ranks the last short batch is dropped, so that every rank takes the same steps.
  data::Batcher batcher(data.train, cfg.batchSize / world, /*shuffle=*/true, cfg.seed, data.padId,
                        parallel ? parallel->rank() : 0, world, /*dropLast=*/world > 1);
  const int64_t perEpoch = batcher.batchesPerEpoch();
  if (perEpoch == 0) throw Error("the training set holds fewer examples than one batch").file(data.train.source);
  // max_steps, when set, overrides epochs as in HF's Trainer (the data is gone over again as needed).
  const int64_t total = cfg.maxSteps > 0 ? cfg.maxSteps : perEpoch * cfg.epochs;
  const int64_t warmup = int64_t(std::ceil(cfg.warmupRatio * double(total)));

  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (const auto& g : pm.groups) {
    std::vector<at::Tensor> ps;
    for (const auto& [name, p] : g.params) ps.push_back(p);
    auto o = std::make_unique<torch::optim::AdamWOptions>(g.lr);
    o->betas({cfg.beta1, cfg.beta2}).eps(cfg.eps).weight_decay(g.decay ? cfg.weightDecay : 0.0);
    groups.emplace_back(ps, std::move(o));
  }
  ForeachAdamW optimizer(groups, torch::optim::AdamWOptions(1e-3).weight_decay(cfg.weightDecay));
  std::vector<at::Tensor> trainable;
  for (const auto& g : pm.groups)
    for (const auto& [name, p] : g.params) trainable.push_back(p);

  TrainPosition pos;
  if (out.resumeFrom) {
    pos = loadTrainState(*out.resumeFrom, pm, optimizer, parallel ? parallel->rank() : 0);
    if (pos.step > total)
      throw Error("the checkpoint is past the method's last step").file(*out.resumeFrom + "/state.json").field("step")
          .expected("at most " + std::to_string(total)).got(std::to_string(pos.step))
          .hint("the checkpoint is damaged: remove its folder to resume from the one before");
    if (observer) observer->onLog(cfg.method + ": resumed at step " + std::to_string(pos.step) + " from " + *out.resumeFrom);
  }
  const std::string primary = primaryMetric(data.eval.examples.empty() ? data.train : data.eval, data.glueTask);
  if (observer) observer->onMethodStart(cfg.method, total, pm.trainableParameters);

  auto seconds = [](Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); };
  int64_t checkpointsSaved = 0;
  auto saveCheckpoint = [&](int64_t step, double elapsed) {
    // Every rank's random states, for each to resume with its own dropout draws (rank 0 writes).
    io::NamedTensors otherRanks;
    if (parallel) otherRanks = gatherRandomStates(*parallel, pm);
    if (out.checkpointDir) {
      const auto t0 = Clock::now();
      TrainPosition p = pos;
      p.step = step;
      p.elapsedSeconds = elapsed;
      const auto dir = out.checkpointDir(step);
      saveTrainState(dir, pm, optimizer, p, otherRanks);
      if (out.checkpointWritten) out.checkpointWritten(dir);
      result.checkpointSeconds += seconds(t0);
    }
    // The others wait for rank 0's write here, not in the next step's all-reduce, whose timeout
    // (--timeout) a large checkpoint on a slow disk can pass.
    if (parallel) parallel->waitForLead("checkpoint/" + cfg.method + "/" + std::to_string(++checkpointsSaved));
  };
  auto runEval = [&](int64_t step) {
    if (data.eval.examples.empty()) return;
    const auto t0 = Clock::now();
    EvalOutcome e;
    guardMemory({cfg.method, step, cfg.evalBatchSize, 0, /*evaluating=*/true}, [&] {
      e = evaluate(model, data.eval, cfg.evalBatchSize, data.padId, cfg.device, data.glueTask, parallel,
                   cfg.autocastBf16);
    });
    EvalEvent ev{cfg.method, step, step / perEpoch, e.loss, e.metrics};
    result.finalMetrics = e.metrics;
    result.finalMetrics["loss"] = e.loss;
    auto it = e.metrics.find(primary);
    const bool lowerBetter = primary == "perplexity";
    auto best = pos.best.find(primary);
    if (it != e.metrics.end() && std::isfinite(it->second) &&
        (best == pos.best.end() || (lowerBetter ? it->second < best->second : it->second > best->second))) {
      pos.best = e.metrics;
      pos.best["loss"] = e.loss;  // the loss at the best evaluation (the report's "best loss")
    }
    if (out.metrics)
      out.metrics({{"event", "eval"}, {"method", cfg.method}, {"step", step}, {"epoch", ev.epoch},
                   {"loss", e.loss}, {"examples", e.examples}, {"metrics", metricsJson(e.metrics)}});
    if (observer) observer->onEval(ev);
    result.evalSeconds += seconds(t0);
  };

  // Snapshots: the first after a few steps, then as often as the budget allows.
  analysis::SnapshotPolicy snapshots(out.snapshotBudget > 0 ? out.snapshotBudget : 0.05, 1);
  snapshots.update(0.0, 1.0);
  double stepSecondsTotal = 0;
  int64_t stepsTimed = 0, lastSnapshot = -1;
  auto takeSnapshot = [&](int64_t step) {
    if (!out.snapshot || step == lastSnapshot) return;
    const auto t0 = Clock::now();
    out.snapshot(step);
    lastSnapshot = step;
    const double dt = seconds(t0);
    result.snapshotSeconds += dt;
    snapshots.update(dt, stepsTimed ? stepSecondsTotal / double(stepsTimed) : dt);
  };

  model.train();
  const auto start = Clock::now();
  const double elapsedBefore = pos.elapsedSeconds;
  double pausedSeconds = 0;  // left out of the elapsed time, the ETA and the step share
  // Training time of the whole run so far: earlier sessions' and this one's, pauses left out.
  auto elapsedNow = [&] { return elapsedBefore + seconds(start) - pausedSeconds; };
  double windowSeconds = 0, windowSamples = 0, windowTokens = 0;
  int64_t step = pos.step;
  result.status = "finished";
  BatchPrefetcher prefetch(batcher, data.train.kind, cfg.device, step, total);
  bool stopAgreed = false;  // data-parallel: a stop seen by any rank, agreed on with the loss
  bool pauseAgreed = false;  // likewise for a pause
  for (; step < total; ++step) {
    if (parallel ? stopAgreed : (stop && stop->load())) {
      result.status = "stopped";
      break;
    }
    auto [batch, t] = prefetch.next();
    const auto t0 = Clock::now();
    const int64_t epoch = step / perEpoch;
    const double factor = linearScheduleFactor(step, warmup, total);
    for (size_t i = 0; i < pm.groups.size(); ++i)
      static_cast<torch::optim::AdamWOptions&>(optimizer.param_groups()[i].options()).lr(pm.groups[i].lr * factor);
    const StepContext where{cfg.method, step + 1, int64_t(batch.size), int64_t(t.tokens)};
    at::Tensor loss;
    guardMemory(where, [&] {
      AutocastScope autocast(cfg.autocastBf16, cfg.device);
      loss = lossOf(model.forward(t.inputs), t, data.train.kind);
    });
    double lossValue = loss.item<double>();
    // The step's examples and tokens over all processes: throughput is the run's, not rank 0's.
    double stepSamples = double(batch.size), stepTokens = double(t.tokens);
    if (parallel) {
      // Every rank sees the same loss, so a NaN or a stop ends all of them at one step. It is the
      // mean over all ranks' labelled entries, as one process takes it: ranks' shares differ for a
      // causal LM (target tokens) or rows without a label. Each rank's loss is weighted by
      // world * share before backward, so that the averaged gradients are those of that mean.
      const double labelled = double(labelledOf(t, data.train.kind));
      auto agreed = parallel->sum({lossValue * labelled, flag(stop), flag(cfg.pause), stepSamples, stepTokens, labelled});
      const double allLabelled = agreed[5];
      lossValue = allLabelled > 0 ? agreed[0] / allLabelled : 0.0;
      if (allLabelled > 0 && labelled != allLabelled / double(world))
        loss = loss * (double(world) * labelled / allLabelled);
      stopAgreed = agreed[1] > 0;
      pauseAgreed = agreed[2] > 0;
      stepSamples = agreed[3];
      stepTokens = agreed[4];
    }
    if (!std::isfinite(lossValue))
      throw Error("the training loss is " + std::string(std::isnan(lossValue) ? "NaN" : "infinite") + " at step " +
                  std::to_string(step + 1) + " of method '" + cfg.method + "'")
          .hint("start a new run with a lower learning rate (or FourierFT scaling): a resume keeps the experiment, and the "
                "checkpoints kept may already hold the diverging updates");
    guardMemory(where, [&] {
      loss.backward();
      if (parallel) parallel->averageGradients(trainable);
      if (cfg.gradClip > 0) torch::nn::utils::clip_grad_norm_(trainable, cfg.gradClip);
      optimizer.step();
      optimizer.zero_grad();
    });

    const double stepSeconds = seconds(t0);
    stepSecondsTotal += stepSeconds;
    ++stepsTimed;
    windowSeconds += stepSeconds;
    windowSamples += stepSamples;
    windowTokens += stepTokens;
    const int64_t done = step + 1;
    if (done % cfg.logEvery == 0 || done == total) {
      const double elapsed = elapsedNow();
      const double perStep = elapsed / double(done);
      auto mem = readMemory(cfg.device);
      StepEvent ev;
      ev.method = cfg.method;
      ev.step = done;
      ev.totalSteps = total;
      ev.epoch = epoch;
      ev.loss = lossValue;
      ev.lr = pm.groups.front().lr * factor;
      ev.samplesPerSecond = windowSeconds > 0 ? windowSamples / windowSeconds : 0;
      ev.tokensPerSecond = windowSeconds > 0 ? windowTokens / windowSeconds : 0;
      ev.memoryMiB = mem.currentMiB;
      ev.peakMemoryMiB = mem.peakMiB;
      ev.elapsedSeconds = elapsed;
      ev.etaSeconds = perStep * double(total - done);
      if (out.metrics) {
        nlohmann::json line = {{"event", "step"}, {"method", cfg.method}, {"step", done}, {"epoch", epoch},
                               {"loss", lossValue}, {"lr", ev.lr}, {"samples", windowSamples},
                               {"samples_per_s", ev.samplesPerSecond},
                               {"memory_mib", mem.currentMiB}, {"peak_memory_mib", mem.peakMiB},
                               {"memory_kind", mem.cuda ? "cuda_allocated" : "resident"}, {"time", elapsed}};
        if (mem.cuda) line["reserved_memory_mib"] = mem.reservedMiB;
        if (windowTokens > 0) line["tokens_per_s"] = ev.tokensPerSecond;
        out.metrics(line);
      }
      if (observer) observer->onStep(ev);
      windowSeconds = windowSamples = windowTokens = 0;
    }
    const bool epochEnd = done % perEpoch == 0;
    if ((cfg.evalEvery > 0 && done % cfg.evalEvery == 0) || (cfg.evalEvery == 0 && epochEnd) ||
        (done == total && !(cfg.evalEvery > 0 ? done % cfg.evalEvery == 0 : epochEnd)))
      runEval(done);
    if (out.snapshot && (done == 5 || snapshots.due(done))) takeSnapshot(done);
    if (cfg.checkpointEvery > 0 && done % cfg.checkpointEvery == 0 && done < total)
      saveCheckpoint(done, elapsedNow());
    if (parallel ? pauseAgreed : flag(cfg.pause) > 0) {
      const auto pausedAt = Clock::now();
      if (observer) observer->onLog(cfg.method + ": paused after step " + std::to_string(done));
      stopAgreed = waitWhilePaused(cfg.pause, stop, parallel) || stopAgreed;
      pauseAgreed = false;
      pausedSeconds += seconds(pausedAt);
      if (observer) observer->onLog(cfg.method + (stopAgreed || flag(stop) > 0 ? ": stopping" : ": continuing"));
    }
  }
  // Resumed from a checkpoint at the last step (killed after it, before the run recorded the
  // method): no step ran, so evaluate here; the final metrics would be empty otherwise.
  if (result.status == "finished" && result.finalMetrics.empty()) runEval(step);
  if (result.status == "finished") takeSnapshot(step);
  result.steps = step;
  result.stepSeconds = stepSecondsTotal;
  result.dataWaitSeconds = prefetch.waitSeconds();
  const double wall = seconds(start) - pausedSeconds;
  result.stepShare = wall > 0 ? stepSecondsTotal / wall : 0.0;
  result.seconds = elapsedBefore + wall;
  result.bestMetrics = pos.best;
  // Not when this session took no step: the checkpoint it resumed from already holds this state,
  // and rewriting it (its folder is removed first) could lose the only one to a kill meanwhile.
  if (!(out.resumeFrom && step == pos.step)) saveCheckpoint(step, result.seconds);
  return result;
}

}  // namespace fw::train
