// No finished work lost, as a user meets it: `fourierft train` killed with SIGKILL at random
// moments (inside checkpoint writes too: it checkpoints every step) and resumed each time ends
// with the losses of an uninterrupted run, and no run is ever marked finished without its
// adapters; a write over the file size limit (RLIMIT_FSIZE, what a full disk or a quota looks
// like to a process) stops the run with an error naming the file and keeps the last good
// checkpoint; an output folder that cannot be written is refused before training.
#include "runs/run_folder.h"
#include "support/cli_process.h"
#include "support/test_support.h"

#include <QElapsedTimer>
#include <QRandomGenerator>

#include <fstream>
#include <map>

namespace {

const char* kImages = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

// A training run may take a while on a loaded machine.
fw::test::CliRun fourierft(const QStringList& args, const QString& shellPrefix = {}) {
  return fw::test::runCli(args, 180000, shellPrefix);
}

// 64 steps of FourierFT on a one-layer ViT, a checkpoint after every step.
nlohmann::json experiment() {
  return {{"schema_version", 1}, {"name", "crash"},
          {"model", {{"preset", "vit-fmnist"}, {"config", {{"num_hidden_layers", 1}}}}},
          {"dataset", {{"kind", "idx_images"}, {"train", kImages}, {"classes", {0, 1}}, {"train_limit", 256}}},
          {"methods", {{{"type", "fourierft"}, {"n_frequency", 50}, {"scaling", 16.0}, {"lr", 0.1},
                        {"target_modules", {"query"}}}}},
          {"trainable_modules", {"classifier"}}, {"batch_size", 8}, {"epochs", 2}, {"checkpoint_every", 1},
          {"device", "cpu"}, {"seed", 3}};
}

// step -> loss, the last line written for each step (a resumed run repeats the steps after its
// last checkpoint).
std::map<int64_t, double> losses(const QString& run) {
  std::map<int64_t, double> out;
  for (const auto& j : fw::test::metricEvents(run.toStdString(), "step")) out[j["step"].get<int64_t>()] = j["loss"].get<double>();
  return out;
}

QString summaryStatus(const QString& run) {
  std::ifstream in((run + "/summary.json").toStdString());
  if (!in) return {};
  auto j = nlohmann::json::parse(in, nullptr, false);
  return j.is_discarded() ? QString("unreadable") : QString::fromStdString(j.value("status", ""));
}

}  // namespace

class TestCrashSafety : public QObject {
  Q_OBJECT
private slots:
  void initTestCase();
  void killedAndResumedEqualsUninterrupted();
  void fileSizeLimitKeepsLastCheckpoint();
  void unwritableOutputRefusedBeforeTraining();
  void stepOutOfMemoryToldWithSizes();

private:
  fw::test::TempDir tmp_;
  std::map<int64_t, double> reference_;
  qint64 referenceMs_ = 0;
};

void TestCrashSafety::initTestCase() {
  if (!QFile::exists(kImages)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
  fw::test::writeBytes(tmp_.file("e.json"), experiment().dump());
  const auto dir = QString::fromStdString(tmp_.path());
  QElapsedTimer clock;
  clock.start();
  auto r = fourierft({"train", dir + "/e.json", "--out", dir + "/reference", "--index", ""});
  referenceMs_ = clock.elapsed();
  QVERIFY2(r.code == 0, qPrintable(r.err));
  reference_ = losses(fw::test::onlyRunFolder(dir + "/reference"));
  QCOMPARE(reference_.size(), size_t(64));
}

void TestCrashSafety::killedAndResumedEqualsUninterrupted() {
  const auto dir = QString::fromStdString(tmp_.path());
  QRandomGenerator random(20261125);
  int kills = 0, series = 0, killedInCheckpoint = 0;
  while (kills < 20) {
    // One series: start, then resume after every kill until the run finishes.
    const QString runs = dir + "/killed-" + QString::number(series++);
    for (;;) {
      const QString run = fw::test::onlyRunFolder(runs);
      QProcess p;
      if (run.isEmpty() || !QFile::exists(run + "/experiment.json"))
        p.start(FW_CLI_PATH, {"train", dir + "/e.json", "--out", runs, "--index", ""});
      else
        p.start(FW_CLI_PATH, {"train", "--resume", run, "--index", ""});
      QVERIFY(p.waitForStarted());
      // Anywhere from start-up to the end of an uninterrupted run.
      const int delay = int(random.bounded(int(referenceMs_ * 11 / 10)));
      if (!p.waitForFinished(delay)) {
        p.kill();
        QVERIFY(p.waitForFinished(30000));
        ++kills;
        const QString now = fw::test::onlyRunFolder(runs);
        if (!now.isEmpty()) {
          // A checkpoint folder without its COMPLETE marker: killed while writing it.
          for (const auto& c : QDir(now + "/checkpoints/fourierft").entryList(QDir::Dirs | QDir::NoDotAndDotDot))
            if (!QFile::exists(now + "/checkpoints/fourierft/" + c + "/COMPLETE")) ++killedInCheckpoint;
          // Never "finished" without the adapters.
          if (summaryStatus(now) == "finished")
            QVERIFY(QFile::exists(now + "/adapters/fourierft/peft/adapter_model.safetensors"));
        }
        continue;
      }
      QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0,
               qPrintable(QString::fromUtf8(p.readAllStandardError())));
      break;
    }
    const QString run = fw::test::onlyRunFolder(runs);
    QCOMPARE(summaryStatus(run), QString("finished"));
    QVERIFY(QFile::exists(run + "/adapters/fourierft/peft/adapter_model.safetensors"));
    const auto got = losses(run);
    QCOMPARE(got.size(), reference_.size());
    for (const auto& [step, loss] : reference_)
      QVERIFY2(qAbs(got.at(step) - loss) <= 1e-6 * qAbs(loss),
               qPrintable(QString("step %1: %2 after kills, %3 uninterrupted").arg(step).arg(got.at(step)).arg(loss)));
  }
  qInfo("%d kills over %d runs (%d inside a checkpoint write), every run resumed to the uninterrupted losses", kills,
        series, killedInCheckpoint);
}

void TestCrashSafety::fileSizeLimitKeepsLastCheckpoint() {
  const auto dir = QString::fromStdString(tmp_.path());
  const QString runs = dir + "/limited";
  // 12 KiB per file (sh counts 512-byte blocks): every checkpoint file fits, metrics.jsonl
  // outgrows it after about 50 steps.
  auto r = fourierft({"train", dir + "/e.json", "--out", runs, "--index", ""}, "ulimit -f 24;");
  QCOMPARE(r.code, 1);
  QVERIFY2(r.err.contains("metrics.jsonl") && r.err.contains("File too large"), qPrintable(r.err));
  const QString run = fw::test::onlyRunFolder(runs);
  QCOMPARE(summaryStatus(run), QString("failed"));
  auto folder = fw::runs::RunFolder::open(run.toStdString());
  auto latest = folder.latestCheckpoint("fourierft");
  QVERIFY(latest.has_value());
  QVERIFY2(latest->step > 10 && latest->step < 64, qPrintable(QString::number(latest->step)));
  // With room again, the run resumes from that checkpoint and ends as if nothing had happened.
  auto resumed = fourierft({"train", "--resume", run, "--index", ""});
  QVERIFY2(resumed.code == 0, qPrintable(resumed.err));
  const auto got = losses(run);
  for (const auto& [step, loss] : reference_) QVERIFY(qAbs(got.at(step) - loss) <= 1e-6 * qAbs(loss));
}

void TestCrashSafety::unwritableOutputRefusedBeforeTraining() {
  const auto dir = QString::fromStdString(tmp_.path());
  fw::test::writeBytes(tmp_.file("a-file"), "not a folder");
  auto r = fourierft({"train", dir + "/e.json", "--out", dir + "/a-file/runs", "--index", ""});
  QCOMPARE(r.code, 1);
  QVERIFY2(r.err.contains("a-file"), qPrintable(r.err));
  QVERIFY2(!r.err.contains("step"), qPrintable(r.err));  // refused before any training step
}

// A batch the allocator refuses mid-step (the estimate skipped, the address space capped at 2 GiB;
// one activation of 8192 images is 320 MB) fails the run with the step, the batch and the size.
void TestCrashSafety::stepOutOfMemoryToldWithSizes() {
#if defined(__SANITIZE_ADDRESS__)
  QSKIP("AddressSanitizer reserves terabytes of address space: ulimit -v cannot apply");
#endif
  auto e = experiment();
  e["dataset"]["train_limit"] = 8192;
  e["batch_size"] = 8192;
  e["checkpoint_every"] = 0;
  fw::test::writeBytes(tmp_.file("oom.json"), e.dump());
  const auto dir = QString::fromStdString(tmp_.path());
  auto r = fourierft({"train", dir + "/oom.json", "--out", dir + "/oom", "--index", ""},
                     "export FW_SKIP_MEMORY_CHECK=1; ulimit -v 2097152;");
  QCOMPARE(r.code, 1);
  for (const char* part : {"error: the CPU ran out of memory at step 1 of method 'fourierft' (a batch of 8192 examples)",
                           "you tried to allocate", "lower batch_size"})
    QVERIFY2(r.err.contains(part), qPrintable(r.err));
  QCOMPARE(summaryStatus(fw::test::onlyRunFolder(dir + "/oom")), QString("failed"));
}

QTEST_GUILESS_MAIN(TestCrashSafety)
#include "tst_crash_safety.moc"
