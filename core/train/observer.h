#pragma once
// How the trainer reports progress (STYLE.md "Training events reach the GUI without blocking"):
// plain structs through an observer interface, no Qt. The CLI prints them; the GUI's worker
// forwards them as queued signals. Every callback runs on the training thread and must return
// quickly.
#include <cstdint>
#include <map>
#include <string>

namespace fw::train {

struct StepEvent {
  std::string method;
  int64_t step = 0, totalSteps = 0, epoch = 0;
  double loss = 0, lr = 0, samplesPerSecond = 0, tokensPerSecond = 0;
  double memoryMiB = 0, peakMemoryMiB = 0;  // CUDA allocated / peak, or resident memory on the CPU
  double elapsedSeconds = 0, etaSeconds = 0;
  double deltaNorm = 0, weightNorm = 0;  // ‖ΔW‖ / ‖W0‖ summed over adapted layers (0 when not measured)
};

struct EvalEvent {
  std::string method;
  int64_t step = 0, epoch = 0;
  double loss = 0;
  std::map<std::string, double> metrics;  // the task's metrics, e.g. accuracy, f1
};

struct MethodResult {
  std::string method, type, status;  // finished, stopped, failed
  int64_t trainableParameters = 0, steps = 0;
  double seconds = 0;
  // Where the loop's wall time went (seconds): training steps, waiting for a batch, evaluation,
  // checkpoints, ΔW snapshots; stepShare: steps over the loop's wall time (this session's part of
  // a resumed run).
  double stepSeconds = 0, dataWaitSeconds = 0, evalSeconds = 0, checkpointSeconds = 0, snapshotSeconds = 0;
  double stepShare = 0;
  int64_t bytesReduced = 0;  // data-parallel: bytes all-reduced by this rank (0 in one process)
  std::map<std::string, double> finalMetrics, bestMetrics;
  std::string error;
};

class TrainObserver {
public:
  virtual ~TrainObserver() = default;
  virtual void onLog(const std::string& line) {}
  virtual void onMethodStart(const std::string& method, int64_t totalSteps, int64_t trainable) {}
  virtual void onStep(const StepEvent& e) {}
  virtual void onEval(const EvalEvent& e) {}
  virtual void onMethodFinished(const MethodResult& r) {}
  // The run folder, once it exists (rank 0 only in a data-parallel run).
  virtual void onRunFolder(const std::string& runFolder) {}
  virtual void onFinished(const std::string& runFolder, const std::string& status) {}
};

}  // namespace fw::train
