// Torch first: analysis and run loading come from core (DESIGN.md traps: Qt's macros after).
#include "adapters/adapter_folder.h"
#include "adapters/inject.h"
#include "analysis/delta_weights.h"
#include "models/checkpoint.h"
#include "analysis/snapshot.h"
#include "runs/run_folder.h"
#include "runs/run_index.h"
#include "train/experiment.h"
#include "train/export_folder.h"
#include "train/run_models.h"
#include "util/error.h"

#include "main_window.h"
#include "spectrum_image.h"

#include "experiment_form.h"
#include "report.h"
#include "runs_browser.h"
#include "widgets/plot_panel.h"
#include "widgets/rank_view.h"
#include "widgets/series_store.h"
#include "widgets/spectrum_view.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDebug>
#include <QDir>
#include <QEventLoop>
#include <QFileDialog>
#include <QFutureWatcher>
#include <QInputDialog>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QProgressDialog>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QToolBar>
#include <QtConcurrent/QtConcurrent>

#include <filesystem>
#include <utility>

namespace fw::gui {

namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }

QString formatDuration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const qint64 t = qRound64(s);
  return t >= 3600 ? QString("%1:%2:%3").arg(t / 3600).arg((t / 60) % 60, 2, 10, QChar('0')).arg(t % 60, 2, 10, QChar('0'))
                   : QString("%1:%2").arg(t / 60).arg(t % 60, 2, 10, QChar('0'));
}

// ΔW of one layer of a run's trained method and its Fourier magnitude, computed off the GUI thread.
struct SpectrumResult {
  QString layer, method, error;
  SpectrumImage spectrum;
};

SpectrumResult computeSpectrum(const QString& runFolder, const QString& method, const QString& layer) {
  SpectrumResult r;
  r.layer = layer;
  r.method = method;
  try {
    auto run = runs::RunFolder::open(runFolder.toStdString());
    auto e = train::Experiment::fromJson(run.readExperiment());
    auto trained = train::loadTrainedModel(run, e, method.toStdString(), at::kCPU);
    auto deltas = analysis::adapterDeltas(*trained.model, {layer.toStdString()});
    if (deltas.empty()) throw Error("no adapted layer named '" + layer.toStdString() + "'");
    r.spectrum = spectrumImageOf(deltas.front());
  } catch (const std::exception& e) {
    r.error = q(e.what());
  }
  return r;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("Fourier Workbench"));
  if (QFile::exists(":/fourier-workbench.svg")) setWindowIcon(QIcon(":/fourier-workbench.svg"));
  const auto data = QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation);
  runsDir_ = QDir(data).filePath("runs");
  indexPath_ = q(runs::defaultIndexPath());

  form_ = new ExperimentForm;
  auto* formScroll = new QScrollArea;
  formScroll->setWidget(form_);
  formScroll->setWidgetResizable(true);
  formScroll->setMinimumWidth(420);

  store_ = new widgets::SeriesStore(this);
  plots_ = new widgets::PlotPanel(store_);
  rank_ = new widgets::RankView(store_);
  spectrum_ = new widgets::SpectrumView;
  runs_ = new RunsBrowser(indexPath_);
  log_ = new QPlainTextEdit;
  log_->setObjectName("log");
  log_->setReadOnly(true);
  log_->setMaximumBlockCount(20000);
  tabs_ = new QTabWidget;
  tabs_->addTab(plots_, tr("Training"));
  tabs_->addTab(rank_, tr("Rank of ΔW"));
  tabs_->addTab(spectrum_, tr("Fourier spectrum of ΔW"));
  tabs_->addTab(runs_, tr("Runs"));
  tabs_->addTab(log_, tr("Log"));

  auto* split = new QSplitter;
  split->addWidget(formScroll);
  split->addWidget(tabs_);
  split->setStretchFactor(1, 1);
  setCentralWidget(split);

  progress_ = new QProgressBar;
  progress_->setMinimumWidth(260);
  progress_->setMaximumWidth(360);
  progress_->setFormat("%p%");
  status_ = new QLabel(tr("Ready"));
  status_->setObjectName("status");
  statusBar()->addWidget(status_, 1);
  statusBar()->addPermanentWidget(progress_);

  train_ = new TrainThread(this);
  processRun_ = new ProcessRun(this);
  active_ = train_->worker();
  connectRun(train_->worker());
  connectRun(processRun_);
  connect(runs_, &RunsBrowser::openRun, this, &MainWindow::showRun);
  connect(runs_, &RunsBrowser::resumeRun, this, &MainWindow::resumeRun);
  connect(rank_, &widgets::RankView::layerChanged, this, &MainWindow::showSpectrumFor);

  analysisTimer_ = new QTimer(this);
  analysisTimer_->setObjectName("analysisTimer");
  analysisTimer_->setInterval(2000);
  connect(analysisTimer_, &QTimer::timeout, this, &MainWindow::pollAnalysis);

  buildActions();
  QSettings settings;
  resize(1400, 900);  // the first time; afterwards the saved geometry
  restoreGeometry(settings.value("MainWindow/geometry").toByteArray());
  restoreState(settings.value("MainWindow/state").toByteArray());
  split->restoreState(settings.value("MainWindow/splitter").toByteArray());
  plots_->setSmoothing(settings.value("Plots/smoothing", 0.6).toDouble());
  connect(split, &QSplitter::splitterMoved, this, [split] { QSettings().setValue("MainWindow/splitter", split->saveState()); });
  setRunning(false);
}

MainWindow::~MainWindow() = default;

void MainWindow::connectRun(TrainEvents* w) {
  connect(w, &TrainEvents::step, this, &MainWindow::onStep);
  connect(w, &TrainEvents::evaluated, this, &MainWindow::onEval);
  connect(w, &TrainEvents::logLine, this, &MainWindow::onLog);
  connect(w, &TrainEvents::started, this, [this](const QString& d) { onLog(tr("started: %1").arg(d)); });
  connect(w, &TrainEvents::runFolder, this, [this](const QString& folder) { currentRun_ = folder; });
  connect(w, &TrainEvents::methodStarted, this, [this](const QString& m, qint64 total, qint64 trainable) {
    onLog(tr("%1: %2 steps, %3 trainable parameters").arg(m).arg(total).arg(trainable));
  });
  connect(w, &TrainEvents::methodFinished, this, [this](const QString& m, const QString& status, const QMap<QString, double>& metrics) {
    QStringList parts;
    for (auto it = metrics.begin(); it != metrics.end(); ++it) parts << QString("%1 %2").arg(it.key()).arg(it.value(), 0, 'f', 4);
    onLog(tr("%1 %2: %3").arg(m, status, parts.join(", ")));
  });
  connect(w, &TrainEvents::finished, this, &MainWindow::onFinished);
  connect(w, &TrainEvents::failed, this, &MainWindow::onFailed);
}

void MainWindow::buildActions() {
  auto* bar = addToolBar(tr("Run"));
  bar->setObjectName("runToolbar");
  auto add = [&](const QString& text, const QKeySequence& key, auto slot) {
    auto* a = new QAction(text, this);
    a->setShortcut(key);
    a->setToolTip(QString("%1 (%2)").arg(text, key.toString(QKeySequence::NativeText)));
    connect(a, &QAction::triggered, this, slot);
    bar->addAction(a);
    return a;
  };
  add(tr("Open experiment…"), QKeySequence::Open, [this] {
    QSettings s;
    const auto path = QFileDialog::getOpenFileName(this, tr("Open experiment"), s.value("Folders/experiments").toString(), tr("Experiments (*.json)"));
    if (path.isEmpty()) return;
    s.setValue("Folders/experiments", QFileInfo(path).absolutePath());
    openExperimentFile(path);
  });
  add(tr("Save experiment…"), QKeySequence::Save, [this] {
    QSettings s;
    const auto path = QFileDialog::getSaveFileName(this, tr("Save experiment"), form_->filePath(), tr("Experiments (*.json)"));
    if (path.isEmpty()) return;
    try {
      form_->saveFile(path);
    } catch (const std::exception& e) {
      showError(tr("Cannot save the experiment"), q(e.what()));
    }
  });
  bar->addSeparator();
  start_ = add(tr("Start"), QKeySequence(Qt::CTRL | Qt::Key_R), [this] { start(); });
  pause_ = add(tr("Pause"), QKeySequence(Qt::CTRL | Qt::Key_P), [this] { togglePause(); });
  stop_ = add(tr("Stop"), QKeySequence(Qt::CTRL | Qt::Key_Period), [this] { stop(); });
  processes_ = new QSpinBox;
  processes_->setObjectName("processes");
  processes_->setRange(1, 64);
  processes_->setPrefix(tr("Processes: "));
  processes_->setValue(QSettings().value("Run/processes", 1).toInt());
  processes_->setToolTip(tr("Data-parallel worker processes (c10d: Gloo on the CPU, one GPU each with CUDA). "
                            "1 trains inside the window; more start `fourierft train --nproc N`, which shares "
                            "the cores among them. The batch size must divide by this number."));
  bar->addWidget(processes_);
  bar->addSeparator();
  export_ = add(tr("Export report…"), QKeySequence(Qt::CTRL | Qt::Key_E), [this] { exportReport(); });
  add(tr("Export adapter…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E), [this] { exportAdapter(); });
  add(tr("Open adapter…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O), [this] { openAdapter(); });
}

bool MainWindow::training() const { return train_->busy(); }

void MainWindow::setRunning(bool running) {
  train_->setBusy(running);
  start_->setEnabled(!running);
  pause_->setEnabled(running);
  stop_->setEnabled(running);
  form_->setEnabled(!running);
  processes_->setEnabled(!running);
  if (!running) {
    pause_->setText(tr("Pause"));
    analysisTimer_->stop();
    // A resume showed its run's world size: the box goes back to what the user had chosen.
    if (processesBeforeResume_ > 0) processes_->setValue(std::exchange(processesBeforeResume_, 0));
  } else {
    progress_->setFormat("%p%");  // until the first step names its method and ETA
  }
}

void MainWindow::showError(const QString& title, const QString& message) {
  onLog(tr("error: %1").arg(message));
  qWarning().noquote() << title + ": " + message;  // also on the terminal the window was started from
  if (QGuiApplication::platformName() != "offscreen") QMessageBox::critical(this, title, message);
}

void MainWindow::openExperimentFile(const QString& path) {
  try {
    form_->loadFile(path);
    onLog(tr("experiment: %1").arg(path));
  } catch (const std::exception& e) {
    showError(tr("Cannot open the experiment"), q(e.what()));
  }
}

void MainWindow::start() {
  if (training()) return;
  if (exporting_) {  // the export reads the current run's files
    status_->setText(tr("An export is in progress: start when it has finished"));
    return;
  }
  nlohmann::json e;
  try {
    e = form_->experiment();
  } catch (const std::exception& err) {
    showError(tr("The experiment is not valid"), q(err.what()));
    return;
  }
  plots_->clear();
  resetAnalysisViews();
  currentRun_.clear();
  setRunning(true);
  status_->setText(tr("Starting…"));
  progress_->setValue(0);
  QSettings().setValue("Run/processes", processes_->value());  // a new run's choice; a resume's is the run's
  methodOrder_.clear();
  for (const auto& m : e["methods"]) methodOrder_ << q(m.value("name", std::string()));
  launch(q(e.dump()), QString(), processes_->value());
}

void MainWindow::launch(const QString& experimentJson, const QString& resumeDir, int processes) {
  closeWhenStopped_ = false;  // a close answered after the last run ended must not close this one
  stopRequested_ = false;
  // Started first: a run that fails at once (ProcessRun::start emits failed before returning)
  // stops it again in onFailed, and it stays stopped.
  analysisTimer_->start();
  if (processes > 1) {
    active_ = processRun_;
    processRun_->start(experimentJson, runsDir_, resumeDir, indexPath_, processes);
  } else {
    active_ = train_->worker();
    train_->worker()->resetForNextRun();
    QMetaObject::invokeMethod(train_->worker(), "run", Qt::QueuedConnection, Q_ARG(QString, experimentJson),
                              Q_ARG(QString, runsDir_), Q_ARG(QString, resumeDir), Q_ARG(QString, indexPath_));
  }
}

void MainWindow::resumeRun(const QString& runFolder) {
  if (training()) {
    status_->setText(tr("A run is in progress: stop it before resuming another"));
    return;
  }
  if (exporting_) {
    status_->setText(tr("An export is in progress: resume when it has finished"));
    return;
  }
  // A data-parallel run resumes with the world size it was trained with (its batches depend on it).
  int processes = 1;
  try {
    auto run = runs::RunFolder::open(runFolder.toStdString());
    if (run.status() == runs::RunStatus::Finished) {
      showError(tr("Nothing to resume"), tr("%1 finished: every method is trained. Open it to see its results, "
                                            "or start a new run.").arg(runFolder));
      return;
    }
    if (auto summary = run.readSummary()) processes = std::max(1, summary->value("world_size", 1));
    methodOrder_.clear();
    for (const auto& m : train::Experiment::fromJson(run.readExperiment(), run.file(runs::run_files::kExperiment)).methods)
      methodOrder_ << q(m.name);
  } catch (const std::exception& e) {  // fw::Error, or world_size of the wrong type (nlohmann)
    showError(tr("Cannot resume the run"), q(e.what()));
    return;
  }
  plots_->clear();
  resetAnalysisViews();  // the run's own snapshots come back with the next poll
  currentRun_ = runFolder;
  loadMetrics(runFolder, /*quiet=*/true);
  processesBeforeResume_ = processes_->value();
  processes_->setValue(processes);
  setRunning(true);
  status_->setText(tr("Resuming %1…").arg(QDir(runFolder).dirName()));
  progress_->setValue(0);
  launch(QString(), runFolder, processes);
}

void MainWindow::togglePause() {
  if (!training()) return;
  active_->setPaused(!active_->paused());
  pause_->setText(active_->paused() ? tr("Continue") : tr("Pause"));
  status_->setText(active_->paused() ? tr("Paused after the step in flight") : tr("Training…"));
}

void MainWindow::stop() {
  if (!training()) return;
  stopRequested_ = true;
  active_->requestStop();  // the loop stops after this step, with a checkpoint
  pause_->setEnabled(false);  // a pause would hold the stop back
  status_->setText(tr("Stopping after this step (a checkpoint is written)…"));
}

void MainWindow::onStep(const StepRow& r) {
  plots_->onStep(r.method, double(r.step), r.loss, r.lr, r.samplesPerSecond, r.memoryMiB);
  progress_->setMaximum(int(std::min<qint64>(r.totalSteps, INT_MAX)));
  progress_->setValue(int(r.step));
  // Which method of how many, and its ETA (the later methods' speed is not known yet).
  const int i = int(methodOrder_.indexOf(r.method));
  const QString which = i >= 0 && methodOrder_.size() > 1
                            ? tr("%1 (%2 of %3)").arg(r.method).arg(i + 1).arg(methodOrder_.size())
                            : r.method;
  // The step in flight when Pause or Stop was pressed still reports: the status keeps saying so.
  const bool paused = active_ && active_->paused();
  const QString state = stopRequested_ ? tr("stopping") : paused ? tr("paused") : tr("ETA %1").arg(formatDuration(r.etaSeconds));
  progress_->setFormat(QString("%1 %p% · %2").arg(which, state));
  const QString step = tr("%1: step %2 of %3, loss %4").arg(r.method).arg(r.step).arg(r.totalSteps).arg(r.loss, 0, 'f', 4);
  if (stopRequested_)
    status_->setText(tr("Stopping after %1 (a checkpoint is written)…").arg(step));
  else if (paused)
    status_->setText(tr("Paused after %1").arg(step));
  else
    status_->setText(tr("%1, %2 samples/s").arg(step).arg(r.samplesPerSecond, 0, 'f', 1));
}

void MainWindow::onEval(const EvalRow& r) {
  auto metrics = r.metrics;
  metrics["loss"] = r.loss;
  plots_->onEval(r.method, double(r.step), metrics);
}

void MainWindow::onLog(const QString& line) { log_->appendPlainText(line); }

void MainWindow::onFinished(const QString& runFolder, const QString& status) {
  currentRun_ = runFolder;
  setRunning(false);
  // The bar says how the run ended, not the last method's "100% · ETA 0:00".
  if (status == "finished") {
    progress_->setValue(progress_->maximum());
    progress_->setFormat(tr("Finished"));
  } else {
    progress_->setFormat(tr("Stopped at %p%"));
  }
  status_->setText(tr("Run %1: %2").arg(status, runFolder));
  onLog(tr("run %1: %2").arg(status, runFolder));
  if (closeWhenStopped_) {  // closing: no analysis or spectrum (it loads the model) to wait for
    emit runFinished(runFolder, status);
    QTimer::singleShot(0, this, &QWidget::close);
    return;
  }
  pollAnalysis();
  // No spectrum is computed while training: the layer shown asks for its own now.
  if (!rank_->layers().isEmpty()) showSpectrumFor(rank_->currentLayer());
  runs_->refresh();
  emit runFinished(runFolder, status);
}

void MainWindow::onFailed(const QString& message) {
  setRunning(false);
  progress_->setFormat(tr("Failed at %p%"));
  status_->setText(tr("Failed"));
  runs_->refresh();
  showError(tr("Training failed"), message);
  emit runFailed(message);
  if (closeWhenStopped_) QTimer::singleShot(0, this, &QWidget::close);
}

void MainWindow::pollAnalysis() {
  if (currentRun_.isEmpty() || adapterShown_) return;  // an opened adapter's views stay until a run replaces them
  std::vector<analysis::SnapshotEntry> entries;
  try {
    entries = analysis::listSnapshots(QDir(currentRun_).filePath("analysis").toStdString());
  } catch (const std::exception&) {
    return;
  }
  if (qint64(entries.size()) == lastSnapshotCount_) return;
  lastSnapshotCount_ = qint64(entries.size());
  // The newest snapshot of each method: singular values per layer.
  std::map<std::string, analysis::SnapshotEntry> newest;
  for (const auto& e : entries)
    if (!newest.count(e.method) || newest[e.method].step < e.step) newest[e.method] = e;
  QStringList layers = rank_->layers();
  for (const auto& [method, entry] : newest) {
    try {
      auto snap = analysis::readSnapshot(entry.path);
      for (const auto& l : snap.layers) {
        if (!layers.contains(q(l.name))) layers << q(l.name);
        rank_->setSingularValues(q(method), q(l.name), QVector<double>(l.singularValues.begin(), l.singularValues.end()),
                                 l.effectiveRank, l.truncated, int(std::min(l.shape[0], l.shape[1])), analysis::roundingFloor(l));
      }
    } catch (const std::exception& e) {
      onLog(tr("analysis: %1").arg(q(e.what())));
    }
  }
  rank_->setLayers(layers);
}

void MainWindow::showSpectrumFor(const QString& layer) {
  // An opened adapter's spectrum is its own (showInspection): never the current run's.
  if (currentRun_.isEmpty() || training() || layer.isEmpty() || adapterShown_) return;
  // One computation at a time (each loads the trained model): a request while one runs waits,
  // replacing any that waited before it, and one for what is being computed is dropped.
  const QString request = QString("%1\n%2\n%3").arg(currentRun_, layer).arg(analysisGeneration_);
  if (!spectrumInFlight_.isEmpty()) {
    spectrumWanted_ = request == spectrumInFlight_ ? QString() : layer;
    return;
  }
  // The FourierFT method of the run (else the first adapter method).
  QString method;
  try {
    auto e = train::Experiment::fromJson(runs::RunFolder::open(currentRun_.toStdString()).readExperiment());
    for (const auto& m : e.methods)
      if (m.type == "fourierft" || (method.isEmpty() && m.type == "lora")) method = q(m.name);
  } catch (const std::exception&) {
    return;
  }
  if (method.isEmpty()) return;
  const quint64 generation = analysisGeneration_;
  const QString run = currentRun_;
  spectrumInFlight_ = request;
  auto* watcher = new QFutureWatcher<SpectrumResult>(this);
  connect(watcher, &QFutureWatcher<SpectrumResult>::finished, this, [this, watcher, generation, run] {
    auto r = watcher->result();
    watcher->deleteLater();
    spectrumInFlight_.clear();
    const QString next = std::exchange(spectrumWanted_, QString());
    if (!next.isEmpty()) showSpectrumFor(next);
    // Computed for views that have moved on (another run, an opened adapter, another layer).
    if (generation != analysisGeneration_ || run != currentRun_ || adapterShown_ || r.layer != rank_->currentLayer()) return;
    if (!r.error.isEmpty()) {
      onLog(tr("spectrum: %1").arg(r.error));
      return;
    }
    spectrum_->setTitle(tr("|FFT2(ΔW)|, %1, %2 (log10)").arg(r.method, r.layer));
    spectrum_->setSpectrum(r.spectrum.d1, r.spectrum.d2, r.spectrum.magnitude);
    spectrum_->setFrequencies(r.spectrum.u, r.spectrum.v);
  });
  watcher->setFuture(QtConcurrent::run(computeSpectrum, currentRun_, method, layer));
}

void MainWindow::showRun(const QString& runFolder) {
  if (training()) {
    status_->setText(tr("A run is in progress: its views stay until it ends"));
    return;
  }
  currentRun_ = runFolder;
  plots_->clear();
  resetAnalysisViews();
  loadMetrics(runFolder);
  pollAnalysis();  // the first layer it adds asks for its spectrum (RankView::layerChanged)
  tabs_->setCurrentWidget(plots_);
  status_->setText(tr("Run: %1").arg(runFolder));
}

void MainWindow::resetAnalysisViews() {
  ++analysisGeneration_;
  spectrumWanted_.clear();
  adapterShown_ = false;
  lastSnapshotCount_ = -1;
  rank_->clear();
  spectrum_->clear();
}

void MainWindow::loadMetrics(const QString& runFolder, bool quiet) {
  QString error;
  if (!plots_->loadMetricsJsonl(QDir(runFolder).filePath("metrics.jsonl"), &error)) {
    if (quiet) onLog(tr("metrics: %1").arg(error));
    else showError(tr("Cannot read the run"), error);
  } else if (!error.isEmpty()) {
    onLog(tr("metrics: skipped damaged lines: %1").arg(error));  // the rest of the run is shown
  }
}

void MainWindow::exportReport() {
  if (currentRun_.isEmpty()) {
    showError(tr("No run to report"), tr("Train, or open a run from the Runs tab, first."));
    return;
  }
  // The run keeps its report in its own folder unless the user picks another place.
  QDir().mkpath(QFileInfo(defaultReportPath(currentRun_)).absolutePath());  // the dialog opens a folder that exists
  const auto path = QFileDialog::getSaveFileName(this, tr("Export report"), defaultReportPath(currentRun_),
                                                 tr("HTML (*.html);;PDF (*.pdf)"));
  if (path.isEmpty()) return;
  try {
    // The views may hold an opened adapter instead of the run: then the report has neither.
    writeReport(currentRun_, path, plots_, adapterShown_ ? nullptr : rank_, adapterShown_ ? nullptr : spectrum_);
    onLog(tr("report: %1").arg(path));
  } catch (const std::exception& e) {
    showError(tr("Cannot write the report"), q(e.what()));
  }
}

void MainWindow::exportAdapter() {
  if (exporting_) return;  // the action clicked again before the progress dialog showed
  if (currentRun_.isEmpty() || training()) {
    showError(tr("No finished run"), tr("Train, or open a run from the Runs tab, first."));
    return;
  }
  QStringList methods;
  try {
    auto e = train::Experiment::fromJson(runs::RunFolder::open(currentRun_.toStdString()).readExperiment());
    for (const auto& m : e.methods) methods << q(m.name) + " (" + q(m.type) + ")";
  } catch (const std::exception& err) {
    showError(tr("Cannot read the run"), q(err.what()));
    return;
  }
  bool ok = false;
  const auto method = QInputDialog::getItem(this, tr("Export adapter"), tr("Method"), methods, 0, false, &ok).section(" (", 0, 0);
  if (!ok) return;
  const auto format = QInputDialog::getItem(this, tr("Export adapter"), tr("Format"),
                                            {tr("PEFT adapter folder"), tr("Native adapter folder"), tr("Merged checkpoint")}, 0, false, &ok);
  if (!ok) return;
  QSettings s;
  const auto folder = QFileDialog::getExistingDirectory(this, tr("Export into folder"), s.value("Folders/exports", QDir::homePath()).toString());
  if (folder.isEmpty()) return;
  s.setValue("Folders/exports", folder);
  const QString kind = format.startsWith("PEFT") ? "peft" : format.startsWith("Native") ? "native" : "merged";
  // As `fourierft export --force`: a folder that holds files is used only when the user agrees.
  bool force = false;
  if (!QDir(folder).isEmpty(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot)) {  // .git too, as core counts it
    const QString files = kind == "merged" ? tr("config.json, model.safetensors and its shards")
                                           : tr("adapter_config.json, adapter_model.safetensors and the native files");
    if (QMessageBox::question(this, tr("Export adapter"),
                              tr("%1 is not empty.\n\nReplace the files an export writes there (%2)? Other files stay.")
                                  .arg(folder, files)) != QMessageBox::Yes)
      return;
    force = true;
  }
  exportMethod(method, kind, folder, force);
}

namespace {

// The export itself, off the GUI thread (a merge of a large model reads, adds and writes
// gigabytes). Returns the error's text, empty when the folder was written.
QString exportWork(const QString& runFolder, const QString& method, const QString& format, const QString& folder,
                   bool force) {
  const bool merged = format == "merged";
  const std::string dir = folder.toStdString();
  try {
    train::checkExportFolder(dir, "export folder", force);
    auto run = runs::RunFolder::open(runFolder.toStdString());
    auto e = train::Experiment::fromJson(run.readExperiment());
    // An adapter export reads only the adapter; the base model is loaded for a merge alone.
    auto trained = merged ? train::loadTrainedModel(run, e, method.toStdString(), at::kCPU)
                          : train::locateTrainedMethod(run, e, method.toStdString());
    if (!merged && trained.method->type != "fourierft" && trained.method->type != "lora")
      throw Error("method '" + method.toStdString() + "' has no adapter").hint("export it as a merged checkpoint");
    // Cleared only now, with everything read: a failure before leaves the folder as it was.
    train::clearExportFolder(dir, "export folder", merged, force);
    if (merged) {
      adapters::mergeAdapters(*trained.model);
      models::saveCheckpointFolder(*trained.model, dir);
    } else {
      adapters::writeAdapterFolder(dir, adapters::readAdapterFolder(trained.source), format == "native");
    }
    return {};
  } catch (const std::exception& err) {  // fw::Error, and LibTorch's or an allocation's failure alike
    return q(err.what());
  }
}

}  // namespace

bool MainWindow::exportMethod(const QString& method, const QString& format, const QString& folder, bool force) {
  status_->setText(tr("Exporting %1 to %2…").arg(method, folder));
  // The window keeps drawing (a run beside it keeps plotting) while a worker exports; meanwhile
  // `exporting_` refuses another export, a start or resume, and defers a close to the end.
  QProgressDialog progress(tr("Exporting %1 (%2) to %3…").arg(method, format, folder), QString(), 0, 0, this);
  progress.setWindowTitle(tr("Export adapter"));
  progress.setWindowModality(Qt::WindowModal);
  QTimer showLater;  // a small adapter is written before the dialog would show
  showLater.setSingleShot(true);
  connect(&showLater, &QTimer::timeout, &progress, &QProgressDialog::show);
  showLater.start(300);
  QFutureWatcher<QString> watcher;
  QEventLoop wait;
  connect(&watcher, &QFutureWatcher<QString>::finished, &wait, &QEventLoop::quit);
  exporting_ = true;
  watcher.setFuture(QtConcurrent::run(exportWork, currentRun_, method, format, folder, force));
  wait.exec();  // the watcher reports "finished" through the event queue, also for work already done
  exporting_ = false;
  showLater.stop();  // not over the error dialog below
  progress.reset();
  const QString error = watcher.result();
  if (error.isEmpty()) {
    onLog(tr("exported %1 (%2) to %3").arg(method, format, folder));
    status_->setText(tr("Exported %1 to %2").arg(method, folder));
  } else {
    status_->setText(tr("Export failed"));
    showError(tr("Cannot export"), error);
  }
  if (closeAfterExport_) QTimer::singleShot(0, this, &QWidget::close);  // closed meanwhile
  return error.isEmpty();
}

void MainWindow::openAdapter() {
  QSettings s;
  const auto dir = QFileDialog::getExistingDirectory(this, tr("Open a PEFT adapter folder"), s.value("Folders/adapters").toString());
  if (dir.isEmpty()) return;
  s.setValue("Folders/adapters", dir);
  const auto base = QFileDialog::getExistingDirectory(this, tr("Its base checkpoint folder"), dir);
  if (base.isEmpty()) return;
  status_->setText(tr("Analysing %1…").arg(dir));
  auto* watcher = new QFutureWatcher<AdapterInspection>(this);
  const quint64 generation = analysisGeneration_;
  connect(watcher, &QFutureWatcher<AdapterInspection>::finished, this, [this, watcher, generation, dir] {
    auto r = watcher->result();
    watcher->deleteLater();
    // A run started or shown since owns the views now.
    if (training() || generation != analysisGeneration_) {
      onLog(tr("adapter %1: analysed after another run took the views; open it again to see it").arg(dir));
      return;
    }
    if (!r.error.isEmpty()) {
      showError(tr("Cannot open the adapter"), r.error);
      return;
    }
    showInspection(r);
  });
  watcher->setFuture(QtConcurrent::run(inspectAdapter, dir, base));
}

void MainWindow::showInspection(const AdapterInspection& r) {
  resetAnalysisViews();
  adapterShown_ = true;  // before the rank view's layerChanged: the run's spectrum must not follow
  QStringList layers;
  for (const auto& l : r.layers) {
    layers << l.name;
    rank_->setSingularValues(r.method, l.name, l.singularValues, l.effectiveRank, l.truncated, l.total, l.floor);
  }
  rank_->setLayers(layers);
  spectrum_->setTitle(tr("|FFT2(ΔW)|, %1, %2 (log10)").arg(r.method, r.spectrumLayer));
  spectrum_->setSpectrum(r.spectrum.d1, r.spectrum.d2, r.spectrum.magnitude);
  spectrum_->setFrequencies(r.spectrum.u, r.spectrum.v);
  status_->setText(tr("Adapter %1 on %2: %3 layers").arg(r.adapter, r.base).arg(r.layers.size()));
  tabs_->setCurrentWidget(rank_);
  emit adapterShown();
}

void MainWindow::closeEvent(QCloseEvent* event) {
  // An export's worker is writing files: the window closes when it is done (exportMethod).
  if (exporting_) {
    closeAfterExport_ = true;
    status_->setText(tr("Closing when the export has finished…"));
    event->ignore();
    return;
  }
  // Closing during a run stops it first and closes once it has written its checkpoint (a run of
  // several processes was killed 30 s after the window went, mid-write on a large model). A
  // second close while it stops may close at once: the last complete checkpoint stays.
  if (training()) {
    const bool ask = QGuiApplication::platformName() != "offscreen";
    if (!closeWhenStopped_) {
      if (ask && QMessageBox::question(this, tr("Close the workbench"),
                                       tr("A run is training. Stop it (it writes a checkpoint that Resume continues) "
                                          "and close when it has stopped?")) != QMessageBox::Yes) {
        event->ignore();
        return;
      }
      // The question runs an event loop: the run may have ended meanwhile, and then nothing
      // would close the window later.
      if (training()) {
        closeWhenStopped_ = true;
        stopRequested_ = true;
        active_->requestStop();
        onLog(tr("stopping the run: the window closes when it has stopped"));
        status_->setText(tr("Stopping; the window closes when the checkpoint is written…"));
        event->ignore();
        return;
      }
    } else if (!ask || QMessageBox::question(this, tr("Close the workbench"),
                                      tr("The run has not stopped yet. Close now? The window goes at once; the "
                                         "program ends when the step in flight is done (a run of several processes "
                                         "is ended within 30 s). Resume continues from its last complete checkpoint.")) != QMessageBox::Yes) {
      event->ignore();
      return;
    }
  }
  analysisTimer_->stop();
  QSettings s;
  s.setValue("MainWindow/geometry", saveGeometry());
  s.setValue("MainWindow/state", saveState());
  s.setValue("Plots/smoothing", plots_->smoothing());
  QMainWindow::closeEvent(event);
}

}  // namespace fw::gui
