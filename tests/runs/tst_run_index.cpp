// The run index: schema creation, migration and versioning, CRUD, filters, status changes,
// concurrent writers on separate connections, reconcile of runs whose process died, plus
// experimentDiff and the `fourierft runs` table.
#include "runs/experiment_diff.h"
#include "runs/run_index.h"
#include "runs/run_table.h"
#include "runs/time_text.h"
#include "util/error.h"

#include <QtTest/QtTest>

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>
#include <sys/wait.h>
#include <unistd.h>

using namespace fw::runs;
using nlohmann::json;

namespace {

// A raw connection for what the API must not offer: reading pragmas, building old schemas.
struct RawDb {
  sqlite3* db = nullptr;
  explicit RawDb(const std::string& path) { sqlite3_open(path.c_str(), &db); sqlite3_busy_timeout(db, 5000); }
  ~RawDb() { sqlite3_close(db); }
  bool exec(const std::string& sql) { return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK; }
  std::string text(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
  }
};

std::string dbIn(const QTemporaryDir& tmp) { return tmp.path().toStdString() + "/data/runs.sqlite"; }

RunRecord record(const std::string& folder, const std::string& name, const std::string& model,
                 const std::string& dataset, std::vector<std::string> methods,
                 RunStatus status = RunStatus::Created) {
  RunRecord r;
  r.folder = folder;
  r.name = name;
  r.model = model;
  r.dataset = dataset;
  r.methods = std::move(methods);
  r.status = status;
  r.experiment = {{"model", model}, {"dataset", dataset}};
  return r;
}

QStringList names(const std::vector<RunRecord>& runs) {
  QStringList out;
  for (const auto& r : runs) out << QString::fromStdString(r.name);
  return out;
}

class ScopedEnv {
public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (old) old_ = old;
    if (value) setenv(name, value, 1); else unsetenv(name);
    tzset();
  }
  ~ScopedEnv() {
    if (had_) setenv(name_, old_.c_str(), 1); else unsetenv(name_);
    tzset();
  }
private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

}  // namespace

class TestRunIndex : public QObject {
  Q_OBJECT
private slots:
  void openCreatesCurrentSchemaInWal();
  void migratesVersion1Database();
  void rejectsNewerSchema();
  void rejectsFileThatIsNoDatabase();
  void rejectsNegativeSchemaVersion();
  void rejectsForeignSchemaObjects();
  void addAndGetRoundTrip();
  void addRejectsDuplicateFolderAndBadMethods();
  void listFilters_data();
  void listFilters();
  void statusTransitions_data();
  void statusTransitions();
  void statusRecordsTimesOwnerAndError();
  void finishStoresMetrics();
  void removeForgetsRun();
  void concurrentWritersNeverBusy();
  void concurrentOpensOfANewIndex();
  void writerWaitsForALockedDatabase();
  void reconcileMarksDeadRuns();
  void claimTakesOverOnlyARunWhoseOwnerIsGone();
  void experimentDiffNested();
  void experimentHashIgnoresKeyOrder();
  void runTableText();
  void defaultIndexPathFollowsXdg();
};

void TestRunIndex::openCreatesCurrentSchemaInWal() {
  QTemporaryDir tmp;
  const std::string path = dbIn(tmp);  // its folder does not exist yet
  {
    auto index = RunIndex::open(path);
    QCOMPARE(index.schemaVersion(), 2);
    QCOMPARE(index.path(), path);
    QVERIFY(index.list().empty());
  }
  RawDb raw(path);
  QCOMPARE(raw.text("PRAGMA journal_mode"), std::string("wal"));
  QCOMPARE(raw.text("PRAGMA user_version"), std::string("2"));
  QCOMPARE(raw.text("SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name = 'owner_pid'"),
           std::string("1"));
  QCOMPARE(RunIndex::open(path).schemaVersion(), 2);  // reopening changes nothing
}

void TestRunIndex::migratesVersion1Database() {
  QTemporaryDir tmp;
  const std::string path = tmp.path().toStdString() + "/runs.sqlite";
  {
    RawDb raw(path);  // the version 1 layout, as an older workbench left it
    QVERIFY(raw.exec(
        "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, folder TEXT NOT NULL UNIQUE,"
        " name TEXT NOT NULL, experiment TEXT NOT NULL, experiment_hash TEXT NOT NULL,"
        " model TEXT NOT NULL DEFAULT '', dataset TEXT NOT NULL DEFAULT '',"
        " methods TEXT NOT NULL DEFAULT '', status TEXT NOT NULL, started_at TEXT, ended_at TEXT,"
        " final_metrics TEXT, error TEXT NOT NULL DEFAULT '');"
        "CREATE INDEX runs_by_status ON runs(status);"
        "CREATE INDEX runs_by_hash ON runs(experiment_hash);"
        "INSERT INTO runs (folder, name, experiment, experiment_hash, model, dataset, methods,"
        " status, started_at, ended_at, final_metrics) VALUES ('/old/run', 'old', '{\"seed\":0}',"
        " 'abc', 'roberta-base', 'rte', 'fourierft,lora', 'finished', '2025-01-02T03:04:05Z',"
        " '2025-01-02T04:04:05Z', '{\"accuracy\":0.71}');"
        "PRAGMA user_version = 1;"));
  }
  auto index = RunIndex::open(path);
  QCOMPARE(index.schemaVersion(), 2);
  auto old = index.byFolder("/old/run");
  QVERIFY(old);
  QCOMPARE(old->name, std::string("old"));
  QCOMPARE(old->methods, (std::vector<std::string>{"fourierft", "lora"}));
  QCOMPARE(old->status, RunStatus::Finished);
  QCOMPARE(old->finalMetrics["accuracy"], json(0.71));
  QCOMPARE(old->owner.pid, int64_t(0));
  const int64_t id = index.add(record(tmp.path().toStdString() + "/new", "new", "m", "d", {"lora"}));
  QCOMPARE(id, old->id + 1);
}

void TestRunIndex::rejectsNewerSchema() {
  QTemporaryDir tmp;
  const std::string path = tmp.path().toStdString() + "/runs.sqlite";
  { RawDb raw(path); QVERIFY(raw.exec("CREATE TABLE runs (id INTEGER); PRAGMA user_version = 99;")); }
  try {
    RunIndex::open(path);
    QFAIL("expected fw::Error");
  } catch (const fw::Error& e) {
    QCOMPARE(e.filePath(), path);
    QVERIFY2(std::string(e.what()).find("got schema version 99") != std::string::npos, e.what());
  }
}

void TestRunIndex::rejectsFileThatIsNoDatabase() {
  QTemporaryDir tmp;
  const std::string path = tmp.path().toStdString() + "/runs.sqlite";
  std::ofstream(path) << std::string(4096, 'z');
  try {
    RunIndex::open(path);
    QFAIL("expected fw::Error");
  } catch (const fw::Error& e) {
    QCOMPARE(e.filePath(), path);
    QVERIFY2(std::string(e.what()).find("not a database") != std::string::npos, e.what());
  }
}

// Found by fuzz/fuzz_run_index: user_version is a signed 32-bit header field, and a negative one
// indexed before the migration table (UBSan: index -33554432 out of bounds). The fuzzer's
// 234-byte file as it was, then the same through SQLite.
void TestRunIndex::rejectsNegativeSchemaVersion() {
  QTemporaryDir tmp;
  const std::string path = tmp.path().toStdString() + "/runs.sqlite";
  static const char header[] =
      "\x53\x51\x4c\x69\x74\x65\x20\x66\x6f\x72\x6d\x61\x74\x20\x33\x00\x02\x00\x01\x01\x00\x40\x20\x20"
      "\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x00\x00\x00\x00\x00\x00\xef\x00\x00\x00\xfe\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x73\x71\x6c\x7e\x74\x65\x5f\x74\x65\x6d\x70\x5f\x6d\x61\x73"
      "\x00\x2e\x63\x01\x0d\x00\x00\x00\x00\x02";
  std::string file(header, sizeof header - 1);
  QCOMPARE(file.size(), size_t(106));
  file.resize(234, '\0');
  std::ofstream(path, std::ios::binary) << file;
  try {
    RunIndex::open(path);
    QFAIL("expected fw::Error");
  } catch (const fw::Error& e) {
    QCOMPARE(e.filePath(), path);
    QVERIFY2(std::string(e.what()).find("invalid schema version") != std::string::npos, e.what());
    QVERIFY2(std::string(e.what()).find("got schema version -33554432") != std::string::npos, e.what());
  }
  const std::string other = tmp.path().toStdString() + "/other.sqlite";
  { RawDb raw(other); QVERIFY(raw.exec("CREATE TABLE runs (id INTEGER); PRAGMA user_version = -1;")); }
  try {
    RunIndex::open(other);
    QFAIL("expected fw::Error");
  } catch (const fw::Error& e) {
    QCOMPARE(e.filePath(), other);
    QVERIFY2(std::string(e.what()).find("got schema version -1") != std::string::npos, e.what());
  }
}

void TestRunIndex::rejectsForeignSchemaObjects() {
  QTemporaryDir tmp;
  const std::string path = dbIn(tmp);
  {
    auto index = RunIndex::open(path);
    index.add(record(tmp.path().toStdString() + "/runs/a", "a", "m", "d", {"lora"}));  // sqlite_sequence, autoindex
  }
  QCOMPARE(RunIndex::open(path).list().size(), size_t(1));  // SQLite's own objects are fine
  struct Foreign { std::string sql, type, name; };
  for (const auto& [sql, type, name] : std::vector<Foreign>{
           {"CREATE TRIGGER slow AFTER INSERT ON runs BEGIN SELECT count(*) FROM runs a, runs b, runs c; END;", "trigger", "slow"},
           {"CREATE VIEW everything AS SELECT * FROM runs;", "view", "everything"},
           {"CREATE INDEX runs_by_name ON runs(name);", "index", "runs_by_name"}}) {
    const std::string what = type + " '" + name + "'";
    {
      RawDb raw(path);
      QVERIFY(raw.exec(sql));
    }
    try {
      RunIndex::open(path);
      QFAIL(qPrintable(QString::fromStdString("opened an index with " + what)));
    } catch (const fw::Error& e) {
      const std::string msg = e.what();
      QVERIFY2(msg.find("does not create") != std::string::npos && msg.find(what) != std::string::npos &&
                   msg.find("move it aside") != std::string::npos && e.filePath() == path,
               e.what());
    }
    RawDb raw(path);
    QVERIFY(raw.exec("DROP " + type + " " + name + ";"));
  }
}

void TestRunIndex::addAndGetRoundTrip() {
  QTemporaryDir tmp;
  auto index = RunIndex::open(dbIn(tmp));
  RunRecord r = record(tmp.path().toStdString() + "/runs/./a/", "sst2 α=150", "roberta-base",
                       "glue/sst2", {"fourierft", "lora"});
  r.experiment = {{"model", "roberta-base"}, {"methods", {{{"type", "fourierft"}, {"n_frequency", 1000}}}}};
  r.status = RunStatus::Finished;
  r.startedAt = "2026-11-25T14:30:00Z";
  r.endedAt = "2026-11-25T15:32:10Z";
  r.finalMetrics = {{"accuracy", 0.9406}};
  r.error = "";
  const int64_t id = index.add(r);
  QVERIFY(id > 0);
  auto got = index.get(id);
  QVERIFY(got);
  QCOMPARE(got->id, id);
  QCOMPARE(got->folder, tmp.path().toStdString() + "/runs/a");  // normalised
  QCOMPARE(got->name, r.name);
  QCOMPARE(got->experiment, r.experiment);
  QCOMPARE(got->experimentHash, experimentHash(r.experiment));
  QCOMPARE(got->model, r.model);
  QCOMPARE(got->dataset, r.dataset);
  QCOMPARE(got->methods, r.methods);
  QCOMPARE(got->status, RunStatus::Finished);
  QCOMPARE(got->startedAt, r.startedAt);
  QCOMPARE(got->endedAt, r.endedAt);
  QCOMPARE(got->finalMetrics, r.finalMetrics);
  QCOMPARE(index.byFolder(tmp.path().toStdString() + "/runs/a")->id, id);
  QVERIFY(!index.get(id + 1));
  QVERIFY(!index.byFolder("/nowhere"));

  // A running run records its process and start time.
  const int64_t live = index.add(record(tmp.path().toStdString() + "/runs/b", "", "m", "d", {},
                                        RunStatus::Running));
  auto b = index.get(live);
  QCOMPARE(b->name, std::string("b"));  // defaults to the folder's name
  QVERIFY(b->methods.empty());
  QVERIFY(b->finalMetrics.is_null());
  QCOMPARE(b->owner.pid, int64_t(getpid()));
  QVERIFY(parseUtcIso(b->startedAt));
}

void TestRunIndex::addRejectsDuplicateFolderAndBadMethods() {
  QTemporaryDir tmp;
  const std::string path = dbIn(tmp);
  auto index = RunIndex::open(path);
  index.add(record("/runs/a", "a", "m", "d", {"lora"}));
  try {
    index.add(record("/runs/a/", "again", "m", "d", {"lora"}));
    QFAIL("expected fw::Error");
  } catch (const fw::Error& e) {
    QCOMPARE(e.filePath(), path);
    QCOMPARE(e.fieldName(), std::string("folder"));
  }
  try {
    index.add(record("/runs/b", "b", "m", "d", {"lora,r8"}));
    QFAIL("expected fw::Error");
  } catch (const fw::Error& e) {
    QCOMPARE(e.fieldName(), std::string("methods"));
  }
  QVERIFY_THROWS_EXCEPTION(fw::Error, index.add(record("", "c", "m", "d", {})));
  QCOMPARE(int(index.list().size()), 1);
}

void TestRunIndex::listFilters_data() {
  QTest::addColumn<QString>("status");  // "" for any
  QTest::addColumn<QString>("text");
  QTest::addColumn<int>("limit");
  QTest::addColumn<QStringList>("expected");  // newest first
  QTest::newRow("all") << "" << "" << 0 << QStringList{"100%_done", "vit-fmnist", "sst2-lora", "sst2-fourierft"};
  QTest::newRow("finished") << "finished" << "" << 0 << QStringList{"sst2-fourierft"};
  QTest::newRow("method lora") << "" << "lora" << 0 << QStringList{"100%_done", "vit-fmnist", "sst2-lora"};
  QTest::newRow("model, any case") << "" << "ROBERTA" << 0 << QStringList{"sst2-lora", "sst2-fourierft"};
  QTest::newRow("dataset") << "" << "mnist" << 0 << QStringList{"vit-fmnist"};
  QTest::newRow("percent is literal") << "" << "%" << 0 << QStringList{"100%_done"};
  QTest::newRow("underscore is literal") << "" << "_" << 0 << QStringList{"100%_done"};
  QTest::newRow("quote is just text") << "" << "' OR 1=1 --" << 0 << QStringList{};
  QTest::newRow("status and text") << "running" << "lora" << 0 << QStringList{"vit-fmnist"};
  QTest::newRow("limit") << "" << "" << 2 << QStringList{"100%_done", "vit-fmnist"};
  QTest::newRow("no match") << "" << "gpt" << 0 << QStringList{};
}

void TestRunIndex::listFilters() {
  QFETCH(QString, status);
  QFETCH(QString, text);
  QFETCH(int, limit);
  QFETCH(QStringList, expected);
  QTemporaryDir tmp;
  auto index = RunIndex::open(dbIn(tmp));
  index.add(record("/r/1", "sst2-fourierft", "roberta-base", "glue/sst2", {"fourierft"}, RunStatus::Finished));
  index.add(record("/r/2", "sst2-lora", "roberta-base", "glue/sst2", {"lora"}, RunStatus::Failed));
  index.add(record("/r/3", "vit-fmnist", "tiny-vit", "fashion-mnist", {"fourierft", "lora"}, RunStatus::Running));
  index.add(record("/r/4", "100%_done", "Llama-2-7b", "alpaca", {"lora"}));
  RunFilter filter;
  if (!status.isEmpty()) filter.status = parseStatus(status.toStdString());
  filter.text = text.toStdString();
  filter.limit = limit;
  QCOMPARE(names(index.list(filter)), expected);
}

void TestRunIndex::statusTransitions_data() {
  QTest::addColumn<QString>("from");
  QTest::addColumn<QString>("to");
  QTest::addColumn<bool>("allowed");
  QTest::newRow("created -> running") << "created" << "running" << true;
  QTest::newRow("created -> failed") << "created" << "failed" << true;
  QTest::newRow("created -> finished") << "created" << "finished" << false;
  QTest::newRow("running -> finished") << "running" << "finished" << true;
  QTest::newRow("running -> stopped") << "running" << "stopped" << true;
  QTest::newRow("running -> interrupted") << "running" << "interrupted" << true;
  QTest::newRow("running -> running") << "running" << "running" << false;
  QTest::newRow("running -> created") << "running" << "created" << false;
  QTest::newRow("interrupted -> running (resume)") << "interrupted" << "running" << true;
  QTest::newRow("stopped -> running (resume)") << "stopped" << "running" << true;
  QTest::newRow("failed -> finished") << "failed" << "finished" << false;
  QTest::newRow("finished -> running") << "finished" << "running" << false;
}

void TestRunIndex::statusTransitions() {
  QFETCH(QString, from);
  QFETCH(QString, to);
  QFETCH(bool, allowed);
  QTemporaryDir tmp;
  const std::string path = dbIn(tmp);
  auto index = RunIndex::open(path);
  const auto fromStatus = *parseStatus(from.toStdString()), toStatus = *parseStatus(to.toStdString());
  const int64_t id = index.add(record("/r/x", "x", "m", "d", {"lora"}, fromStatus));
  if (allowed) {
    index.setStatus(id, toStatus);
    QCOMPARE(index.get(id)->status, toStatus);
  } else {
    try {
      index.setStatus(id, toStatus);
      QFAIL("expected fw::Error");
    } catch (const fw::Error& e) {
      QCOMPARE(e.filePath(), path);
      QVERIFY2(std::string(e.what()).find(from.toStdString() + " -> " + to.toStdString()) != std::string::npos,
               e.what());
    }
    QCOMPARE(index.get(id)->status, fromStatus);
  }
}

void TestRunIndex::statusRecordsTimesOwnerAndError() {
  QTemporaryDir tmp;
  auto index = RunIndex::open(dbIn(tmp));
  const int64_t id = index.add(record("/r/x", "x", "m", "d", {"fourierft"}));
  QVERIFY(index.get(id)->startedAt.empty());
  index.setStatus(id, RunStatus::Running);
  auto r = *index.get(id);
  QVERIFY(parseUtcIso(r.startedAt));
  QVERIFY(r.endedAt.empty());
  QCOMPARE(r.owner.pid, int64_t(getpid()));
  QCOMPARE(r.owner.host, ProcessIdentity::thisHost());
  QVERIFY(r.owner.startTicks > 0);
  const std::string started = r.startedAt;

  index.setStatus(id, RunStatus::Failed, "CUDA out of memory");
  r = *index.get(id);
  QCOMPARE(r.status, RunStatus::Failed);
  QCOMPARE(r.error, std::string("CUDA out of memory"));
  QVERIFY(parseUtcIso(r.endedAt));
  QVERIFY(*parseUtcIso(r.endedAt) >= *parseUtcIso(started));

  index.setStatus(id, RunStatus::Running);  // resumed from a checkpoint
  r = *index.get(id);
  QCOMPARE(r.error, std::string());
  QVERIFY(r.endedAt.empty());
  QCOMPARE(r.startedAt, started);  // the run started once

  try {
    index.setStatus(id + 100, RunStatus::Running);
    QFAIL("expected fw::Error");
  } catch (const fw::Error& e) {
    QCOMPARE(e.filePath(), index.path());
  }
}

void TestRunIndex::finishStoresMetrics() {
  QTemporaryDir tmp;
  auto index = RunIndex::open(dbIn(tmp));
  const int64_t id = index.add(record("/r/x", "x", "m", "d", {"fourierft", "lora"}, RunStatus::Running));
  const json metrics = {{"main_metric", "accuracy"},
                        {"fourierft", {{"accuracy", 0.9406}, {"trainable", 24576}}},
                        {"lora", {{"accuracy", 0.9392}, {"trainable", 294912}}}};
  QVERIFY_THROWS_EXCEPTION(fw::Error, index.finish(id, metrics, RunStatus::Running));
  index.finish(id, metrics, RunStatus::Finished);
  auto r = *index.get(id);
  QCOMPARE(r.status, RunStatus::Finished);
  QCOMPARE(r.finalMetrics, metrics);
  QVERIFY(parseUtcIso(r.endedAt));
  QVERIFY_THROWS_EXCEPTION(fw::Error, index.finish(id, metrics, RunStatus::Failed));  // finished is final
}

void TestRunIndex::removeForgetsRun() {
  QTemporaryDir tmp;
  auto index = RunIndex::open(dbIn(tmp));
  const int64_t a = index.add(record("/r/a", "a", "m", "d", {}));
  const int64_t b = index.add(record("/r/b", "b", "m", "d", {}));
  QVERIFY(index.remove(a));
  QVERIFY(!index.remove(a));
  QVERIFY(!index.get(a));
  QCOMPARE(names(index.list()), QStringList{"b"});
  QCOMPARE(index.get(b)->name, std::string("b"));
}

void TestRunIndex::concurrentWritersNeverBusy() {
  QTemporaryDir tmp;
  const std::string path = dbIn(tmp);
  constexpr int kPerThread = 150;
  std::atomic<int> failures{0};
  std::string firstError;
  std::mutex errorMutex;
  auto writer = [&](int thread) {
    try {
      auto index = RunIndex::open(path);  // its own connection, opened at the same time
      for (int i = 0; i < kPerThread; ++i) {
        const std::string folder = "/r/t" + std::to_string(thread) + "-" + std::to_string(i);
        const int64_t id = index.add(record(folder, folder, "m", "d", {"lora"}));
        index.setStatus(id, RunStatus::Running);
        index.finish(id, {{"loss", i}}, RunStatus::Finished);
        index.list({RunStatus::Running, "", 5});
      }
    } catch (const std::exception& e) {
      ++failures;
      std::lock_guard<std::mutex> lock(errorMutex);
      if (firstError.empty()) firstError = e.what();
    }
  };
  std::thread t1(writer, 1), t2(writer, 2);
  t1.join();
  t2.join();
  QVERIFY2(failures == 0, firstError.c_str());
  auto index = RunIndex::open(path);
  QCOMPARE(int(index.list().size()), 2 * kPerThread);
  QCOMPARE(int(index.list({RunStatus::Finished, "", 0}).size()), 2 * kPerThread);
}

void TestRunIndex::concurrentOpensOfANewIndex() {
  // Four processes' worth of connections opening one fresh file at the same moment (the window
  // and two CLI runs on a first start): the switch to WAL must wait for the others, not fail
  // with "database is locked" (it did about one time in twenty with two).
  for (int round = 0; round < 25; ++round) {
    QTemporaryDir tmp;
    const std::string path = dbIn(tmp);
    std::atomic<int> ready{0}, failures{0};
    std::string firstError;
    std::mutex errorMutex;
    auto opener = [&] {
      ++ready;
      while (ready < 4) std::this_thread::yield();
      try {
        auto index = RunIndex::open(path);
        index.add(record("/r/" + std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id())), "", "m", "d", {}));
      } catch (const std::exception& e) {
        ++failures;
        std::lock_guard<std::mutex> lock(errorMutex);
        if (firstError.empty()) firstError = e.what();
      }
    };
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) threads.emplace_back(opener);
    for (auto& t : threads) t.join();
    QVERIFY2(failures == 0, qPrintable(QString("round %1: %2").arg(round).arg(firstError.c_str())));
    QCOMPARE(int(RunIndex::open(path).list().size()), 4);
  }
}

void TestRunIndex::writerWaitsForALockedDatabase() {
  QTemporaryDir tmp;
  const std::string path = dbIn(tmp);
  auto index = RunIndex::open(path);
  RawDb other(path);
  QVERIFY(other.exec("BEGIN IMMEDIATE"));  // another process holds the write lock...
  // Timed from before the release is scheduled: on a loaded machine this thread may run late.
  QElapsedTimer timer;
  timer.start();
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    other.exec("COMMIT");  // ...for 0.4 s, well within the 5 s busy timeout
  });
  const int64_t id = index.add(record("/r/a", "a", "m", "d", {}));
  const qint64 waited = timer.elapsed();
  release.join();
  QVERIFY(id > 0);
  QVERIFY2(waited >= 300, qPrintable(QString("waited %1 ms").arg(waited)));
}

void TestRunIndex::reconcileMarksDeadRuns() {
  QTemporaryDir tmp;
  const std::string path = dbIn(tmp);
  auto index = RunIndex::open(path);
  const int64_t mine = index.add(record("/r/mine", "mine", "m", "d", {}, RunStatus::Running));

  // A trainer process that dies while its run is running.
  pid_t child = fork();
  QVERIFY(child >= 0);
  if (child == 0) {
    int code = 0;
    try {
      auto own = RunIndex::open(path);
      const int64_t id = own.add(record("/r/killed", "killed", "m", "d", {}));
      own.setStatus(id, RunStatus::Running);
    } catch (...) {
      code = 1;
    }
    _exit(code);  // never finishes the run
  }
  int status = 0;
  QCOMPARE(waitpid(child, &status, 0), child);
  QVERIFY(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const auto killed = index.byFolder("/r/killed");
  QVERIFY(killed);
  QCOMPARE(killed->status, RunStatus::Running);
  QCOMPARE(killed->owner.pid, int64_t(child));

  // Our pid, but a different start time: a later process that reused the pid.
  RunRecord reused = record("/r/reused", "reused", "m", "d", {}, RunStatus::Running);
  reused.owner = ProcessIdentity::current();
  reused.owner.startTicks += 1;
  const int64_t reusedId = index.add(reused);
  // Another host's run cannot be checked from here.
  RunRecord remote = record("/r/remote", "remote", "m", "d", {}, RunStatus::Running);
  remote.owner = {child, 1, "", "gpu-server-17.example"};
  const int64_t remoteId = index.add(remote);

  auto marked = index.reconcile();
  std::sort(marked.begin(), marked.end());
  QCOMPARE(marked, (std::vector<int64_t>{killed->id, reusedId}));
  auto after = *index.get(killed->id);
  QCOMPARE(after.status, RunStatus::Interrupted);
  QVERIFY(parseUtcIso(after.endedAt));
  QVERIFY2(after.error.find("pid " + std::to_string(child)) != std::string::npos, after.error.c_str());
  QCOMPARE(index.get(reusedId)->status, RunStatus::Interrupted);
  QCOMPARE(index.get(mine)->status, RunStatus::Running);
  QCOMPARE(index.get(remoteId)->status, RunStatus::Running);
  QVERIFY(index.reconcile().empty());
  index.setStatus(killed->id, RunStatus::Running);  // an interrupted run can be resumed
  QCOMPARE(index.get(killed->id)->owner.pid, int64_t(getpid()));
}

// What a resume does before it trains (a killed run's record is still "running"): a dead or
// unknown owner is taken over, a live one or another host's is refused naming it.
void TestRunIndex::claimTakesOverOnlyARunWhoseOwnerIsGone() {
  QTemporaryDir tmp;
  auto index = RunIndex::open(dbIn(tmp));
  pid_t dead = fork();
  QVERIFY(dead >= 0);
  if (dead == 0) _exit(0);
  QCOMPARE(waitpid(dead, nullptr, 0), dead);
  RunRecord killed = record("/r/killed", "killed", "m", "d", {}, RunStatus::Running);
  killed.owner = {dead, 1, "", ProcessIdentity::thisHost()};
  const int64_t killedId = index.add(killed);
  index.claim(killedId);
  auto after = *index.get(killedId);
  QCOMPARE(after.status, RunStatus::Running);
  QCOMPARE(after.owner.pid, int64_t(getpid()));
  QCOMPARE(after.owner.startTicks, ProcessIdentity::current().startTicks);
  QVERIFY(after.endedAt.empty() && after.error.empty());
  index.claim(killedId);  // its own run: nothing to refuse
  QCOMPARE(index.get(killedId)->owner.pid, int64_t(getpid()));

  // A live owner (a child that waits to be killed) is refused, the record left as it was.
  pid_t live = fork();
  QVERIFY(live >= 0);
  if (live == 0) {
    pause();
    _exit(0);
  }
  RunRecord busy = record("/r/busy", "busy", "m", "d", {}, RunStatus::Running);
  busy.owner = ProcessIdentity::of(live);
  const int64_t busyId = index.add(busy);
  try {
    index.claim(busyId);
    QFAIL("a run whose process is alive was taken over");
  } catch (const fw::Error& e) {
    const std::string what = e.what();
    QVERIFY2(what.find("/r/busy") != std::string::npos &&
                 what.find("still running (pid " + std::to_string(live) + ")") != std::string::npos,
             e.what());
  }
  kill(live, SIGKILL);
  QCOMPARE(waitpid(live, nullptr, 0), live);
  QCOMPARE(index.get(busyId)->owner.pid, int64_t(live));
  QCOMPARE(index.get(busyId)->status, RunStatus::Running);
  index.claim(busyId);  // now that it is gone
  QCOMPARE(index.get(busyId)->owner.pid, int64_t(getpid()));

  // Another host's owner cannot be checked from here: refused, naming the host.
  RunRecord remote = record("/r/remote", "remote", "m", "d", {}, RunStatus::Running);
  remote.owner = {dead, 1, "", "gpu-server-17.example"};
  const int64_t remoteId = index.add(remote);
  try {
    index.claim(remoteId);
    QFAIL("another host's running run was taken over");
  } catch (const fw::Error& e) {
    QVERIFY2(std::string(e.what()).find("pid " + std::to_string(dead) + " on gpu-server-17.example") != std::string::npos,
             e.what());
  }
  // No owner recorded (an index older than schema 2): nothing to check, taken over.
  RunRecord legacy = record("/r/legacy", "legacy", "m", "d", {}, RunStatus::Running);
  const int64_t legacyId = index.add(legacy);
  RawDb(dbIn(tmp)).exec("UPDATE runs SET owner_pid = 0 WHERE id = " + std::to_string(legacyId));
  QCOMPARE(index.get(legacyId)->owner.pid, int64_t(0));
  index.claim(legacyId);
  QCOMPARE(index.get(legacyId)->owner.pid, int64_t(getpid()));

  // Other statuses change as setStatus(Running) changes them.
  const int64_t stopped = index.add(record("/r/stopped", "stopped", "m", "d", {}, RunStatus::Stopped));
  index.claim(stopped);
  QCOMPARE(index.get(stopped)->status, RunStatus::Running);
  const int64_t finished = index.add(record("/r/finished", "finished", "m", "d", {}, RunStatus::Finished));
  QVERIFY_THROWS_EXCEPTION(fw::Error, index.claim(finished));
  QCOMPARE(index.get(finished)->status, RunStatus::Finished);
}

void TestRunIndex::experimentDiffNested() {
  const json a = {{"model", "roberta-base"},
                  {"optimizer", {{"lr", 0.05}, {"weight_decay", 0}, {"betas", {0.9, 0.999}}}},
                  {"methods", {{{"type", "fourierft"}, {"n_frequency", 1000}, {"scaling", 150}},
                               {{"type", "lora"}, {"r", 8}}}},
                  {"seeds", {0, 11111}},
                  {"epochs", 10},
                  {"x.y", 1},
                  {"only_a", true}};
  const json b = {{"model", "roberta-base"},
                  {"optimizer", {{"lr", 0.06}, {"weight_decay", 0.0}, {"betas", {0.9, 0.98}}}},
                  {"methods", {{{"type", "fourierft"}, {"n_frequency", 2000}, {"scaling", 150}},
                               {{"type", "lora"}, {"r", 8}, {"dropout", 0.1}}}},
                  {"seeds", {0, 11111, 22222}},
                  {"epochs", 10.0},
                  {"x.y", 2},
                  {"only_b", nullptr}};
  const auto d = experimentDiff(a, b);
  QStringList paths;
  for (const auto& f : d) paths << QString::fromStdString(f.path);
  QCOMPARE(paths, (QStringList{"methods[0].n_frequency", "methods[1].dropout", "only_a", "only_b",
                               "optimizer.betas[1]", "optimizer.lr", "seeds", "[\"x.y\"]"}));
  QCOMPARE(*d[0].a, json(1000));
  QCOMPARE(*d[0].b, json(2000));
  QVERIFY(!d[1].a);
  QCOMPARE(*d[1].b, json(0.1));
  QCOMPARE(*d[2].a, json(true));
  QVERIFY(!d[2].b);
  QVERIFY(d[3].b && d[3].b->is_null());  // present and null is not absent
  QCOMPARE(*d[5].a, json(0.05));
  QCOMPARE(*d[6].a, json({0, 11111}));  // arrays of different lengths differ as a whole
  QCOMPARE(d[6].b->size(), size_t(3));
  QVERIFY(experimentDiff(a, a).empty());
  const auto root = experimentDiff(json(1), json("one"));
  QCOMPARE(int(root.size()), 1);
  QCOMPARE(root[0].path, std::string());
}

void TestRunIndex::experimentHashIgnoresKeyOrder() {
  const json a = json::parse(R"({"model": "vit", "optimizer": {"lr": 0.05, "name": "adamw"}})");
  const json b = json::parse(R"({"optimizer": {"name": "adamw", "lr": 0.05}, "model": "vit"})");
  const json c = json::parse(R"({"optimizer": {"name": "adamw", "lr": 0.06}, "model": "vit"})");
  QCOMPARE(experimentHash(a), experimentHash(b));
  QVERIFY(experimentHash(a) != experimentHash(c));
  QCOMPARE(experimentHash(a).size(), size_t(16));
  QCOMPARE(experimentHash(json::object()), std::string("08f44b07b5901a25"));  // FNV-1a 64 of "{}"
}

void TestRunIndex::runTableText() {
  ScopedEnv tz("TZ", "UTC");
  RunRecord a = record("/r/a", "20261125-143000-sst2", "roberta-base", "glue/sst2", {"fourierft", "lora"},
                       RunStatus::Finished);
  a.id = 2;
  a.startedAt = "2026-11-25T14:30:00Z";
  a.endedAt = "2026-11-25T15:32:10Z";  // 1 h 2 min 10 s
  a.finalMetrics = {{"main_metric", "accuracy"}, {"fourierft", {{"accuracy", 0.94061}}},
                    {"lora", {{"accuracy", 0.9392}}}};
  RunRecord b = record("/r/b", "vit", "/data/models/very/long/path/to/tiny-vit-fashion", "fmnist", {"lora"},
                       RunStatus::Running);
  b.id = 13;
  b.startedAt = "2026-11-25T16:00:00Z";
  b.finalMetrics = {{"loss", 0.25}};
  RunRecord c = record("/r/c", "a very long run name that goes on and on and on", "gpt2", "alpaca", {},
                       RunStatus::Created);
  c.id = 7;
  RunTableOptions options;
  options.now = 1795622645;  // 2026-11-25 16:04:05 UTC: the running run is 4 min 5 s old
  QCOMPARE(QString::fromStdString(formatRunTable({b, c, a}, options)),
           QString("ID  STATUS    NAME                                      MODEL                         DATASET    METHODS         METRIC                                  STARTED           DURATION\n"
                   "13  running   vit                                       .../path/to/tiny-vit-fashion  fmnist     lora            loss=0.25                               2026-11-25 16:00     4m05s\n"
                   " 7  created   a very long run name that goes on and...  gpt2                          alpaca     -               -                                       -                        -\n"
                   " 2  finished  20261125-143000-sst2                      roberta-base                  glue/sst2  fourierft,lora  accuracy: fourierft=0.9406 lora=0.9392  2026-11-25 14:30     1h02m\n"));
  options.metric = "accuracy";
  QCOMPARE(QString::fromStdString(formatRunTable({a}, options)),
           QString("ID  STATUS    NAME                  MODEL         DATASET    METHODS         accuracy                      STARTED           DURATION\n"
                   " 2  finished  20261125-143000-sst2  roberta-base  glue/sst2  fourierft,lora  fourierft=0.9406 lora=0.9392  2026-11-25 14:30     1h02m\n"));
  QCOMPARE(formatRunTable({}, {}), std::string("ID  STATUS  NAME  MODEL  DATASET  METHODS  METRIC  STARTED  DURATION\n"));
  // A run indexed before session 8 kept each method's summary; its final metrics still show.
  RunRecord old = a;
  old.finalMetrics = {{"fourierft", {{"final_metrics", {{"accuracy", 0.94061}, {"loss", 0.2}}}, {"steps", 57}}},
                      {"lora", {{"final_metrics", {{"accuracy", 0.9392}}}, {"best_metrics", {{"accuracy", 0.95}}}}}};
  QVERIFY2(formatRunTable({old}, options).find("fourierft=0.9406 lora=0.9392") != std::string::npos, formatRunTable({old}, options).c_str());
  options.metric.clear();
  QVERIFY2(formatRunTable({old}, options).find("accuracy: fourierft=0.9406 lora=0.9392") != std::string::npos, formatRunTable({old}, options).c_str());
  ScopedEnv berlin("TZ", "CET-1");  // started is shown in local time
  QVERIFY(formatRunTable({a}, options).find("2026-11-25 15:30") != std::string::npos);
}

void TestRunIndex::defaultIndexPathFollowsXdg() {
  {
    ScopedEnv xdg("XDG_DATA_HOME", "/xdg/data");
    QCOMPARE(defaultIndexPath(), std::string("/xdg/data/fourier-workbench/runs.sqlite"));
  }
  ScopedEnv xdg("XDG_DATA_HOME", nullptr);
  ScopedEnv home("HOME", "/home/ada");
  QCOMPARE(defaultIndexPath(), std::string("/home/ada/.local/share/fourier-workbench/runs.sqlite"));
}

QTEST_APPLESS_MAIN(TestRunIndex)
#include "tst_run_index.moc"
