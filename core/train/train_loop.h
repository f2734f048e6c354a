#pragma once
// The training loop for one model and one method: batches in a fixed order, AdamW with the
// linear schedule, gradient clipping, evaluation, checkpoints, exact resume, cancellation.
// Used by the Trainer for each method and for the base-model stage of an experiment.
#include "data/example.h"
#include "train/method_setup.h"
#include "train/observer.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <optional>
#include <string>

namespace fw::dist {
class DataParallel;
}

namespace fw::train {

struct LoopConfig {
  std::string method;
  int64_t epochs = 1, maxSteps = 0, batchSize = 32, evalBatchSize = 64;  // maxSteps > 0 overrides epochs
  int64_t evalEvery = 0;        // steps; 0: at the end of each epoch
  int64_t checkpointEvery = 0;  // steps; 0: only at the end (and when stopped)
  int64_t logEvery = 1;
  double warmupRatio = 0.06, gradClip = 1.0, weightDecay = 0.0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  uint64_t seed = 0;
  c10::Device device = c10::Device(c10::kCPU);
  bool autocastBf16 = false;
  // Data-parallel: batchSize is the global batch, each rank takes its share of every batch, the
  // gradients are averaged before clipping and AdamW. Only rank 0 should be given outputs.
  dist::DataParallel* parallel = nullptr;
  // Held between steps while set (the GUI's pause, SIGUSR1 in the CLI). Data-parallel ranks
  // agree on it with the loss, then wait together, polling with a small all-reduce.
  const std::atomic<bool>* pause = nullptr;
};

struct TrainData {
  data::Dataset train, eval;
  std::string glueTask;  // empty for non-GLUE data
  int64_t padId = 0;
};

// Where the loop writes: metrics lines, checkpoints, log lines. Every member may be empty.
struct LoopOutput {
  std::function<void(const nlohmann::json&)> metrics;
  std::function<std::string(int64_t step)> checkpointDir;       // folder for a new checkpoint
  std::function<void(const std::string& dir)> checkpointWritten;  // mark complete, prune old ones
  std::optional<std::string> resumeFrom;                         // a complete checkpoint folder
  // Writes a ΔW analysis snapshot at a step; called at a cadence that keeps it under
  // `snapshotBudget` of the training time, and after the last step.
  std::function<void(int64_t step)> snapshot;
  double snapshotBudget = 0.05;
};

// Thrown when the loss stops being finite; the last good checkpoint stays on disk.
MethodResult runTrainLoop(PreparedMethod& method, const TrainData& data, const LoopConfig& config,
                          const LoopOutput& output, TrainObserver* observer, const std::atomic<bool>* stop);

}  // namespace fw::train
