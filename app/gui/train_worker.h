#pragma once
// Runs an experiment on its own thread and turns the trainer's observer calls into queued Qt
// signals (STYLE.md "Training events reach the GUI without blocking"). No LibTorch in this header:
// widgets include it. Stop is an atomic flag set from the GUI thread directly (a queued slot would
// wait behind the training loop); pause holds the training thread at the next step.
#include <QMap>
#include <QObject>
#include <QString>
#include <QThread>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

namespace fw::gui {

struct StepRow {
  QString method;
  qint64 step = 0, totalSteps = 0;
  double loss = 0, lr = 0, samplesPerSecond = 0, memoryMiB = 0, elapsedSeconds = 0, etaSeconds = 0;
};

struct EvalRow {
  QString method;
  qint64 step = 0;
  double loss = 0;
  QMap<QString, double> metrics;
};

class TrainWorker : public QObject {
  Q_OBJECT
public:
  TrainWorker();
  ~TrainWorker() override;

  // From the GUI thread, any time.
  void requestStop();
  void setPaused(bool paused);
  bool paused() const { return paused_; }

public slots:
  // experimentJson: the resolved experiment; resumeDir: a run folder to continue instead.
  void run(const QString& experimentJson, const QString& runsDir, const QString& resumeDir, const QString& indexPath);

signals:
  void started(const QString& description);
  void methodStarted(const QString& method, qint64 totalSteps, qint64 trainable);
  void step(const fw::gui::StepRow& row);
  void evaluated(const fw::gui::EvalRow& row);
  void logLine(const QString& line);
  void methodFinished(const QString& method, const QString& status, const QMap<QString, double>& metrics);
  void finished(const QString& runFolder, const QString& status);
  void failed(const QString& message);

private:
  friend class WorkerObserver;
  void waitWhilePaused();

  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::mutex pauseMutex_;
  std::condition_variable pauseChanged_;
};

// Owns the thread the worker lives on: quit() and wait() in the destructor, after stopping.
class TrainThread : public QObject {
  Q_OBJECT
public:
  explicit TrainThread(QObject* parent = nullptr);
  ~TrainThread() override;
  TrainWorker* worker() const { return worker_; }
  bool busy() const { return busy_; }
  void setBusy(bool b) { busy_ = b; }

private:
  QThread thread_;
  TrainWorker* worker_;
  bool busy_ = false;
};

void registerMetaTypes();

}  // namespace fw::gui

Q_DECLARE_METATYPE(fw::gui::StepRow)
Q_DECLARE_METATYPE(fw::gui::EvalRow)
