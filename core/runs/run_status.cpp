#include "runs/run_status.h"

namespace fw::runs {

namespace {
constexpr RunStatus kAll[] = {RunStatus::Created, RunStatus::Running, RunStatus::Finished,
                              RunStatus::Failed, RunStatus::Stopped, RunStatus::Interrupted};
}  // namespace

const char* statusName(RunStatus status) {
  switch (status) {
    case RunStatus::Created: return "created";
    case RunStatus::Running: return "running";
    case RunStatus::Finished: return "finished";
    case RunStatus::Failed: return "failed";
    case RunStatus::Stopped: return "stopped";
    case RunStatus::Interrupted: return "interrupted";
  }
  return "unknown";
}

std::optional<RunStatus> parseStatus(const std::string& name) {
  for (RunStatus s : kAll)
    if (name == statusName(s)) return s;
  return std::nullopt;
}

bool isTerminal(RunStatus status) {
  return status != RunStatus::Created && status != RunStatus::Running;
}

bool canChangeStatus(RunStatus from, RunStatus to) {
  switch (from) {
    case RunStatus::Created:  // a run may fail or be stopped before its first step
      return to == RunStatus::Running || to == RunStatus::Failed || to == RunStatus::Stopped;
    case RunStatus::Running:
      return isTerminal(to);
    case RunStatus::Failed:
    case RunStatus::Stopped:
    case RunStatus::Interrupted:
      return to == RunStatus::Running;
    case RunStatus::Finished:
      return false;
  }
  return false;
}

std::string allStatusNames() {
  std::string out;
  for (RunStatus s : kAll) out += (out.empty() ? "" : ", ") + std::string(statusName(s));
  return out;
}

}  // namespace fw::runs
