#pragma once
// The workbench window: the experiment form on the left; training plots, the rank and spectrum
// views, the runs browser and the log as tabs; a toolbar with start, pause, stop, resume and
// export; a progress bar with ETA. Training runs on TrainThread; the window never waits on it.
#include "adapter_inspection.h"
#include "process_run.h"
#include "train_worker.h"

#include <QMainWindow>

class QAction;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QSpinBox;
class QTabWidget;
class QTimer;

namespace fw::widgets {
class PlotPanel;
class RankView;
class SeriesStore;
class SpectrumView;
}  // namespace fw::widgets

namespace fw::gui {

class ExperimentForm;
class RunsBrowser;

class MainWindow : public QMainWindow {
  Q_OBJECT
public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  void openExperimentFile(const QString& path);
  // Shows a finished (or stopped) run: its curves, rank snapshots and spectrum.
  void showRun(const QString& runFolder);

  ExperimentForm* form() const { return form_; }
  widgets::PlotPanel* plots() const { return plots_; }
  widgets::RankView* rankView() const { return rank_; }
  widgets::SpectrumView* spectrumView() const { return spectrum_; }
  RunsBrowser* runsBrowser() const { return runs_; }
  QString currentRun() const { return currentRun_; }
  bool training() const;
  // Data-parallel worker processes for the next run (1: train inside the window).
  QSpinBox* processesBox() const { return processes_; }

public slots:
  void start();
  void togglePause();
  void stop();
  void resumeRun(const QString& runFolder);
  void exportReport();
  // Writes a trained method of the current run as a PEFT or native adapter, or merged checkpoint.
  void exportAdapter();
  // A folder that is not empty is refused unless `force` (the user agreed to replace the files an
  // export writes there). Returns whether it was written; a failure is an error dialog.
  bool exportMethod(const QString& method, const QString& format, const QString& folder, bool force = false);
  void openAdapter();
  // Shows an analysed adapter in the rank and spectrum views.
  void showInspection(const fw::gui::AdapterInspection& inspection);

signals:
  void runFinished(const QString& runFolder, const QString& status);
  void runFailed(const QString& message);
  void adapterShown();

protected:
  void closeEvent(QCloseEvent* event) override;

private slots:
  void onStep(const fw::gui::StepRow& row);
  void onEval(const fw::gui::EvalRow& row);
  void onLog(const QString& line);
  void onFinished(const QString& runFolder, const QString& status);
  void onFailed(const QString& message);
  void pollAnalysis();
  void showSpectrumFor(const QString& layer);

private:
  void buildActions();
  void connectRun(TrainEvents* run);
  void launch(const QString& experimentJson, const QString& resumeDir, int processes);
  void setRunning(bool running);
  void showError(const QString& title, const QString& message);
  // The rank and spectrum views start over for a new source (a run or an opened adapter): they
  // are cleared, and spectra still being computed for the old one are dropped when they arrive.
  void resetAnalysisViews();
  // Loads a run's metrics.jsonl into the plots; damaged lines are named in the log. A file that
  // cannot be read is an error dialog, or (`quiet`, a resume that goes on anyway) a log line.
  void loadMetrics(const QString& runFolder, bool quiet = false);

  ExperimentForm* form_;
  widgets::SeriesStore* store_;
  widgets::PlotPanel* plots_;
  widgets::RankView* rank_;
  widgets::SpectrumView* spectrum_;
  RunsBrowser* runs_;
  QPlainTextEdit* log_;
  QTabWidget* tabs_;
  QProgressBar* progress_;
  QLabel* status_;
  QTimer* analysisTimer_;
  TrainThread* train_;
  ProcessRun* processRun_;
  TrainEvents* active_;  // the one of the two above that runs (or ran last)
  QSpinBox* processes_;
  QAction *start_, *pause_, *stop_, *export_;
  QString currentRun_;
  QString runsDir_, indexPath_;
  qint64 lastSnapshotCount_ = -1;
  quint64 analysisGeneration_ = 0;  // bumped by resetAnalysisViews; a spectrum result carries its own
  bool adapterShown_ = false;       // the views hold an opened adapter, not the current run
  QString spectrumInFlight_;        // run, layer and generation of the spectrum being computed
  QString spectrumWanted_;          // the layer asked for while it ran, computed next
  QStringList methodOrder_;         // the run's methods in training order: the bar says which of them runs
  bool closeWhenStopped_ = false;   // closed while training: the run stops first, then the window closes
  bool stopRequested_ = false;      // Stop pressed (or a close stopping the run): the status says so until it ends
  int processesBeforeResume_ = 0;   // the box's value before a resume showed the run's world size
  bool exporting_ = false;          // an export's worker runs (exportMethod waits for it)
  bool closeAfterExport_ = false;   // closed during an export: the window closes when it ends
};

}  // namespace fw::gui
