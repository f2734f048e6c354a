#pragma once
// A run folder: the record of one run, written by the trainer and read by the CLI, the GUI and
// reports (which read nothing else).
//
//   experiment.json            the resolved experiment, written once at start
//   metrics.jsonl              one JSON object per step or eval event (see metrics_file.h)
//   summary.json               status, times, final metrics, trainable parameters per method;
//                              written at start ("status": "running") and rewritten at the end,
//                              so the status lives here and there is no status.json
//   log.txt                    human log lines, each prefixed with a UTC time
//   checkpoints/step-00001000/ written by the trainer; complete once COMPLETE exists in it
//   adapters/<method>/peft/    adapters/<method>/native/
//   analysis/  report/
#include "runs/metrics_file.h"
#include "runs/run_status.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace fw::runs {

namespace run_files {
inline constexpr char kExperiment[] = "experiment.json";
inline constexpr char kMetrics[] = "metrics.jsonl";
inline constexpr char kSummary[] = "summary.json";
inline constexpr char kLog[] = "log.txt";
inline constexpr char kCheckpoints[] = "checkpoints";
inline constexpr char kComplete[] = "COMPLETE";  // written last in a checkpoint folder
inline constexpr char kAdapters[] = "adapters";
inline constexpr char kAnalysis[] = "analysis";
inline constexpr char kReport[] = "report";
}  // namespace run_files

enum class AdapterFormat { Peft, Native };

struct Checkpoint {
  int64_t step = 0;
  std::string dir;
  bool complete = false;
};

class RunFolder {
public:
  // Makes parentDir/name, or name-2, name-3, ... when taken (name is one path segment), with its
  // experiment.json in place before the folder appears under that name: a process killed at any
  // moment leaves no run folder that cannot be resumed. The experiment is written once, here, so
  // a resumed run cannot change it.
  static RunFolder create(const std::string& parentDir, const std::string& name, const nlohmann::json& experiment);
  // An existing run folder (one with experiment.json).
  static RunFolder open(const std::string& dir);

  const std::string& path() const { return path_; }  // absolute
  std::string name() const;
  std::string file(const std::string& rel) const { return path_ + "/" + rel; }

  nlohmann::json readExperiment() const;

  // Appends to metrics.jsonl; a torn last line left by a killed run is cut and noted in log.txt.
  MetricsWriter metrics(std::chrono::milliseconds syncEvery = std::chrono::seconds(1));
  std::vector<nlohmann::json> readMetrics(int64_t* tornLines = nullptr) const;

  // summary.json, written atomically. A "status" field must be a status name.
  void writeSummary(const nlohmann::json& summary);
  // Merges `patch` into the summary (RFC 7386: null removes a key) and writes it.
  void updateSummary(const nlohmann::json& patch);
  std::optional<nlohmann::json> readSummary() const;
  // The summary's status; Created before the first summary.
  RunStatus status() const;

  void log(const std::string& text);

  // Checkpoints live in checkpoints/step-%08d, or checkpoints/<method>/step-%08d when a run
  // trains several methods (each method's calls name it).
  std::string checkpointDir(int64_t step, const std::string& method = "") const;
  // Makes the folder for a checkpoint at `step`, empty: an older folder of that step, complete
  // or not, is removed first (its COMPLETE marker before anything else).
  std::string createCheckpointDir(int64_t step, const std::string& method = "");
  // Makes the checkpoint durable: fsyncs its files and folders, then writes COMPLETE.
  void markCheckpointComplete(const std::string& dir);
  std::vector<Checkpoint> checkpoints(const std::string& method = "") const;  // by step, complete or not
  std::optional<Checkpoint> latestCheckpoint(const std::string& method = "") const;  // the newest complete one
  // Keeps the `keep` newest complete checkpoints and any newer incomplete folder (one being
  // written); removes every older folder. Returns the removed folders.
  std::vector<std::string> pruneCheckpoints(int keep, const std::string& method = "");

  std::string adapterDir(const std::string& method, AdapterFormat format) const;
  std::string analysisDir() const { return file(run_files::kAnalysis); }
  std::string reportDir() const { return file(run_files::kReport); }

private:
  explicit RunFolder(std::string path) : path_(std::move(path)) {}
  std::string checkpointsRoot(const std::string& method) const;
  std::string path_;
};

// A method's status in a run's summary (methods.<name>.status): "not started" when the summary
// does not name it (a run stopped before it) or holds no status string for it.
std::string methodStatus(const nlohmann::json& summary, const std::string& method);

// "20261125-143000-default": local time, then `label` reduced to [A-Za-z0-9._-].
std::string runName(const std::string& label, std::time_t when);
// Creates `dir` and its parents; the error names the folder.
void ensureDir(const std::string& dir);
// Before training starts: creates `dir` if needed, writes and removes a probe file in it and
// checks that at least minFreeBytes are free. Throws fw::Error naming the folder otherwise.
void checkWritableFolder(const std::string& dir, uint64_t minFreeBytes = 0);

}  // namespace fw::runs
