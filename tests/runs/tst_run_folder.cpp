// Run folders: every file round-trips, a killed run keeps its complete metrics lines and a torn
// last line is counted, only checkpoints with COMPLETE count, pruning keeps the newest K, run
// names are unique, and unwritable folders fail with an error that names them.
#include "runs/run_folder.h"
#include "util/error.h"
#include "util/files.h"

#include <QtTest/QtTest>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace fw::runs;
using nlohmann::json;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void spill(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

RunFolder newRun(const QTemporaryDir& tmp) {
  return RunFolder::create(tmp.path().toStdString(), "run", {{"model", "tiny-vit"}});
}

}  // namespace

class TestRunFolder : public QObject {
  Q_OBJECT
private slots:
  void checkpointsPerMethod();
  void createMakesUniqueNames();
  void createRejectsBadNames_data();
  void createRejectsBadNames();
  void runNameHasTimeAndSlug_data();
  void runNameHasTimeAndSlug();
  void experimentRoundTrip();
  void createLeavesNoFolderWithoutExperiment();
  void openNeedsARunFolder();
  void metricsRoundTrip();
  void metricsTornLastLine_data();
  void metricsTornLastLine();
  void metricsKeepLinesOfAKilledRun();
  void metricsDamagedLineNamesFileAndLine();
  void metricsRejectNonObjects();
  void metricsAppendTiming();
  void summaryRoundTripAndStatus();
  void methodStatusOfASummary_data();
  void methodStatusOfASummary();
  void logAppendsTimedLines();
  void checkpointNaming();
  void latestCheckpointNeedsComplete();
  void createCheckpointReplacesOldFolder();
  void pruneKeepsNewest_data();
  void pruneKeepsNewest();
  void pruneLeavesNewerIncomplete();
  void artifactPaths();
  void writableFolderPasses();
  void unwritableFolderNamed();
  void folderUnderAFileNamed();
  void notEnoughSpaceNamed();
  void removeTreeKeepsWhatLinksPointTo();
  void removeTreeReportsWhatItCannotRemove();
};

void TestRunFolder::createMakesUniqueNames() {
  QTemporaryDir tmp;
  const std::string parent = tmp.path().toStdString() + "/runs/nested";  // made on demand
  auto a = RunFolder::create(parent, "20261125-143000-default", json::object());
  auto b = RunFolder::create(parent, "20261125-143000-default", json::object());
  auto c = RunFolder::create(parent, "20261125-143000-default", json::object());
  QCOMPARE(a.path(), parent + "/20261125-143000-default");
  QCOMPARE(b.path(), parent + "/20261125-143000-default-2");
  QCOMPARE(c.name(), std::string("20261125-143000-default-3"));
  QVERIFY(exists(c.path()));
  QCOMPARE(a.file("metrics.jsonl"), a.path() + "/metrics.jsonl");
}

void TestRunFolder::createRejectsBadNames_data() {
  QTest::addColumn<QString>("name");
  QTest::newRow("empty") << "";
  QTest::newRow("dot") << ".";
  QTest::newRow("dot-dot") << "..";
  QTest::newRow("slash") << "a/b";
}

void TestRunFolder::createRejectsBadNames() {
  QFETCH(QString, name);
  QTemporaryDir tmp;
  try {
    RunFolder::create(tmp.path().toStdString(), name.toStdString(), json::object());
    QFAIL("expected fw::Error");
  } catch (const fw::Error& e) {
    QCOMPARE(e.fieldName(), std::string("name"));
  }
}

void TestRunFolder::runNameHasTimeAndSlug_data() {
  QTest::addColumn<QString>("label");
  QTest::addColumn<QString>("expected");
  // 1795617000 = 2026-11-25 14:30:00 UTC
  QTest::newRow("plain") << "default" << "20261125-143000-default";
  QTest::newRow("spaces and signs") << "  SST-2: FourierFT vs LoRA! " << "20261125-143000-SST-2-FourierFT-vs-LoRA";
  QTest::newRow("nothing usable") << "///" << "20261125-143000-run";
}

void TestRunFolder::runNameHasTimeAndSlug() {
  QFETCH(QString, label);
  QFETCH(QString, expected);
  const char* oldTz = std::getenv("TZ");
  const std::string saved = oldTz ? oldTz : "";
  setenv("TZ", "UTC", 1);
  tzset();
  const std::string got = runName(label.toStdString(), 1795617000);
  if (oldTz) setenv("TZ", saved.c_str(), 1); else unsetenv("TZ");
  tzset();
  QCOMPARE(QString::fromStdString(got), expected);
}

void TestRunFolder::experimentRoundTrip() {
  QTemporaryDir tmp;
  const json experiment = {{"model", "roberta-base"},
                           {"dataset", {{"task", "sst2"}}},
                           {"methods", {{{"type", "fourierft"}, {"n_frequency", 1000}, {"scaling", 150.0}},
                                        {{"type", "lora"}, {"r", 8}}}},
                           {"seed", 2024}, {"note", "ΔW \"quoted\"\nnext line"}};
  auto run = RunFolder::create(tmp.path().toStdString(), "exp", experiment);
  QCOMPARE(RunFolder::open(run.path()).readExperiment(), experiment);
  try {
    RunFolder::create(tmp.path().toStdString(), "exp", json::array());
    QFAIL("expected fw::Error");
  } catch (const fw::Error& e) {
    QCOMPARE(e.fieldName(), std::string("experiment"));
  }
  // Nothing but the one run: no half-made folder from the refused call.
  QCOMPARE(QDir(tmp.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot), QStringList{"exp"});
}

void TestRunFolder::createLeavesNoFolderWithoutExperiment() {
  // A process killed inside create() leaves only its hidden staging folder; the next create()
  // removes it (its process is gone) and keeps one that a live process is still filling.
  QTemporaryDir tmp;
  const std::string parent = tmp.path().toStdString();
  pid_t child = ::fork();
  if (child == 0) _exit(0);
  QVERIFY(child > 0);
  int wstatus = 0;
  QCOMPARE(::waitpid(child, &wstatus, 0), child);
  const std::string dead = parent + "/.creating-" + std::to_string(child) + "-abc123";
  const std::string alive = parent + "/.creating-" + std::to_string(::getpid()) + "-def456";
  QVERIFY(::mkdir(dead.c_str(), 0755) == 0 && ::mkdir(alive.c_str(), 0755) == 0);
  spill(dead + "/experiment.json", "{\"half\": ");
  auto run = RunFolder::create(parent, "run", {{"model", "tiny-vit"}});
  QVERIFY(!exists(dead));
  QVERIFY(exists(alive));
  QCOMPARE(run.readExperiment(), json({{"model", "tiny-vit"}}));
  QCOMPARE(QDir(tmp.path()).entryList(QDir::Dirs | QDir::NoDotAndDotDot), QStringList{"run"});
}

void TestRunFolder::openNeedsARunFolder() {
  QTemporaryDir tmp;
  const std::string plain = tmp.path().toStdString() + "/plain";
  QVERIFY(::mkdir(plain.c_str(), 0755) == 0);
  try {
    RunFolder::open(plain);
    QFAIL("expected fw::Error");
  } catch (const fw::Error& e) {
    QCOMPARE(e.filePath(), plain);
    QVERIFY2(std::string(e.what()).find("experiment.json") != std::string::npos, e.what());
  }
  QVERIFY_THROWS_EXCEPTION(fw::Error, RunFolder::open(plain + "/missing"));
}

void TestRunFolder::metricsRoundTrip() {
  QTemporaryDir tmp;
  auto run = newRun(tmp);
  QVERIFY(run.readMetrics().empty());  // nothing logged yet
  std::vector<json> events;
  {
    auto w = run.metrics();
    for (int step = 1; step <= 3; ++step) {
      events.push_back({{"event", "step"}, {"step", step}, {"loss", 1.0 / step}, {"lr", 1e-3}});
      w.append(events.back());
    }
  }
  {
    auto w = run.metrics();  // a resumed run appends
    QCOMPARE(w.droppedTornBytes(), int64_t(0));
    events.push_back({{"event", "eval"}, {"step", 3}, {"metrics", {{"accuracy", 0.875}}}, {"text", "a\nb"}});
    w.append(events.back());
  }
  int64_t torn = -1;
  QCOMPARE(run.readMetrics(&torn), events);
  QCOMPARE(torn, int64_t(0));
  const std::string text = slurp(run.file("metrics.jsonl"));
  QCOMPARE(std::count(text.begin(), text.end(), '\n'), 4L);  // one line per event
}

void TestRunFolder::metricsTornLastLine_data() {
  QTest::addColumn<QString>("tail");
  QTest::addColumn<int>("events");
  QTest::addColumn<int>("torn");
  QTest::addColumn<bool>("cut");  // whether reopening the writer cuts the tail
  QTest::newRow("cut inside an object") << "{\"step\": 3, \"lo" << 2 << 1 << true;
  QTest::newRow("cut inside a number") << "{\"step\": 3, \"loss\": 0.12" << 2 << 1 << true;
  QTest::newRow("whole object, newline lost") << "{\"step\": 3}" << 3 << 0 << false;
  QTest::newRow("nothing torn") << "" << 2 << 0 << false;
}

void TestRunFolder::metricsTornLastLine() {
  QFETCH(QString, tail);
  QFETCH(int, events);
  QFETCH(int, torn);
  QFETCH(bool, cut);
  QTemporaryDir tmp;
  auto run = newRun(tmp);
  spill(run.file("metrics.jsonl"), "{\"step\": 1}\n{\"step\": 2}\n" + tail.toStdString());
  int64_t tornLines = -1;
  auto read = run.readMetrics(&tornLines);
  QCOMPARE(int(read.size()), events);
  QCOMPARE(tornLines, int64_t(torn));
  QCOMPARE(read[1]["step"], json(2));
  // A resumed run appends after the complete lines, never onto the torn one.
  {
    auto w = run.metrics();
    QCOMPARE(w.droppedTornBytes(), cut ? int64_t(tail.size()) : int64_t(0));
    w.append({{"step", 4}});
  }
  read = run.readMetrics(&tornLines);
  QCOMPARE(int(read.size()), events + 1);
  QCOMPARE(tornLines, int64_t(0));
  QCOMPARE(read.back(), json({{"step", 4}}));
  const std::string log = exists(run.file("log.txt")) ? slurp(run.file("log.txt")) : "";
  QCOMPARE(log.find("torn last line") != std::string::npos, cut);
}

void TestRunFolder::metricsKeepLinesOfAKilledRun() {
  QTemporaryDir tmp;
  auto run = newRun(tmp);
  pid_t child = fork();
  QVERIFY(child >= 0);
  if (child == 0) {
    auto w = run.metrics(std::chrono::hours(1));  // no fdatasync: write() alone must be enough
    for (int step = 1; step <= 250; ++step) w.append({{"step", step}, {"loss", 0.5}});
    ::kill(getpid(), SIGKILL);  // no destructor, no flush
    _exit(3);
  }
  int status = 0;
  QCOMPARE(waitpid(child, &status, 0), child);
  QVERIFY(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  int64_t torn = -1;
  auto events = run.readMetrics(&torn);
  QCOMPARE(int(events.size()), 250);
  QCOMPARE(events.back()["step"], json(250));
  QCOMPARE(torn, int64_t(0));
}

void TestRunFolder::metricsDamagedLineNamesFileAndLine() {
  QTemporaryDir tmp;
  auto run = newRun(tmp);
  spill(run.file("metrics.jsonl"), "{\"step\": 1}\n\n{\"step\": 2,,}\n{\"step\": 3}\n");
  try {
    run.readMetrics();
    QFAIL("expected fw::Error");
  } catch (const fw::Error& e) {
    QCOMPARE(e.filePath(), run.file("metrics.jsonl"));
    QCOMPARE(e.lineNumber(), int64_t(3));
  }
}

void TestRunFolder::metricsRejectNonObjects() {
  QTemporaryDir tmp;
  auto run = newRun(tmp);
  auto w = run.metrics();
  QVERIFY_THROWS_EXCEPTION(fw::Error, w.append(json::array({1, 2})));
  QVERIFY_THROWS_EXCEPTION(fw::Error, w.append(json(0.5)));
  w.append({{"bad utf8", std::string("\xff\xfe")}});  // replaced, not fatal
  QCOMPARE(int(run.readMetrics().size()), 1);
}

void TestRunFolder::metricsAppendTiming() {
  QTemporaryDir tmp;
  auto run = newRun(tmp);
  const json event = {{"event", "step"}, {"step", 123456}, {"epoch", 3}, {"loss", 0.4321},
                      {"lr", 0.05}, {"grad_norm", 1.25}, {"tokens_per_s", 51234.5},
                      {"gpu_memory_mb", 10240}};
  QElapsedTimer timer;
  timer.start();
  {
    auto w = run.metrics();  // default: write() per line, fdatasync at most once a second
    for (int i = 0; i < 10000; ++i) w.append(event);
  }
  const qint64 ms = timer.elapsed();
  qInfo("10000 metrics appends (write per line, fdatasync per second and at close): %lld ms", ms);
  QCOMPARE(int(run.readMetrics().size()), 10000);
  QVERIFY2(ms < 1000, qPrintable(QString("took %1 ms").arg(ms)));
}

void TestRunFolder::summaryRoundTripAndStatus() {
  QTemporaryDir tmp;
  auto run = newRun(tmp);
  QVERIFY(!run.readSummary());
  QCOMPARE(run.status(), RunStatus::Created);
  run.writeSummary({{"status", "running"}, {"started_at", "2026-11-25T14:30:00Z"},
                    {"trainable_parameters", {{"fourierft", 24576}, {"lora", 294912}}}});
  QCOMPARE(run.status(), RunStatus::Running);
  run.updateSummary({{"status", "finished"}, {"ended_at", "2026-11-25T15:32:10Z"},
                     {"final_metrics", {{"fourierft", {{"accuracy", 0.9406}}}}}});
  const json summary = *run.readSummary();
  QCOMPARE(run.status(), RunStatus::Finished);
  QCOMPARE(summary["started_at"], json("2026-11-25T14:30:00Z"));
  QCOMPARE(summary["trainable_parameters"]["lora"], json(294912));
  QCOMPARE(summary["final_metrics"]["fourierft"]["accuracy"], json(0.9406));
  try {
    run.writeSummary({{"status", "done"}});
    QFAIL("expected fw::Error");
  } catch (const fw::Error& e) {
    QCOMPARE(e.fieldName(), std::string("status"));
    QCOMPARE(e.filePath(), run.file("summary.json"));
  }
  QCOMPARE(run.status(), RunStatus::Finished);  // the bad summary was not written
  spill(run.file("summary.json"), "{\"status\": 7}");
  QVERIFY_THROWS_EXCEPTION(fw::Error, run.status());
}

void TestRunFolder::methodStatusOfASummary_data() {
  QTest::addColumn<QString>("summary");
  QTest::addColumn<QString>("status");
  QTest::newRow("finished") << R"({"methods": {"lora": {"status": "finished"}, "fourierft": {"status": "stopped"}}})" << "finished";
  QTest::newRow("stopped") << R"({"methods": {"lora": {"status": "stopped", "steps": 12}}})" << "stopped";
  QTest::newRow("not named") << R"({"methods": {"fourierft": {"status": "finished"}}})" << "not started";
  QTest::newRow("no methods") << R"({"status": "running"})" << "not started";
  QTest::newRow("methods not an object") << R"({"methods": ["lora"]})" << "not started";
  QTest::newRow("method not an object") << R"({"methods": {"lora": 3}})" << "not started";
  QTest::newRow("status not a string") << R"({"methods": {"lora": {"status": 1}}})" << "not started";
  QTest::newRow("summary not an object") << R"([1, 2])" << "not started";
}

// What eval, analyze and a resumed run read to know whether a method finished.
void TestRunFolder::methodStatusOfASummary() {
  QFETCH(QString, summary);
  QFETCH(QString, status);
  QCOMPARE(QString::fromStdString(fw::runs::methodStatus(json::parse(summary.toStdString()), "lora")), status);
}

void TestRunFolder::logAppendsTimedLines() {
  QTemporaryDir tmp;
  auto run = newRun(tmp);
  run.log("training started");
  run.log("epoch 1 done\nloss 0.42\n");
  const std::string text = slurp(run.file("log.txt"));
  const QStringList lines = QString::fromStdString(text).split('\n', Qt::SkipEmptyParts);
  QCOMPARE(lines.size(), 3);
  const QRegularExpression stamped("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ (.*)$");
  QStringList bodies;
  for (const auto& line : lines) {
    auto m = stamped.match(line);
    QVERIFY2(m.hasMatch(), qPrintable(line));
    bodies << m.captured(1);
  }
  QCOMPARE(bodies, QStringList({"training started", "epoch 1 done", "loss 0.42"}));
}

void TestRunFolder::checkpointNaming() {
  QTemporaryDir tmp;
  auto run = newRun(tmp);
  QCOMPARE(run.checkpointDir(42), run.path() + "/checkpoints/step-00000042");
  QCOMPARE(run.checkpointDir(123456789), run.path() + "/checkpoints/step-123456789");
  QVERIFY_THROWS_EXCEPTION(fw::Error, run.checkpointDir(-1));
  QVERIFY(run.checkpoints().empty());
  QVERIFY(!run.latestCheckpoint());
}

void TestRunFolder::latestCheckpointNeedsComplete() {
  QTemporaryDir tmp;
  auto run = newRun(tmp);
  for (int64_t step : {100, 200, 300}) {
    auto dir = run.createCheckpointDir(step);
    spill(dir + "/optimizer.bin", std::string(1000, 'x'));
    QVERIFY(::mkdir((dir + "/adapter").c_str(), 0755) == 0);
    spill(dir + "/adapter/weights.bin", "w");
    if (step != 300) run.markCheckpointComplete(dir);
  }
  // Not checkpoints: a file and a folder with another name.
  spill(run.path() + "/checkpoints/step-00000999", "");
  QVERIFY(::mkdir((run.path() + "/checkpoints/step-12x").c_str(), 0755) == 0);

  auto all = run.checkpoints();
  QCOMPARE(int(all.size()), 3);
  QCOMPARE(all[0].step, int64_t(100));
  QVERIFY(all[1].complete);
  QVERIFY(!all[2].complete);
  auto latest = run.latestCheckpoint();
  QVERIFY(latest);
  QCOMPARE(latest->step, int64_t(200));  // 300 has no COMPLETE: never the latest
  QCOMPARE(latest->dir, run.checkpointDir(200));
  QVERIFY(exists(latest->dir + "/COMPLETE"));
  run.markCheckpointComplete(run.checkpointDir(300));
  QCOMPARE(run.latestCheckpoint()->step, int64_t(300));
  QVERIFY_THROWS_EXCEPTION(fw::Error, run.markCheckpointComplete(run.checkpointDir(400)));
}

void TestRunFolder::createCheckpointReplacesOldFolder() {
  QTemporaryDir tmp;
  auto run = newRun(tmp);
  auto dir = run.createCheckpointDir(500);
  spill(dir + "/stale.bin", "old");
  run.markCheckpointComplete(dir);
  QCOMPARE(run.createCheckpointDir(500), dir);
  QVERIFY(!exists(dir + "/stale.bin"));
  QVERIFY(!exists(dir + "/COMPLETE"));
  QVERIFY(!run.latestCheckpoint());
}

void TestRunFolder::pruneKeepsNewest_data() {
  QTest::addColumn<int>("keep");
  QTest::addColumn<QList<qint64>>("left");
  QTest::newRow("keep 1") << 1 << QList<qint64>{500};
  QTest::newRow("keep 2") << 2 << QList<qint64>{400, 500};
  QTest::newRow("keep more than there are") << 9 << QList<qint64>{100, 200, 300, 400, 500};
}

void TestRunFolder::pruneKeepsNewest() {
  QFETCH(int, keep);
  QFETCH(QList<qint64>, left);
  QTemporaryDir tmp;
  auto run = newRun(tmp);
  for (int64_t step = 100; step <= 500; step += 100)
    run.markCheckpointComplete(run.createCheckpointDir(step));
  const auto removed = run.pruneCheckpoints(keep);
  QList<qint64> steps;
  for (const auto& c : run.checkpoints()) steps << c.step;
  QCOMPARE(steps, left);
  QCOMPARE(int(removed.size()), 5 - int(left.size()));
  for (const auto& dir : removed) QVERIFY(!exists(dir));
  QCOMPARE(run.latestCheckpoint()->step, int64_t(500));
  QVERIFY_THROWS_EXCEPTION(fw::Error, run.pruneCheckpoints(0));
}

void TestRunFolder::pruneLeavesNewerIncomplete() {
  QTemporaryDir tmp;
  auto run = newRun(tmp);
  run.createCheckpointDir(50);  // left half-written by a crash: older, so removed
  for (int64_t step : {100, 200, 300}) run.markCheckpointComplete(run.createCheckpointDir(step));
  run.createCheckpointDir(400);  // being written now: kept
  run.pruneCheckpoints(2);
  QList<qint64> steps;
  for (const auto& c : run.checkpoints()) steps << c.step;
  QCOMPARE(steps, (QList<qint64>{200, 300, 400}));
  QCOMPARE(run.latestCheckpoint()->step, int64_t(300));
}

void TestRunFolder::artifactPaths() {
  QTemporaryDir tmp;
  auto run = newRun(tmp);
  QCOMPARE(run.adapterDir("fourierft", AdapterFormat::Peft), run.path() + "/adapters/fourierft/peft");
  QCOMPARE(run.adapterDir("lora", AdapterFormat::Native), run.path() + "/adapters/lora/native");
  QCOMPARE(run.analysisDir(), run.path() + "/analysis");
  QCOMPARE(run.reportDir(), run.path() + "/report");
  QVERIFY_THROWS_EXCEPTION(fw::Error, run.adapterDir("../x", AdapterFormat::Peft));
  ensureDir(run.adapterDir("lora", AdapterFormat::Peft));
  QVERIFY(exists(run.path() + "/adapters/lora/peft"));
}

void TestRunFolder::writableFolderPasses() {
  QTemporaryDir tmp;
  const std::string dir = tmp.path().toStdString() + "/out/runs";
  checkWritableFolder(dir, 1);
  QVERIFY(exists(dir));
  QVERIFY(QDir(QString::fromStdString(dir)).isEmpty(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot));
}

void TestRunFolder::unwritableFolderNamed() {
  if (geteuid() == 0) QSKIP("root writes into mode-500 folders; folderUnderAFileNamed covers this");
  QTemporaryDir tmp;
  const std::string locked = tmp.path().toStdString() + "/locked";
  QVERIFY(::mkdir(locked.c_str(), 0500) == 0);
  try {
    checkWritableFolder(locked);
    QFAIL("expected fw::Error");
  } catch (const fw::Error& e) {
    QCOMPARE(e.filePath(), locked);
  }
  try {
    RunFolder::create(locked, "run", json::object());
    QFAIL("expected fw::Error");
  } catch (const fw::Error& e) {
    QCOMPARE(e.filePath(), locked + "/run");
  }
  ::chmod(locked.c_str(), 0700);
}

void TestRunFolder::folderUnderAFileNamed() {
  QTemporaryDir tmp;
  const std::string file = tmp.path().toStdString() + "/a-file";
  spill(file, "not a folder");
  const std::string dir = file + "/runs";
  try {
    checkWritableFolder(dir);
    QFAIL("expected fw::Error");
  } catch (const fw::Error& e) {
    QCOMPARE(e.filePath(), dir);
    QVERIFY2(std::string(e.what()).find("cannot create folder") != std::string::npos, e.what());
  }
  try {
    checkWritableFolder(file);  // exists, but is no folder
    QFAIL("expected fw::Error");
  } catch (const fw::Error& e) {
    QCOMPARE(e.filePath(), file);
  }
  QVERIFY_THROWS_EXCEPTION(fw::Error, RunFolder::create(dir, "run", json::object()));
}

void TestRunFolder::notEnoughSpaceNamed() {
  QTemporaryDir tmp;
  const std::string dir = tmp.path().toStdString();
  try {
    checkWritableFolder(dir, uint64_t(1) << 62);
    QFAIL("expected fw::Error");
  } catch (const fw::Error& e) {
    QCOMPARE(e.filePath(), dir);
    QVERIFY2(std::string(e.what()).find("free disk space") != std::string::npos, e.what());
  }
}

void TestRunFolder::checkpointsPerMethod() {
  // A run that trains several methods keeps each method's checkpoints apart.
  QTemporaryDir tmp;
  auto run = RunFolder::create(tmp.path().toStdString(), "multi", {{"name", "multi"}});
  const auto lora = run.createCheckpointDir(20, "lora");
  QCOMPARE(QString::fromStdString(lora), QString::fromStdString(run.path() + "/checkpoints/lora/step-00000020"));
  run.markCheckpointComplete(lora);
  run.markCheckpointComplete(run.createCheckpointDir(10, "fourierft"));
  run.markCheckpointComplete(run.createCheckpointDir(30, "fourierft"));
  QCOMPARE(run.latestCheckpoint("lora")->step, int64_t(20));
  QCOMPARE(run.latestCheckpoint("fourierft")->step, int64_t(30));
  QVERIFY(!run.latestCheckpoint().has_value());  // the method folders are not steps
  QCOMPARE(run.pruneCheckpoints(1, "fourierft").size(), size_t(1));
  QCOMPARE(run.checkpoints("fourierft").size(), size_t(1));
  QCOMPARE(run.checkpoints("lora").size(), size_t(1));
  QVERIFY_EXCEPTION_THROWN(run.checkpointDir(1, "a/b"), fw::Error);
}

// fw::removeTree (what checkpoint pruning uses instead of std::filesystem::remove_all, see
// util/files.h): the whole tree goes, nothing a link points to does, a missing path is no error,
// and a folder it may not empty is reported.
void TestRunFolder::removeTreeKeepsWhatLinksPointTo() {
  QTemporaryDir tmp;
  const std::string root = tmp.path().toStdString();
  const std::string tree = root + "/tree", outside = root + "/outside";
  QVERIFY(QDir().mkpath(QString::fromStdString(tree + "/a/b/c")));
  QVERIFY(QDir().mkpath(QString::fromStdString(outside)));
  spill(tree + "/top.txt", "1");
  spill(tree + "/a/b/c/deep.bin", std::string(70000, 'x'));
  spill(outside + "/kept.txt", "keep me");
  QCOMPARE(::symlink(outside.c_str(), (tree + "/a/link-to-outside").c_str()), 0);
  QCOMPARE(::symlink((outside + "/kept.txt").c_str(), (tree + "/a/b/link-to-file").c_str()), 0);
  std::error_code ec;
  fw::removeTree(tree, ec);
  QVERIFY2(!ec, ec.message().c_str());
  QVERIFY(!QFileInfo::exists(QString::fromStdString(tree)));
  QCOMPARE(slurp(outside + "/kept.txt"), std::string("keep me"));

  fw::removeTree(tree, ec);  // already gone
  QVERIFY(!ec);
  spill(root + "/single.txt", "1");
  fw::removeTree(root + "/single.txt", ec);
  QVERIFY(!ec);
  QVERIFY(!QFileInfo::exists(QString::fromStdString(root + "/single.txt")));
}

void TestRunFolder::removeTreeReportsWhatItCannotRemove() {
  QTemporaryDir tmp;
  const std::string root = tmp.path().toStdString();
  std::error_code ec;
  if (::geteuid() == 0) QSKIP("root may empty any folder: the permission case needs another user");
  QVERIFY(QDir().mkpath(QString::fromStdString(root + "/locked/inner")));
  spill(root + "/locked/inner/f.txt", "1");
  QCOMPARE(::chmod((root + "/locked/inner").c_str(), 0555), 0);
  fw::removeTree(root + "/locked", ec);
  QCOMPARE(ec.value(), EACCES);
  QVERIFY(QFileInfo::exists(QString::fromStdString(root + "/locked/inner/f.txt")));
  ::chmod((root + "/locked/inner").c_str(), 0755);
}

QTEST_APPLESS_MAIN(TestRunFolder)
#include "tst_run_folder.moc"
