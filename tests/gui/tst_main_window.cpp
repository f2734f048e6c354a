// The workbench window, offscreen: the form counts parameters, a small run trains every method
// with live plots, pause holds it, stop leaves a checkpoint that resume continues, the report is
// written as HTML and PDF with the run's numbers, and a fixture adapter opens in the rank view.
// FW_SCREENSHOT_DIR=<dir> saves a picture of each view. A fourierft that crashes is named with its signal.
#include "adapters/adapter_folder.h"
#include "analysis/snapshot.h"
#include "runs/run_folder.h"
#include "support/test_support.h"
#include "util/error.h"
#include "util/files.h"

#include "adapter_inspection.h"
#include "experiment_form.h"
#include "main_window.h"
#include "process_run.h"
#include "report.h"
#include "runs_browser.h"
#include "widgets/live_plot.h"
#include "widgets/plot_panel.h"
#include "widgets/rank_view.h"
#include "widgets/series_store.h"
#include "widgets/spectrum_view.h"

#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QThreadPool>
#include <QTimer>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSpinBox>
#include <QComboBox>
#include <QFileInfo>
#include <QTableWidget>
#include <QTabWidget>

#include <qcustomplot.h>

#include <filesystem>

using nlohmann::json;

namespace {

const char* kImages = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

json smallExperiment(const std::string& cache, int64_t limit = 128, int64_t epochs = 1) {
  const json data = {{"kind", "idx_images"}, {"train", kImages}, {"eval", kImages}, {"classes", {3, 4}},
                     {"train_limit", limit}, {"eval_limit", 64}, {"mean", 0.286}, {"std", 0.353}};
  json pretrainData = data;
  pretrainData["classes"] = {0, 1};
  return {{"schema_version", 1}, {"name", "gui"},
          {"model", {{"preset", "vit-fmnist"}, {"fresh_head", true}, {"config", {{"num_hidden_layers", 1}}},
                     {"pretrain", {{"dataset", pretrainData}, {"epochs", 1}, {"batch_size", 32}, {"cache", cache}}}}},
          {"dataset", data},
          {"methods", {{{"type", "fourierft"}, {"name", "fourierft"}, {"n_frequency", 64}, {"scaling", 16.0}, {"lr", 0.1},
                        {"target_modules", {"query", "value"}}},
                       {{"type", "lora"}, {"name", "lora"}, {"r", 2}, {"alpha", 4.0}, {"lr", 0.01}, {"target_modules", {"query", "value"}}},
                       {{"type", "head-only"}, {"name", "head-only"}}}},
          {"trainable_modules", {"classifier"}}, {"batch_size", 16}, {"epochs", epochs}, {"device", "cpu"}};
}

void screenshot(QWidget* w, const QString& name) {
  const QString dir = qEnvironmentVariable("FW_SCREENSHOT_DIR");
  if (dir.isEmpty()) return;
  QTest::qWait(200);  // the views' throttled and queued replots first, as a user would see them
  w->grab().save(dir + "/" + name + ".png");
}

QStringList methodsWithLoss(fw::widgets::SeriesStore* store) {
  QStringList out;
  for (const auto& key : store->seriesNames())
    if (key.endsWith("/loss")) out << key.section('/', 0, 0);
  out.sort();
  return out;
}

// The step in flight when pausing still lands (on a loaded machine it can take a second); there
// is no event for "nothing happened", so wait until the count holds still for 2 s.
int countOnceStill(fw::widgets::SeriesStore* store, const QString& series) {
  int held = store->count(series);
  for (int i = 0, still = 0; i < 120 && still < 8; ++i) {
    QTest::qWait(250);
    const int now = store->count(series);
    still = now == held ? still + 1 : 0;
    held = now;
  }
  return held;
}

// N from the Log tab's "fourierft: paused after step N" (0 while there is none).
int pausedAfterStep(const fw::gui::MainWindow& window) {
  auto* log = window.findChild<QPlainTextEdit*>("log");
  if (!log) return -1;
  static const QRegularExpression re("fourierft: paused after step (\\d+)");
  const auto m = re.match(log->toPlainText());
  return m.hasMatch() ? m.captured(1).toInt() : 0;
}

void writeFile(const std::string& path, const std::string& text) {
  QFile f(QString::fromStdString(path));
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write(text.data(), qint64(text.size()));
}

QString logText(const fw::gui::MainWindow& window) {
  auto* log = window.findChild<QPlainTextEdit*>("log");
  return log ? log->toPlainText() : QString();
}

// A run folder as a stopped two-process run leaves it, without analysis snapshots: experiment,
// summary and a metrics.jsonl whose second line is damaged.
QString fakeRunFolder(const std::string& dir) {
  std::filesystem::create_directories(dir);
  json e = smallExperiment(dir + "/cache");
  writeFile(dir + "/experiment.json", e.dump(2));
  writeFile(dir + "/summary.json", json{{"status", "stopped"}, {"world_size", 2}}.dump());
  writeFile(dir + "/metrics.jsonl",
            "{\"event\":\"step\",\"method\":\"fourierft\",\"step\":1,\"loss\":2.0,\"lr\":0.1}\n"
            "{\"event\":\"step\",\"method\":\"fourierft\",\"st\n"
            "{\"event\":\"step\",\"method\":\"fourierft\",\"step\":2,\"loss\":1.5,\"lr\":0.1}\n");
  return QString::fromStdString(dir);
}

// An opened adapter as inspectAdapter gives it: two layers and a 4 x 6 spectrum with one frequency.
fw::gui::AdapterInspection syntheticInspection() {
  fw::gui::AdapterInspection r;
  r.adapter = "adapter";
  r.base = "base";
  r.method = "fourierft";
  for (const char* name : {"encoder.layer.0.attention.query", "encoder.layer.0.attention.value"}) {
    fw::gui::InspectedLayer l;
    l.name = name;
    l.singularValues = {4, 2, 1, 0.5};
    l.effectiveRank = 2.5;
    l.total = 4;
    r.layers << l;
  }
  r.spectrumLayer = r.layers.front().name;
  r.spectrum.d1 = 4;
  r.spectrum.d2 = 6;
  for (int i = 0; i < 24; ++i) r.spectrum.magnitude << float(i % 5) - 2.0f;
  r.spectrum.u = {1};
  r.spectrum.v = {2};
  return r;
}

// A stand-in for fourierft: like the real one, SIGTERM kills it until its handlers are in place,
// which it says with its first event; a stop after that ends with the status in $FAKE_STATUS
// (the trainer's own) and exit 130, as `fourierft train` does whenever a stop was asked for.
QString writeFakeFourierft(const std::string& dir, const QString& runFolder) {
  const QString path = QString::fromStdString(dir) + "/slow-start-fourierft";
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly)) return {};
  QString script = QStringLiteral(
      "#!/bin/sh\n"
      "sleep 1\n"
      "trap 'printf \"{\\\"event\\\":\\\"finished\\\",\\\"path\\\":\\\"RUN\\\",\\\"status\\\":\\\"%s\\\"}\\n\" \"$FAKE_STATUS\"; exit 130' TERM\n"
      "printf '{\"event\":\"run_folder\",\"path\":\"RUN\"}\\n'\n"
      "while :; do sleep 0.05; done\n");
  f.write(script.replace("RUN", runFolder).toUtf8());
  f.close();
  QFile::setPermissions(path, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
  return path;
}

}  // namespace

class TestMainWindow : public QObject {
  Q_OBJECT
private slots:
  void initTestCase();
  void formCountsParameters();
  void formRoundTripKeepsWhatItLoaded();
  void analysisViewsFollowTheirSource();
  void earlyStopWaitsForTheWorkers();
  void trainPauseStopResumeReport();
  void closingStopsTheRunFirst();
  void dataParallelRun();
  void opensFixtureAdapter();
  void crashedRunSaysWhy();

private:
  fw::test::TempDir tmp_;
};

void TestMainWindow::initTestCase() {
  if (!QFile::exists(kImages)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
  qputenv("XDG_DATA_HOME", QByteArray::fromStdString(tmp_.file("data")));  // runs and index go here
  qputenv("XDG_CONFIG_HOME", QByteArray::fromStdString(tmp_.file("config")));  // QSettings: not the user's
}

void TestMainWindow::formCountsParameters() {
  fw::gui::ExperimentForm form;
  form.loadFile(FW_SOURCE_DIR "/experiments/default.json");
  auto* table = form.findChild<QTableWidget*>();
  QVERIFY(table);
  QCOMPARE(table->rowCount(), 4);
  // vit-fmnist: 4 layers x (query, value) of 64x64.
  QCOMPARE(table->item(0, 6)->text(), QLocale().toString(8 * 200));           // FourierFT n = 200
  QCOMPARE(table->item(1, 6)->text(), QLocale().toString(8 * 2 * (64 + 64)));  // LoRA r = 2
  QCOMPARE(table->item(2, 6)->text(), QLocale().toString(8 * 8 * (64 + 64)));  // LoRA r = 8
  auto e = form.experiment();
  QCOMPARE(e["methods"].size(), size_t(4));
  QCOMPARE(e["methods"][0]["scaling"].get<double>(), 16.0);
  QVERIFY(e["model"].contains("pretrain"));  // fields the form does not show are kept
  // The model combo is obeyed with a pretrain stage (it was ignored): another preset is pretrained
  // instead; a checkpoint folder, pretrained already, drops the stage.
  QComboBox* model = nullptr;
  for (auto* box : form.findChildren<QComboBox*>())
    if (box->findData("vit-base") >= 0) model = box;
  QVERIFY(model);
  model->setCurrentIndex(model->findData("vit-base"));
  QCOMPARE(form.experiment()["model"]["preset"].get<std::string>(), std::string("vit-base"));
  QVERIFY(form.experiment()["model"].contains("pretrain"));
  // ...into a cache of its own: the loaded one holds the vit-fmnist base that earlier runs used.
  const auto cache = e["model"]["pretrain"]["cache"].get<std::string>();
  QCOMPARE(QString::fromStdString(form.experiment()["model"]["pretrain"]["cache"].get<std::string>()),
           QString::fromStdString(cache).replace("vit-fmnist", "vit-base"));
  QVERIFY(QString::fromStdString(cache).contains("vit-fmnist"));
  model->setCurrentIndex(model->count() - 1);
  for (auto* edit : form.findChildren<QLineEdit*>())
    if (edit->placeholderText().startsWith("Hugging Face folder")) edit->setText("/data/bert-base-uncased");
  QVERIFY(!form.experiment()["model"].contains("pretrain"));
  QCOMPARE(form.experiment()["model"]["checkpoint"].get<std::string>(), std::string("/data/bert-base-uncased"));
  QCOMPARE(form.experiment()["model"]["preset"].get<std::string>(), std::string());
  form.setExperiment(e);
  QCOMPARE(model->currentData().toString(), QString("vit-fmnist"));
  // Bad rows: what a failed load's message points to ("set the dataset's bad_rows to skip").
  QCOMPARE(e["dataset"]["bad_rows"].get<std::string>(), std::string("fail"));
  QComboBox* badRows = nullptr;
  for (auto* box : form.findChildren<QComboBox*>())
    if (box->findData("skip") >= 0) badRows = box;
  QVERIFY(badRows);
  badRows->setCurrentIndex(badRows->findData("skip"));
  QCOMPARE(form.experiment()["dataset"]["bad_rows"].get<std::string>(), std::string("skip"));
  auto skipping = form.experiment();
  form.setExperiment(skipping);
  QCOMPARE(badRows->currentData().toString(), QString("skip"));  // and back from an experiment
  screenshot(&form, "experiment_form");
}

// What the form loads comes back unchanged: a GLUE alias as its canonical name, a device and a
// seed the widgets have no preset for, a tiny head learning rate, and target modules per method.
void TestMainWindow::formRoundTripKeepsWhatItLoaded() {
  json e = fw::readJsonFile(FW_SOURCE_DIR "/experiments/default.json");
  e["dataset"] = {{"kind", "glue"}, {"task", "sst2"}, {"train", "train.tsv"}, {"eval", "dev.tsv"}};
  e["methods"] = {{{"type", "fourierft"}, {"name", "ff"}, {"n_frequency", 200}, {"scaling", 16.0}, {"lr", 0.2},
                   {"target_modules", {"query", "value"}}},
                  {{"type", "lora"}, {"name", "lo"}, {"r", 2}, {"alpha", 4.0}, {"lr", 3.3333333333333335e-4},
                   {"target_modules", {"query"}}},
                  {{"type", "head-only"}, {"name", "head-only"}}};
  e["device"] = "cuda:1";
  e["seed"] = int64_t(3000000000);
  e["head_lr"] = 1e-6;
  fw::gui::ExperimentForm form;
  form.setExperiment(e);
  auto* task = form.findChild<QComboBox*>("glueTask");
  QVERIFY(task);
  QCOMPARE(task->currentText(), QString("SST-2"));
  QVERIFY(task->findText("MNLI-mm") >= 0);
  // Each method counts with its own targets (vit-fmnist: 4 layers, 64 x 64).
  auto* table = form.findChild<QTableWidget*>();
  QCOMPARE(table->item(0, 6)->text(), QLocale().toString(8 * 200));
  QCOMPARE(table->item(1, 6)->text(), QLocale().toString(4 * 2 * (64 + 64)));

  const json out = form.experiment();
  QCOMPARE(out["dataset"]["task"].get<std::string>(), std::string("SST-2"));
  QCOMPARE(out["device"].get<std::string>(), std::string("cuda:1"));
  QCOMPARE(out["seed"].get<int64_t>(), int64_t(3000000000));
  QVERIFY(out["head_lr"].get<double>() == 1e-6);
  QVERIFY(out["methods"][1]["lr"].get<double>() == 3.3333333333333335e-4);
  QVERIFY(out["methods"][0]["target_modules"] == json::array({"query", "value"}));
  QVERIFY(out["methods"][1]["target_modules"] == json::array({"query"}));
  QVERIFY(!out["methods"][2].contains("target_modules"));
  // Loaded again, nothing moves.
  form.setExperiment(out);
  QVERIFY(form.experiment() == out);

  // Other spellings the data layer takes; a name it does not know stays as written.
  e["dataset"]["task"] = "mnli_mismatched";
  form.setExperiment(e);
  QCOMPARE(form.experiment()["dataset"]["task"].get<std::string>(), std::string("MNLI-mm"));
  e["dataset"]["task"] = "sst5";
  form.setExperiment(e);
  QCOMPARE(task->currentText(), QString("sst5"));
  QCOMPARE(form.experiment()["dataset"]["task"].get<std::string>(), std::string("sst5"));

  // Editing the shared field sets the targets of every adapter method.
  auto* targets = form.findChild<QLineEdit*>("targetModules");
  QVERIFY(targets);
  QVERIFY(targets->text().isEmpty());  // they differ: each method keeps its own
  targets->setText("key");
  const json edited = form.experiment();
  QVERIFY(edited["methods"][0]["target_modules"] == json::array({"key"}));
  QVERIFY(edited["methods"][1]["target_modules"] == json::array({"key"}));
  // One list for all: it is the field's text.
  form.setExperiment(edited);
  QCOMPARE(targets->text(), QString("key"));

  // A seed or learning rate that is not a number is an error naming the field.
  auto* seed = form.findChild<QLineEdit*>("seed");
  QVERIFY(seed);
  seed->setText("-");
  try {
    form.experiment();
    QFAIL("no error for a seed of '-'");
  } catch (const fw::Error& err) {
    QVERIFY2(QString(err.what()).contains("seed"), err.what());
  }
}

// The rank and spectrum views show one source at a time: an opened adapter keeps its spectrum
// (no run's spectrum is computed over it), and showing or resuming a run without analysis
// leaves them empty. Damaged metrics lines are named in the log; a resume whose fourierft
// cannot start ends with the analysis timer stopped.
void TestMainWindow::analysisViewsFollowTheirSource() {
  const QString run = fakeRunFolder(tmp_.file("fake-run"));
  fw::gui::MainWindow window;
  window.resize(1200, 800);
  window.show();
  window.showRun(run);
  QCOMPARE(window.currentRun(), run);
  QCOMPARE(window.plots()->store()->count("fourierft/loss"), 2);
  QVERIFY2(logText(window).contains("line 2"), qPrintable(logText(window)));

  window.showInspection(syntheticInspection());
  QThreadPool::globalInstance()->waitForDone();  // a spectrum of the run, had one been started
  QTest::qWait(100);
  QCOMPARE(window.spectrumView()->rows(), 4);
  QCOMPARE(window.spectrumView()->frequencyCount(), 1);
  QCOMPARE(window.rankView()->layers().size(), 2);
  QVERIFY2(!logText(window).contains("spectrum:"), qPrintable(logText(window)));

  window.showRun(run);  // no analysis in it: nothing of the adapter stays
  QCOMPARE(window.spectrumView()->rows(), 0);
  QCOMPARE(window.rankView()->layers().size(), 0);

  window.showInspection(syntheticInspection());
  QCOMPARE(window.spectrumView()->rows(), 4);
  const QByteArray before = qgetenv("FW_FOURIERFT");
  qputenv("FW_FOURIERFT", QByteArray::fromStdString(tmp_.file("no-such-fourierft")));
  auto* log = window.findChild<QPlainTextEdit*>("log");
  log->clear();
  QSignalSpy failed(&window, &fw::gui::MainWindow::runFailed);
  window.resumeRun(run);  // world size 2: a fourierft process, which cannot start
  if (before.isEmpty()) qunsetenv("FW_FOURIERFT");
  else qputenv("FW_FOURIERFT", before);
  QCOMPARE(failed.count(), 1);
  QVERIFY(!window.training());
  auto* timer = window.findChild<QTimer*>("analysisTimer");
  QVERIFY(timer);
  QVERIFY(!timer->isActive());
  QCOMPARE(window.spectrumView()->rows(), 0);
  QCOMPARE(window.rankView()->layers().size(), 0);
  QVERIFY2(logText(window).contains("line 2"), qPrintable(logText(window)));
  QCOMPARE(window.plots()->store()->count("fourierft/loss"), 2);
}

// A stop pressed before the worker processes can take SIGTERM waits for their first event, so
// the run ends stopped instead of killed (exit 143). The status is the trainer's: a stop that
// came too late for it leaves the run finished.
void TestMainWindow::earlyStopWaitsForTheWorkers() {
  const QString runFolder = QString::fromStdString(tmp_.file("fake-dp-run"));
  const QString fake = writeFakeFourierft(tmp_.path(), runFolder);
  QVERIFY(!fake.isEmpty());
  const QByteArray before = qgetenv("FW_FOURIERFT");
  qputenv("FW_FOURIERFT", fake.toUtf8());
  const QString experiment = QString::fromStdString(smallExperiment(tmp_.path() + "/cache").dump());
  const QString runs = QString::fromStdString(tmp_.path() + "/fake-runs");
  {
    qputenv("FAKE_STATUS", "stopped");
    fw::gui::ProcessRun run;
    QSignalSpy finished(&run, &fw::gui::ProcessRun::finished);
    QSignalSpy failed(&run, &fw::gui::ProcessRun::failed);
    run.start(experiment, runs, {}, {}, 2);
    QVERIFY(run.running());
    run.requestStop();  // at once: the fake sleeps a second before it could take the signal
    QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 1, 20000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.at(0).at(0).toString()));
    QCOMPARE(finished.at(0).at(0).toString(), runFolder);
    QCOMPARE(finished.at(0).at(1).toString(), QString("stopped"));
  }
  {
    qputenv("FAKE_STATUS", "finished");
    fw::gui::ProcessRun run;
    QSignalSpy folder(&run, &fw::gui::ProcessRun::runFolder);
    QSignalSpy finished(&run, &fw::gui::ProcessRun::finished);
    run.start(experiment, runs, {}, {}, 2);
    QTRY_COMPARE_WITH_TIMEOUT(folder.count(), 1, 20000);
    run.requestStop();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 20000);
    QCOMPARE(finished.at(0).at(1).toString(), QString("finished"));  // exit 130, but the trainer finished
  }
  qunsetenv("FAKE_STATUS");
  if (before.isEmpty()) qunsetenv("FW_FOURIERFT");
  else qputenv("FW_FOURIERFT", before);
}

void TestMainWindow::trainPauseStopResumeReport() {
  fw::gui::MainWindow window;
  window.resize(1400, 900);
  window.show();
  window.form()->setExperiment(smallExperiment(tmp_.file("base"), 480, 2));
  window.processesBox()->setValue(1);  // in the window's process
  QSignalSpy finished(&window, &fw::gui::MainWindow::runFinished);
  QSignalSpy failed(&window, &fw::gui::MainWindow::runFailed);
  auto* store = window.plots()->store();

  // Pause once the first method has made progress; nothing moves while paused.
  window.start();
  QVERIFY(window.training());
  QTRY_VERIFY_WITH_TIMEOUT(store->count("fourierft/loss") >= 3, 120000);
  // The bar names the method and which of the run's methods it is.
  QTRY_VERIFY2(window.findChild<QProgressBar*>()->text().startsWith("fourierft (1 of 3) "),
               qPrintable(window.findChild<QProgressBar*>()->text()));
  window.togglePause();
  // The loop says after which step it paused; the curve ends at that step and stays there. (How
  // many step events the GUI still had queued when pause was pressed depends on the machine's load.)
  QTRY_VERIFY_WITH_TIMEOUT(pausedAfterStep(window) > 0, 30000);
  const int pausedAt = pausedAfterStep(window);
  const int held = countOnceStill(store, "fourierft/loss");
  QCOMPARE(held, pausedAt);  // logEvery is 1: one point per step
  window.plots()->flushNow();
  QCOMPARE(int(store->points("fourierft/loss").x.last()), pausedAt);
  QTest::qWait(500);
  QCOMPARE(store->count("fourierft/loss"), held);
  // The step that was in flight reported after Pause: the status still says paused (it read
  // "fourierft: step N of M, ..." as if training went on).
  const QString paused = window.findChild<QLabel*>("status")->text();
  QVERIFY2(paused.startsWith("Paused after"), qPrintable(paused));
  window.togglePause();
  QTRY_VERIFY_WITH_TIMEOUT(store->count("fourierft/loss") > held, 30000);

  // Stop: the run ends "stopped" with a checkpoint; resume finishes it.
  window.stop();
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
  QCOMPARE(finished.at(0).at(1).toString(), QString("stopped"));
  auto* bar = window.findChild<QProgressBar*>();
  QVERIFY(bar);
  QVERIFY2(bar->text().startsWith("Stopped at "), qPrintable(bar->text()));
  const QString run = finished.at(0).at(0).toString();
  auto folder = fw::runs::RunFolder::open(run.toStdString());
  QVERIFY(folder.latestCheckpoint("fourierft").has_value());
  window.resumeRun(run);
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 180000);
  QCOMPARE(failed.count(), 0);
  QCOMPARE(finished.at(1).at(1).toString(), QString("finished"));
  QCOMPARE(bar->text(), QString("Finished"));
  QCOMPARE(bar->value(), bar->maximum());
  // No spectrum is computed while training; once the run ends, the spectrum tab shows the
  // FourierFT ΔW of the layer picked, with its 64 frequencies.
  QTRY_VERIFY_WITH_TIMEOUT(window.spectrumView()->rows() > 0, 60000);
  QCOMPARE(window.spectrumView()->frequencyCount(), 64);
  // A finished run has nothing to resume: refused, nothing starts.
  window.resumeRun(run);
  QVERIFY(!window.training());
  QCOMPARE(finished.count(), 2);

  // Every method has curves; the runs browser lists the run.
  window.plots()->flushNow();
  QCOMPARE(methodsWithLoss(store), (QStringList{"fourierft", "head-only", "lora"}));
  window.runsBrowser()->refresh();
  QVERIFY(window.runsBrowser()->rowCount() >= 1);
  screenshot(&window, "window_training");
  // Selected in the runs browser, the run's three methods are drawn in the overlay, each named
  // after the run's id (they were named "<folder>/<method>" and matched no plot).
  auto* table = window.runsBrowser()->findChild<QTableWidget*>();
  QVERIFY(table);
  int row = -1;
  for (int i = 0; i < table->rowCount(); ++i)
    if (QFileInfo(table->item(i, 7)->text()).canonicalFilePath() == QFileInfo(run).canonicalFilePath()) row = i;
  QVERIFY(row >= 0);
  table->selectRow(row);
  const QString id = table->item(row, 0)->text();
  auto* overlayLoss = window.runsBrowser()->overlay()->plot("loss");
  overlayLoss->pull();
  QStringList shown = overlayLoss->seriesShown();  // training loss, and evaluation loss as points
  shown.sort();
  QCOMPARE(shown, (QStringList{"#" + id + " fourierft/eval_loss", "#" + id + " fourierft/loss", "#" + id + " head-only/eval_loss",
                               "#" + id + " head-only/loss", "#" + id + " lora/eval_loss", "#" + id + " lora/loss"}));
  for (const auto& series : shown) QVERIFY2(overlayLoss->rawGraph(series)->dataCount() > 0, qPrintable(series));

  // The report: HTML with embedded plots and the run's numbers, and a PDF.
  const auto summary = folder.readSummary().value();
  const double acc = summary["methods"]["fourierft"]["final_metrics"]["accuracy"].get<double>();
  const QString html = QString::fromStdString(tmp_.file("report.html")), pdf = QString::fromStdString(tmp_.file("report.pdf"));
  fw::gui::writeReport(run, html, window.plots(), window.rankView(), window.spectrumView());
  const QString text = QString::fromStdString(fw::readTextFile(html.toStdString()));
  QVERIFY(text.count("data:image/png;base64,") >= 5);
  QVERIFY2(text.contains(QString::number(acc, 'f', 4)), "the report lacks the FourierFT accuracy of summary.json");
  QVERIFY(text.contains(QLocale::c().toString(qlonglong(summary["methods"]["lora"]["trainable_parameters"].get<int64_t>()))));
  fw::gui::writeReport(run, pdf, window.plots(), window.rankView(), window.spectrumView());
  const auto bytes = fw::readTextFile(pdf.toStdString());
  QVERIFY(bytes.rfind("%PDF", 0) == 0);
  QVERIFY(QString::fromLatin1(bytes.data(), int(bytes.size())).count("/Type /Page\n") + QString::fromLatin1(bytes.data(), int(bytes.size())).count("/Type /Page ") >= 1);
  // The trained FourierFT method exported as a PEFT adapter and as a merged checkpoint.
  const QString peftDir = QString::fromStdString(tmp_.file("peft"));
  QVERIFY(window.exportMethod("fourierft", "peft", peftDir));
  auto peft = fw::adapters::readAdapterFolder(tmp_.file("peft"));
  QCOMPARE(peft.layers.size(), size_t(2));
  // The merge runs in a worker: the window handles its events meanwhile (a run beside it keeps
  // plotting), where the export used to hold the GUI thread until it was written.
  // A run is not started meanwhile: the export reads this run's files.
  bool eventsHandled = false, startedDuringExport = true;
  QString statusDuringExport;
  QTimer::singleShot(0, &window, [&] {
    eventsHandled = true;
    window.start();
    startedDuringExport = window.training();
    statusDuringExport = window.findChild<QLabel*>("status")->text();
  });
  QVERIFY(window.exportMethod("fourierft", "merged", QString::fromStdString(tmp_.file("merged"))));
  QVERIFY(eventsHandled);
  QVERIFY(!startedDuringExport);
  QCOMPARE(statusDuringExport, QString("An export is in progress: start when it has finished"));
  QVERIFY(QFile::exists(QString::fromStdString(tmp_.file("merged/model.safetensors"))));
  // A folder that holds an export is refused unless the user agreed to replace its files, as
  // `fourierft export --force`; it keeps the earlier export until then.
  QVERIFY(!window.exportMethod("lora", "peft", peftDir));
  QVERIFY(fw::adapters::readAdapterFolder(tmp_.file("peft")).config.peft_type == fw::adapters::PeftType::FourierFT);
  QVERIFY(window.exportMethod("lora", "peft", peftDir, /*force=*/true));
  QVERIFY(fw::adapters::readAdapterFolder(tmp_.file("peft")).config.peft_type == fw::adapters::PeftType::LoRA);
  // With the base model moved away since the run, an adapter export still works (it reads the
  // adapter alone, the same bytes); a merge says which folder is missing, and nothing is written.
  QVERIFY(window.exportMethod("fourierft", "peft", QString::fromStdString(tmp_.file("peft_before_move"))));
  std::filesystem::rename(tmp_.file("base"), tmp_.file("base_moved"));
  QVERIFY(window.exportMethod("fourierft", "peft", QString::fromStdString(tmp_.file("peft_after_move"))));
  QCOMPARE(fw::readTextFile(tmp_.file("peft_after_move/adapter_model.safetensors")),
           fw::readTextFile(tmp_.file("peft_before_move/adapter_model.safetensors")));
  QVERIFY(!window.exportMethod("fourierft", "merged", QString::fromStdString(tmp_.file("merged_after_move"))));
  QCOMPARE(window.findChild<QLabel*>("status")->text(), QString("Export failed"));
  const QString log = window.findChild<QPlainTextEdit*>("log")->toPlainText();
  QVERIFY2(log.contains("the run's base model is not there (moved or deleted since the run?)"), qPrintable(log.right(600)));
  QVERIFY2(log.contains(QString::fromStdString(tmp_.file("base"))), qPrintable(log.right(600)));
  QVERIFY(!QFile::exists(QString::fromStdString(tmp_.file("merged_after_move/model.safetensors"))));
  std::filesystem::rename(tmp_.file("base_moved"), tmp_.file("base"));
  // Headless, as `fourier-workbench --report RUN` does: into the run folder's report/ (made here).
  const QString headless = fw::gui::defaultReportPath(run);
  QCOMPARE(headless, run + "/report/report.html");
  QVERIFY(!QFile::exists(run + "/report"));
  fw::gui::writeReportHeadless(run, headless);
  QVERIFY(QString::fromStdString(fw::readTextFile(headless.toStdString())).contains(QString::number(acc, 'f', 4)));
  // A layer analysed by randomized SVD is marked as such (its effective rank is of the top k
  // values only), and an unreadable snapshot costs its rows, not the report (it threw).
  fw::analysis::Snapshot big;
  big.method = "lora";
  big.step = 9999999;
  fw::analysis::LayerSnapshot layer;
  layer.name = "big.layer";
  layer.method = "lora";
  layer.shape = {2048, 2048};
  layer.singularValues = {2.0, 1.0};
  layer.effectiveRank = 100.5;
  layer.energy90 = 90;
  layer.energy99 = 120;
  layer.stableRank = 3;
  layer.normRatio = 0.01;
  layer.truncated = true;
  layer.k = 128;
  layer.svd = "randomized";
  big.layers = {layer};
  const std::string analysisDir = folder.analysisDir();
  fw::analysis::writeSnapshot(analysisDir, big);
  fw::test::writeBytes(fw::analysis::snapshotPath(analysisDir, "fourierft", 9999999), "{\"method\": ");
  const QString marked = QString::fromStdString(tmp_.file("marked.html"));
  fw::gui::writeReportHeadless(run, marked);
  const QString markedText = QString::fromStdString(fw::readTextFile(marked.toStdString()));
  QVERIFY2(markedText.contains("<td>100.50*</td>") && markedText.contains("* randomized SVD of the top k singular values"),
           qPrintable(markedText.right(3000)));
  QVERIFY2(markedText.contains("snapshot not readable: ") && markedText.contains(QString::number(acc, 'f', 4)),
           qPrintable(markedText.right(3000)));
}

// Closing the window during a run stops the run, and the window closes once the run has written
// its checkpoint (it was left to the process's destructor, which killed it after 30 s).
void TestMainWindow::closingStopsTheRunFirst() {
  fw::gui::MainWindow window;
  window.show();
  window.form()->setExperiment(smallExperiment(tmp_.file("base"), 480, 20));  // far longer than the test
  window.processesBox()->setValue(1);
  QSignalSpy finished(&window, &fw::gui::MainWindow::runFinished);
  window.start();
  QTRY_VERIFY_WITH_TIMEOUT(window.plots()->store()->count("fourierft/loss") >= 2, 120000);
  QVERIFY(!window.close());  // refused for now: the run stops first
  QVERIFY(window.isVisible() && window.training());
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
  QCOMPARE(finished.at(0).at(1).toString(), QString("stopped"));
  QTRY_VERIFY_WITH_TIMEOUT(!window.isVisible(), 10000);
  auto folder = fw::runs::RunFolder::open(finished.at(0).at(0).toString().toStdString());
  QVERIFY(folder.latestCheckpoint("fourierft").has_value());
}

// Processes > 1: the window starts `fourierft train --nproc 2 --events` and follows it like an
// in-process run: live curves, pause and continue (passed on to both workers), stop with a
// checkpoint, and resume with the run's world size to the same number of steps.
void TestMainWindow::dataParallelRun() {
  qputenv("FW_FOURIERFT", FW_CLI_PATH);
  fw::gui::MainWindow window;
  window.show();
  const json e = {{"schema_version", 1}, {"name", "gui-dp"},
                  {"model", {{"preset", "vit-fmnist"}, {"config", {{"num_hidden_layers", 1}}}}},
                  {"dataset", {{"kind", "idx_images"}, {"train", kImages}, {"eval", kImages}, {"classes", {0, 1}},
                               {"train_limit", 320}, {"eval_limit", 64}}},
                  {"methods", {{{"type", "fourierft"}, {"name", "fourierft"}, {"n_frequency", 50}, {"scaling", 16.0},
                                {"lr", 0.1}, {"target_modules", {"query"}}}}},
                  {"trainable_modules", {"classifier"}}, {"batch_size", 16}, {"epochs", 100},
                  {"eval_every", 500}, {"checkpoint_every", 0}, {"device", "cpu"}, {"seed", 3}};
  window.form()->setExperiment(e);
  window.processesBox()->setValue(2);
  QSignalSpy finished(&window, &fw::gui::MainWindow::runFinished);
  QSignalSpy failed(&window, &fw::gui::MainWindow::runFailed);
  auto* store = window.plots()->store();

  window.start();
  QVERIFY(window.training());
  QTRY_VERIFY_WITH_TIMEOUT(store->count("fourierft/loss") >= 5, 120000);
  QVERIFY(!window.processesBox()->isEnabled());
  window.togglePause();
  const int held = countOnceStill(store, "fourierft/loss");
  QVERIFY2(held < 2000, "the run finished instead of pausing");
  QTest::qWait(1000);
  QCOMPARE(store->count("fourierft/loss"), held);
  window.togglePause();
  QTRY_VERIFY_WITH_TIMEOUT(store->count("fourierft/loss") > held + 5, 30000);
  window.stop();
  QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 1, 60000);
  QCOMPARE(failed.count(), 0);
  QCOMPARE(finished.at(0).at(1).toString(), QString("stopped"));
  auto* bar = window.findChild<QProgressBar*>();
  QVERIFY(bar);
  QVERIFY2(bar->text().startsWith("Stopped at "), qPrintable(bar->text()));
  const QString run = finished.at(0).at(0).toString();
  QCOMPARE(window.currentRun(), run);
  auto folder = fw::runs::RunFolder::open(run.toStdString());
  QCOMPARE(folder.readSummary().value()["world_size"].get<int>(), 2);
  QVERIFY(folder.latestCheckpoint("fourierft").has_value());
  QVERIFY(QFile::exists(run + "/rank-1.log"));

  // Resume takes the run's world size, whatever the box says.
  window.processesBox()->setValue(1);
  window.resumeRun(run);
  QCOMPARE(window.processesBox()->value(), 2);
  QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 2, 180000);
  QCOMPARE(failed.count(), 0);
  QCOMPARE(finished.at(1).at(1).toString(), QString("finished"));
  const auto summary = folder.readSummary().value();
  QCOMPARE(summary["methods"]["fourierft"]["steps"].get<int64_t>(), int64_t(2000));
  QCOMPARE(summary["status"].get<std::string>(), std::string("finished"));
  QCOMPARE(window.processesBox()->value(), 1);  // the user's choice again, for the next new run
  window.plots()->flushNow();
  QCOMPARE(store->count("fourierft/loss"), 2000);
  screenshot(&window, "window_data_parallel");
}

void TestMainWindow::opensFixtureAdapter() {
  const auto adapter = fw::test::sharedPath("fixtures/hf/bert/lora");
  const auto base = fw::test::sharedPath("fixtures/hf/bert/model");
  if (adapter.empty() || base.empty()) QSKIP("../shared/fixtures/hf not found");
  auto r = fw::gui::inspectAdapter(QString::fromStdString(adapter), QString::fromStdString(base));
  QVERIFY2(r.error.isEmpty(), qPrintable(r.error));
  QCOMPARE(r.layers.size(), 4);
  // LoRA r = 4: exactly four singular values of ΔW are not zero.
  for (const auto& l : r.layers) {
    int nonzero = 0;
    for (double s : l.singularValues) nonzero += s > 1e-6 * l.singularValues.front();
    QCOMPARE(nonzero, 4);
  }
  fw::gui::MainWindow window;
  window.resize(1200, 800);
  window.show();
  QSignalSpy shown(&window, &fw::gui::MainWindow::adapterShown);
  window.showInspection(r);
  QCOMPARE(shown.count(), 1);
  QCOMPARE(window.rankView()->layers().size(), 4);
  QVERIFY2(window.rankView()->legendTexts().join(" ").contains("lora"), qPrintable(window.rankView()->legendTexts().join(" ")));
  auto ff = fw::gui::inspectAdapter(QString::fromStdString(fw::test::sharedPath("fixtures/hf/bert/fourierft")), QString::fromStdString(base));
  QVERIFY2(ff.error.isEmpty(), qPrintable(ff.error));
  QCOMPARE(ff.spectrum.u.size(), 48);  // the 48 frequencies marked on the spectrum
  window.showInspection(ff);
  QCOMPARE(window.spectrumView()->frequencyCount(), 48);
  screenshot(window.rankView(), "rank_view");
  screenshot(window.spectrumView(), "spectrum_view");
}

// A fourierft that dies of a signal: the failure names the signal from its crash report (the
// headline), and the stack it printed reaches the log, instead of a bare "fourierft crashed".
void TestMainWindow::crashedRunSaysWhy() {
  const QString fake = QString::fromStdString(tmp_.path()) + "/crashing-fourierft";
  {
    QFile f(fake);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("#!/bin/sh\n"
            "printf '\\nfourierft crashed with SIGSEGV (segmentation fault). This is a bug: please report it\\n' >&2\n"
            "printf 'stack:\\nfourierft(+0x19f379)[0x55ca7d979368]\\n' >&2\n"
            "kill -SEGV $$\n");
  }
  QVERIFY(QFile::setPermissions(fake, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner));
  const QByteArray before = qgetenv("FW_FOURIERFT");
  qputenv("FW_FOURIERFT", fake.toUtf8());
  fw::gui::ProcessRun run;
  QSignalSpy failed(&run, &fw::gui::ProcessRun::failed);
  QSignalSpy log(&run, &fw::gui::ProcessRun::logLine);
  run.start(QString::fromStdString(smallExperiment(tmp_.path() + "/cache").dump()),
            QString::fromStdString(tmp_.path() + "/crash-runs"), {}, {}, 1);
  QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 20000);
  if (before.isEmpty()) qunsetenv("FW_FOURIERFT");
  else qputenv("FW_FOURIERFT", before);
  const QString message = failed.at(0).at(0).toString();
  QVERIFY2(message.startsWith("fourierft crashed with SIGSEGV (segmentation fault)"), qPrintable(message));
  bool stackLogged = false;
  for (const auto& args : log) stackLogged = stackLogged || args.at(0).toString().contains("fourierft(+0x19f379)");
  QVERIFY(stackLogged);
}

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
