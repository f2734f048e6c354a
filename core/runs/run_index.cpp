#include "runs/run_index.h"

#include "runs/run_folder.h"
#include "runs/time_text.h"
#include "util/error.h"
#include "util/json_depth.h"

#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>
#include <set>
#include <utility>

namespace fw::runs {

using nlohmann::json;

namespace {

// Schema migrations: kMigrations[v] takes a database from user_version v to v + 1.
// Append new steps; never edit a released one.
const char* const kMigrations[] = {
    // 1: the runs table
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  folder TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  experiment TEXT NOT NULL,"
    "  experiment_hash TEXT NOT NULL,"
    "  model TEXT NOT NULL DEFAULT '',"
    "  dataset TEXT NOT NULL DEFAULT '',"
    "  methods TEXT NOT NULL DEFAULT '',"
    "  status TEXT NOT NULL,"
    "  started_at TEXT,"
    "  ended_at TEXT,"
    "  final_metrics TEXT,"
    "  error TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX runs_by_status ON runs(status);"
    "CREATE INDEX runs_by_hash ON runs(experiment_hash);",
    // 2: the owning process, for reconcile()
    "ALTER TABLE runs ADD COLUMN owner_pid INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE runs ADD COLUMN owner_start_ticks INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE runs ADD COLUMN owner_boot_id TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE runs ADD COLUMN owner_host TEXT NOT NULL DEFAULT '';",
};
static_assert(sizeof kMigrations / sizeof kMigrations[0] == RunIndex::kSchemaVersion,
              "one migration per schema version");

const char kColumns[] =
    "id, folder, name, experiment, experiment_hash, model, dataset, methods, status, started_at, "
    "ended_at, final_metrics, error, owner_pid, owner_start_ticks, owner_boot_id, owner_host";

// "INSERT INTO runs (folder,", "PRAGMA journal_mode=WAL": which statement an error came from.
std::string firstWords(const char* sql, int words = 3) {
  const std::string s = sql ? sql : "";
  size_t end = 0;
  while (words-- > 0 && end != std::string::npos) end = s.find(' ', end + 1);
  return s.substr(0, end);
}

[[noreturn]] void fail(sqlite3* db, const std::string& path, const std::string& what) {
  const int rc = db ? sqlite3_extended_errcode(db) : SQLITE_CANTOPEN;
  Error e(what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
  e.file(path);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: e.hint("another process kept the run index locked for more than 5 s"); break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: e.hint("the file is not a run index or is damaged; move it aside to start a new one"); break;
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN: e.hint("check that the folder exists and is writable"); break;
    default: break;
  }
  throw e;
}

class Statement {
public:
  Statement(sqlite3* db, const std::string& path, const char* sql) : db_(db), path_(path) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      fail(db_, path_, "cannot prepare a run index query");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, const std::string& v) {
    check(sqlite3_bind_text(stmt_, i, v.data(), int(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Statement& bind(int i, int64_t v) {
    check(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }
  Statement& bindNull(int i) {
    check(sqlite3_bind_null(stmt_, i));
    return *this;
  }
  Statement& bindOptional(int i, const std::string& v) { return v.empty() ? bindNull(i) : bind(i, v); }

  // True while there is a row.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail(db_, path_, std::string("run index query failed (") + firstWords(sqlite3_sql(stmt_)) + ")");
    return false;
  }
  void run() { while (step()) {} }

  std::string text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, size_t(sqlite3_column_bytes(stmt_, col))) : std::string();
  }
  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool isNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail(db_, path_, "cannot bind a run index query parameter");
  }
  sqlite3* db_;
  const std::string& path_;
  sqlite3_stmt* stmt_ = nullptr;
};

void exec(sqlite3* db, const std::string& path, const std::string& sql, const char* what) {
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) fail(db, path, what);
}

// BEGIN IMMEDIATE takes the write lock up front (waiting up to the busy timeout), so a
// transaction that reads and then writes can never fail on the upgrade.
class WriteTransaction {
public:
  WriteTransaction(sqlite3* db, const std::string& path) : db_(db), path_(path) {
    exec(db_, path_, "BEGIN IMMEDIATE", "cannot start a run index transaction");
  }
  ~WriteTransaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    exec(db_, path_, "COMMIT", "cannot commit to the run index");
    done_ = true;
  }

private:
  sqlite3* db_;
  const std::string& path_;
  bool done_ = false;
};

int userVersion(sqlite3* db, const std::string& path) {
  Statement s(db, path, "PRAGMA user_version");
  return s.step() ? int(s.int64(0)) : 0;
}

std::string normalFolder(const std::string& folder) {
  std::string s = std::filesystem::absolute(folder).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

std::string joinMethods(const std::vector<std::string>& methods, const std::string& path) {
  std::string out;
  for (const auto& m : methods) {
    if (m.empty() || m.find(',') != std::string::npos)
      throw Error("a method name must be non-empty and without commas").file(path)
          .field("methods").got("'" + m + "'");
    out += (out.empty() ? "" : ",") + m;
  }
  return out;
}

std::vector<std::string> splitMethods(const std::string& text) {
  std::vector<std::string> out;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return out;
}

// LIKE pattern for a substring: the user's %, _ and \ match themselves.
std::string likePattern(const std::string& text) {
  std::string out = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out + "%";
}

}  // namespace

struct RunIndex::Impl {
  sqlite3* db = nullptr;
  std::string path;
  std::mutex mutex;
  ~Impl() { sqlite3_close_v2(db); }

  RunRecord record(const Statement& s) const {
    RunRecord r;
    r.id = s.int64(0);
    r.folder = s.text(1);
    r.name = s.text(2);
    r.experiment = json::parse(s.text(3), nullptr, false);
    if (r.experiment.is_discarded() || jsonDeeperThan(r.experiment))
      throw Error("damaged experiment text in the run index").file(path).field("experiment")
          .got("run " + std::to_string(r.id));
    r.experimentHash = s.text(4);
    r.model = s.text(5);
    r.dataset = s.text(6);
    r.methods = splitMethods(s.text(7));
    auto status = parseStatus(s.text(8));
    if (!status)
      throw Error("unknown run status in the run index").file(path).field("status")
          .expected(allStatusNames()).got(s.text(8));
    r.status = *status;
    r.startedAt = s.text(9);
    r.endedAt = s.text(10);
    if (!s.isNull(11)) r.finalMetrics = json::parse(s.text(11), nullptr, false);
    if (r.finalMetrics.is_discarded() || jsonDeeperThan(r.finalMetrics)) r.finalMetrics = nullptr;
    r.error = s.text(12);
    r.owner.pid = s.int64(13);
    r.owner.startTicks = s.int64(14);
    r.owner.bootId = s.text(15);
    r.owner.host = s.text(16);
    return r;
  }

  std::optional<RunRecord> one(const std::string& where, int64_t id, const std::string* text) {
    const std::string sql = std::string("SELECT ") + kColumns + " FROM runs WHERE " + where;
    Statement s(db, path, sql.c_str());
    if (text) s.bind(1, *text);
    else s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return record(s);
  }

  void migrate() {
    if (userVersion(db, path) == kSchemaVersion) return;
    WriteTransaction tx(db, path);
    int version = userVersion(db, path);  // another process may have migrated meanwhile
    if (version > kSchemaVersion)
      throw Error("the run index was written by a newer Fourier Workbench").file(path)
          .expected("schema version " + std::to_string(kSchemaVersion) + " or older")
          .got("schema version " + std::to_string(version))
          .hint("update Fourier Workbench or use another index file");
    // user_version is a signed 32-bit field of the file header: a damaged file can hold any
    // value, and a negative one would index before kMigrations (found by fuzzing).
    if (version < 0)
      throw Error("the run index has an invalid schema version").file(path)
          .expected("0 to " + std::to_string(kSchemaVersion)).got("schema version " + std::to_string(version))
          .hint("the file is not a run index or is damaged; move it aside to start a new one");
    for (; version < kSchemaVersion; ++version)
      exec(db, path, kMigrations[version],
           ("cannot migrate the run index to schema version " + std::to_string(version + 1)).c_str());
    // The version is our constant, not user text.
    exec(db, path, "PRAGMA user_version = " + std::to_string(kSchemaVersion),
         "cannot set the run index schema version");
    tx.commit();
  }

  // A copied or hand-edited index could carry triggers or views whose SQL would run inside our
  // statements (slow or huge work: fuzzing's "Left" in docs/reliability.md). Only the objects the
  // migrations create are accepted; SQLite's own (sqlite_sequence, autoindexes) are skipped.
  void checkObjects() const {
    static const std::set<std::pair<std::string, std::string>> ours = {
        {"table", "runs"}, {"index", "runs_by_status"}, {"index", "runs_by_hash"}};
    Statement s(db, path, "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
    while (s.step()) {
      const std::string type = s.text(0), name = s.text(1);
      if (!ours.count({type, name}))
        throw Error("the run index holds a " + type + " that Fourier Workbench does not create").file(path)
            .got(type + " '" + name + "'")
            .hint("the file was edited or comes from another program; move it aside to start a new index");
    }
  }
};

RunIndex::RunIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RunIndex::~RunIndex() = default;
RunIndex::RunIndex(RunIndex&&) noexcept = default;
RunIndex& RunIndex::operator=(RunIndex&&) noexcept = default;

namespace {

// Switching a new file to WAL needs its exclusive lock, and SQLite answers SQLITE_BUSY at once,
// without the busy handler, when another connection is opening the same file (two processes
// starting on a fresh index): so the switch is retried here for the same 5 s.
void switchToWal(sqlite3* db, const std::string& path) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    Statement wal(db, path, "PRAGMA journal_mode=WAL");
    try {
      wal.run();
      return;
    } catch (const Error&) {
      const int rc = sqlite3_errcode(db);
      if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || std::chrono::steady_clock::now() > deadline) throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

RunIndex RunIndex::open(const std::string& dbPath) {
  auto impl = std::make_unique<Impl>();
  impl->path = dbPath;
  if (std::filesystem::is_directory(dbPath))
    throw Error("the run index is a file, not a folder").file(dbPath).hint("give a file in it, such as " +
                                                                         (std::filesystem::path(dbPath) / "runs.sqlite").string());
  const auto parent = std::filesystem::path(dbPath).parent_path();
  if (!parent.empty()) ensureDir(parent.string());
  if (sqlite3_open_v2(dbPath.c_str(), &impl->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    fail(impl->db, dbPath, "cannot open the run index");
  sqlite3_extended_result_codes(impl->db, 1);
  sqlite3_busy_timeout(impl->db, 5000);  // before anything that takes a lock
  switchToWal(impl->db, dbPath);
  exec(impl->db, dbPath, "PRAGMA synchronous=NORMAL", "cannot configure the run index");
  impl->migrate();
  impl->checkObjects();
  return RunIndex(std::move(impl));
}

const std::string& RunIndex::path() const { return impl_->path; }

int RunIndex::schemaVersion() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return userVersion(impl_->db, impl_->path);
}

int64_t RunIndex::add(const RunRecord& run) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  const std::string& path = impl_->path;
  if (run.folder.empty()) throw Error("a run needs a folder").file(path).field("folder");
  const std::string folder = normalFolder(run.folder);
  const std::string methods = joinMethods(run.methods, path);
  ProcessIdentity owner = run.owner;
  std::string startedAt = run.startedAt;
  if (run.status == RunStatus::Running) {
    if (owner.pid == 0) owner = ProcessIdentity::current();
    if (startedAt.empty()) startedAt = nowUtcIso();
  }
  Statement s(impl_->db, path,
              "INSERT INTO runs (folder, name, experiment, experiment_hash, model, dataset, "
              "methods, status, started_at, ended_at, final_metrics, error, owner_pid, "
              "owner_start_ticks, owner_boot_id, owner_host) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
  s.bind(1, folder)
      .bind(2, run.name.empty() ? std::filesystem::path(folder).filename().string() : run.name)
      .bind(3, run.experiment.dump(-1, ' ', false, json::error_handler_t::replace))
      .bind(4, run.experimentHash.empty() ? experimentHash(run.experiment) : run.experimentHash)
      .bind(5, run.model).bind(6, run.dataset).bind(7, methods)
      .bind(8, std::string(statusName(run.status)))
      .bindOptional(9, startedAt).bindOptional(10, run.endedAt);
  if (run.finalMetrics.is_null()) s.bindNull(11);
  else s.bind(11, run.finalMetrics.dump(-1, ' ', false, json::error_handler_t::replace));
  s.bind(12, run.error).bind(13, owner.pid).bind(14, owner.startTicks).bind(15, owner.bootId)
      .bind(16, owner.host);
  try {
    s.run();
  } catch (const Error&) {
    if (sqlite3_extended_errcode(impl_->db) == SQLITE_CONSTRAINT_UNIQUE)
      throw Error("this run folder is already in the run index").file(path).field("folder")
          .got(folder);
    throw;
  }
  return sqlite3_last_insert_rowid(impl_->db);
}

void RunIndex::change(int64_t id, RunStatus status, const std::string& error, const json* metrics) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  sqlite3* db = impl_->db;
  const std::string& path = impl_->path;
  WriteTransaction tx(db, path);
  RunStatus from;
  {
    Statement s(db, path, "SELECT status FROM runs WHERE id = ?1");
    s.bind(1, id);
    if (!s.step())
      throw Error("no such run in the run index").file(path).got("id " + std::to_string(id));
    from = parseStatus(s.text(0)).value_or(RunStatus::Created);
  }
  if (!canChangeStatus(from, status)) {
    std::string allowed;
    for (auto to : {RunStatus::Running, RunStatus::Finished, RunStatus::Failed, RunStatus::Stopped,
                    RunStatus::Interrupted})
      if (canChangeStatus(from, to)) allowed += (allowed.empty() ? "" : ", ") + std::string(statusName(to));
    throw Error("invalid run status change").file(path)
        .expected(allowed.empty() ? std::string("no change after ") + statusName(from)
                                  : std::string(statusName(from)) + " -> " + allowed)
        .got(std::string(statusName(from)) + " -> " + statusName(status) + " (run " +
             std::to_string(id) + ")");
  }
  if (status == RunStatus::Running) {
    const ProcessIdentity me = ProcessIdentity::current();
    Statement s(db, path,
                "UPDATE runs SET status = ?2, error = '', started_at = COALESCE(started_at, ?3), "
                "ended_at = NULL, owner_pid = ?4, owner_start_ticks = ?5, owner_boot_id = ?6, "
                "owner_host = ?7 WHERE id = ?1");
    s.bind(1, id).bind(2, std::string(statusName(status))).bind(3, nowUtcIso()).bind(4, me.pid)
        .bind(5, me.startTicks).bind(6, me.bootId).bind(7, me.host);
    s.run();
  } else {
    Statement s(db, path,
                "UPDATE runs SET status = ?2, error = ?3, ended_at = ?4, "
                "final_metrics = COALESCE(?5, final_metrics) WHERE id = ?1");
    s.bind(1, id).bind(2, std::string(statusName(status))).bind(3, error).bind(4, nowUtcIso());
    if (metrics) s.bind(5, metrics->dump(-1, ' ', false, json::error_handler_t::replace));
    else s.bindNull(5);
    s.run();
  }
  tx.commit();
}

void RunIndex::claim(int64_t id) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    sqlite3* db = impl_->db;
    const std::string& path = impl_->path;
    WriteTransaction tx(db, path);
    std::string status, folder;
    ProcessIdentity owner;
    {
      Statement s(db, path,
                  "SELECT status, owner_pid, owner_start_ticks, owner_boot_id, owner_host, folder FROM runs "
                  "WHERE id = ?1");
      s.bind(1, id);
      if (!s.step()) throw Error("no such run in the run index").file(path).got("id " + std::to_string(id));
      status = s.text(0);
      owner = ProcessIdentity{s.int64(1), s.int64(2), s.text(3), s.text(4)};
      folder = s.text(5);
    }
    if (status == statusName(RunStatus::Running)) {
      const ProcessIdentity me = ProcessIdentity::current();
      const bool mine = owner.pid == me.pid && owner.host == me.host && owner.startTicks == me.startTicks;
      if (owner.pid > 0 && !mine) {
        if (!owner.onThisHost())
          throw Error("this run is still marked running by pid " + std::to_string(owner.pid) + " on " + owner.host +
                      ", which cannot be checked from " + me.host)
              .file(folder)
              .hint("stop it there, or resume it on " + owner.host + ", where a run whose process is gone is taken over");
        if (owner.isAlive())
          throw Error("this run is still running (pid " + std::to_string(owner.pid) + ")")
              .file(folder)
              .hint("stop it first (Ctrl-C there, or kill -INT " + std::to_string(owner.pid) +
                    ") and let it write its checkpoint, then resume");
      }
      // Its owner is gone (killed, or the machine restarted) or unknown: the run was interrupted,
      // and this process takes it over.
      Statement u(db, path,
                  "UPDATE runs SET error = '', ended_at = NULL, started_at = COALESCE(started_at, ?2), "
                  "owner_pid = ?3, owner_start_ticks = ?4, owner_boot_id = ?5, owner_host = ?6 WHERE id = ?1");
      u.bind(1, id).bind(2, nowUtcIso()).bind(3, me.pid).bind(4, me.startTicks).bind(5, me.bootId).bind(6, me.host);
      u.run();
      tx.commit();
      return;
    }
  }
  change(id, RunStatus::Running, {}, nullptr);
}

void RunIndex::setStatus(int64_t id, RunStatus status, const std::string& error) {
  change(id, status, error, nullptr);
}

void RunIndex::finish(int64_t id, const json& finalMetrics, RunStatus status,
                      const std::string& error) {
  if (!isTerminal(status))
    throw Error("a run finishes with an end status").file(impl_->path)
        .expected("finished, failed, stopped or interrupted").got(statusName(status));
  change(id, status, error, &finalMetrics);
}

std::vector<RunRecord> RunIndex::list(const RunFilter& filter) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  const std::string sql = std::string("SELECT ") + kColumns +
                          " FROM runs WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR "
                          "name LIKE ?2 ESCAPE '\\' OR model LIKE ?2 ESCAPE '\\' OR "
                          "dataset LIKE ?2 ESCAPE '\\' OR methods LIKE ?2 ESCAPE '\\') "
                          "ORDER BY id DESC LIMIT ?3";
  Statement s(impl_->db, impl_->path, sql.c_str());
  if (filter.status) s.bind(1, std::string(statusName(*filter.status)));
  else s.bindNull(1);
  if (filter.text.empty()) s.bindNull(2);
  else s.bind(2, likePattern(filter.text));
  s.bind(3, int64_t(filter.limit > 0 ? filter.limit : -1));
  std::vector<RunRecord> out;
  while (s.step()) out.push_back(impl_->record(s));
  return out;
}

std::optional<RunRecord> RunIndex::get(int64_t id) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->one("id = ?1", id, nullptr);
}

std::optional<RunRecord> RunIndex::byFolder(const std::string& folder) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  const std::string normal = normalFolder(folder);
  return impl_->one("folder = ?1", 0, &normal);
}

bool RunIndex::remove(int64_t id) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Statement s(impl_->db, impl_->path, "DELETE FROM runs WHERE id = ?1");
  s.bind(1, id).run();
  return sqlite3_changes(impl_->db) > 0;
}

std::vector<int64_t> RunIndex::reconcile() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  sqlite3* db = impl_->db;
  const std::string& path = impl_->path;
  WriteTransaction tx(db, path);
  std::vector<std::pair<int64_t, ProcessIdentity>> dead;
  {
    Statement s(db, path,
                "SELECT id, owner_pid, owner_start_ticks, owner_boot_id, owner_host FROM runs "
                "WHERE status = 'running'");
    while (s.step()) {
      ProcessIdentity owner{s.int64(1), s.int64(2), s.text(3), s.text(4)};
      // Runs of other hosts, or with no recorded owner, cannot be checked from here.
      if (owner.pid > 0 && owner.onThisHost() && !owner.isAlive()) dead.emplace_back(s.int64(0), owner);
    }
  }
  std::vector<int64_t> ids;
  for (const auto& [id, owner] : dead) {
    Statement s(db, path,
                "UPDATE runs SET status = 'interrupted', ended_at = ?2, error = ?3 "
                "WHERE id = ?1 AND status = 'running'");
    s.bind(1, id).bind(2, nowUtcIso())
        .bind(3, "the process that ran it (pid " + std::to_string(owner.pid) + " on " +
                     owner.host + ") ended without finishing it")
        .run();
    ids.push_back(id);
  }
  tx.commit();
  return ids;
}

std::string defaultIndexPath() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  const char* home = std::getenv("HOME");
  std::string base = xdg && xdg[0] == '/' ? xdg
                     : home && home[0]    ? std::string(home) + "/.local/share"
                                          : std::string(".");
  return base + "/fourier-workbench/runs.sqlite";
}

std::string experimentHash(const json& experiment) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64
  for (unsigned char c : experiment.dump(-1, ' ', false, json::error_handler_t::replace)) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

}  // namespace fw::runs
