#pragma once
// Training progress on the terminal: one line per step rewritten in place on a terminal
// (step, loss, throughput, ETA), a new line per evaluation and per finished method; plain lines
// every N steps when the output is a file or a pipe.
#include "train/observer.h"

#include <chrono>
#include <string>

namespace fw::cli {

class ProgressPrinter : public train::TrainObserver {
public:
  ProgressPrinter();
  void onLog(const std::string& line) override;
  void onMethodStart(const std::string& method, int64_t totalSteps, int64_t trainable) override;
  void onStep(const train::StepEvent& e) override;
  void onEval(const train::EvalEvent& e) override;
  void onMethodFinished(const train::MethodResult& r) override;
  void onFinished(const std::string& runFolder, const std::string& status) override;

private:
  void endLine();
  bool tty_;
  bool open_ = false;  // a progress line is on screen without its newline
  std::chrono::steady_clock::time_point lastPrint_{};
};

std::string formatDuration(double seconds);

}  // namespace fw::cli
