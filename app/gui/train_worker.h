#pragma once
// Runs an experiment on its own thread and turns the trainer's observer calls into queued Qt
// signals (STYLE.md "Training events reach the GUI without blocking"). No LibTorch in this header:
// widgets include it. Stop and pause are atomic flags set from the GUI thread directly (a queued
// slot would wait behind the training loop); the loop stops, or holds, after the step in flight.
#include "train_events.h"

#include <QString>
#include <QThread>

#include <atomic>

namespace fw::gui {

class TrainWorker : public TrainEvents {
  Q_OBJECT
public:
  TrainWorker();
  ~TrainWorker() override;

  void requestStop() override;
  void setPaused(bool paused) override;
  bool paused() const override { return paused_; }
  // Called on the window's thread before run() is queued: a stop (or a close) pressed before the
  // queued run() starts must not be lost, so run() itself no longer clears the flags.
  void resetForNextRun() {
    stop_ = false;
    paused_ = false;  // a run stopped while paused must not leave the next one paused
  }

public slots:
  // experimentJson: the resolved experiment; resumeDir: a run folder to continue instead.
  void run(const QString& experimentJson, const QString& runsDir, const QString& resumeDir, const QString& indexPath);

private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
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

}  // namespace fw::gui
