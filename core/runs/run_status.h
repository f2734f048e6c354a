#pragma once
// The life of a run: created -> running -> finished | failed | stopped | interrupted, and back
// to running when a stopped, failed or interrupted run is resumed from a checkpoint.
// The names are what summary.json and the run index store.
#include <optional>
#include <string>

namespace fw::runs {

enum class RunStatus { Created, Running, Finished, Failed, Stopped, Interrupted };

const char* statusName(RunStatus status);
std::optional<RunStatus> parseStatus(const std::string& name);
// Finished, failed, stopped or interrupted: the run has an end time.
bool isTerminal(RunStatus status);
// Finished is final; a run that ended any other way may be resumed.
bool canChangeStatus(RunStatus from, RunStatus to);
// "created, running, ..." for error messages.
std::string allStatusNames();

}  // namespace fw::runs
