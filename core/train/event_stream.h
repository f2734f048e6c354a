#pragma once
// Training events as JSON lines, one object per line with an "event" member (`fourierft train
// --events`): how a parent process follows a run it started as a child, e.g. the window starting
// a data-parallel run. The writer is an observer; replayEvent turns a line back into the same
// observer call, so the reader sees exactly what an in-process observer would.
#include "train/observer.h"

#include <cstdio>
#include <string>

namespace fw::train {

class EventWriter : public TrainObserver {
public:
  explicit EventWriter(std::FILE* out) : out_(out) {}
  void onLog(const std::string& line) override;
  void onMethodStart(const std::string& method, int64_t totalSteps, int64_t trainable) override;
  void onStep(const StepEvent& e) override;
  void onEval(const EvalEvent& e) override;
  void onMethodFinished(const MethodResult& r) override;
  void onRunFolder(const std::string& runFolder) override;
  void onFinished(const std::string& runFolder, const std::string& status) override;

private:
  std::FILE* out_;
};

// Calls `observer`'s method for an event line. Returns false for a line that is not an event
// (not JSON, or no known "event"), which the caller may show as text.
bool replayEvent(const std::string& line, TrainObserver& observer);

}  // namespace fw::train
