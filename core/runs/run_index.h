#pragma once
// The run index: one row per run in runs.sqlite, so the CLI and the GUI can list, filter and
// compare runs without opening every folder. The folders stay the record; the index points at
// them. WAL mode and a 5 s busy timeout let several processes (the GUI and CLI runs) write at
// once; write transactions start IMMEDIATE so none fails with SQLITE_BUSY on an upgrade.
// Every statement is prepared with bound parameters. One RunIndex may be shared by threads
// (calls are serialised); separate RunIndex objects are separate connections.
#include "runs/process_identity.h"
#include "runs/run_status.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fw::runs {

struct RunRecord {
  int64_t id = 0;          // given by add()
  std::string folder;      // stored absolute and normalised; unique
  std::string name;
  nlohmann::json experiment = nlohmann::json::object();
  std::string experimentHash;  // filled by add() when empty
  std::string model, dataset;
  std::vector<std::string> methods;  // stored as "fourierft,lora"
  RunStatus status = RunStatus::Created;
  std::string startedAt, endedAt;  // UTC ISO-8601; empty when unset
  nlohmann::json finalMetrics;     // null until finish()
  std::string error;
  ProcessIdentity owner;  // the process running it; add() fills it for a running run
};

struct RunFilter {
  std::optional<RunStatus> status;
  std::string text;  // case-insensitive substring of name, model, dataset or methods
  int limit = 0;     // 0: all
};

class RunIndex {
public:
  static constexpr int kSchemaVersion = 2;

  // Opens or creates the index (and its folder), migrating an older schema. A newer schema,
  // a damaged file or a file that is no database throws fw::Error naming the file.
  static RunIndex open(const std::string& dbPath);
  ~RunIndex();
  RunIndex(RunIndex&&) noexcept;
  RunIndex& operator=(RunIndex&&) noexcept;

  const std::string& path() const;
  int schemaVersion() const;

  int64_t add(const RunRecord& run);
  // Checks the change with canChangeStatus(). Running records the calling process as owner,
  // sets started_at once and clears ended_at and the error; an end status sets ended_at.
  void setStatus(int64_t id, RunStatus status, const std::string& error = {});
  // Makes the run "running" with the calling process as its owner, as a run (or a resume) does
  // before it trains, in one write transaction. A record left "running" by a process that is gone
  // (as reconcile() tells it, or with no owner recorded) counts as interrupted and is taken over;
  // one whose owner still runs, or runs on another host where it cannot be checked, throws
  // fw::Error naming that process. Other changes are checked as setStatus() checks them.
  void claim(int64_t id);
  // An end status with the final metrics.
  void finish(int64_t id, const nlohmann::json& finalMetrics, RunStatus status,
              const std::string& error = {});
  std::vector<RunRecord> list(const RunFilter& filter = {}) const;  // newest first
  std::optional<RunRecord> get(int64_t id) const;
  std::optional<RunRecord> byFolder(const std::string& folder) const;
  // Forgets the run; its folder is left alone. False when there was no such run.
  bool remove(int64_t id);
  // Marks as interrupted the runs left "running" on this host by a process that is gone (pid,
  // start time and boot compared, so a reused pid does not count). Returns their ids.
  std::vector<int64_t> reconcile();

private:
  struct Impl;
  explicit RunIndex(std::unique_ptr<Impl> impl);
  void change(int64_t id, RunStatus status, const std::string& error, const nlohmann::json* metrics);
  std::unique_ptr<Impl> impl_;
};

// $XDG_DATA_HOME/fourier-workbench/runs.sqlite, else ~/.local/share/fourier-workbench/runs.sqlite.
std::string defaultIndexPath();
// 16 hex digits of FNV-1a over the experiment's canonical text (keys sorted): equal experiments
// have equal hashes whatever their key order. Not a cryptographic hash.
std::string experimentHash(const nlohmann::json& experiment);

}  // namespace fw::runs
