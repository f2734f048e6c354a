#pragma once
// What the window hears from a training run, wherever it runs: on the window's training thread
// (TrainWorker) or in `fourierft train --nproc N --events` child processes (ProcessRun). Both
// emit these signals, so the window follows either the same way. No LibTorch here.
#include "train/observer.h"

#include <QMap>
#include <QObject>
#include <QString>

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

class TrainEvents : public QObject {
  Q_OBJECT
public:
  using QObject::QObject;

  // From the GUI thread, any time: stop (or hold) after the step in flight.
  virtual void requestStop() = 0;
  virtual void setPaused(bool paused) = 0;
  virtual bool paused() const = 0;

signals:
  void started(const QString& description);
  void runFolder(const QString& path);
  void methodStarted(const QString& method, qint64 totalSteps, qint64 trainable);
  void step(const fw::gui::StepRow& row);
  void evaluated(const fw::gui::EvalRow& row);
  void logLine(const QString& line);
  void methodFinished(const QString& method, const QString& status, const QMap<QString, double>& metrics);
  void finished(const QString& runFolder, const QString& status);
  void failed(const QString& message);
};

// The trainer's observer calls as TrainEvents signals (queued when emitted off the GUI thread).
class EventsObserver : public train::TrainObserver {
public:
  explicit EventsObserver(TrainEvents* events) : e_(events) {}
  void onLog(const std::string& line) override;
  void onMethodStart(const std::string& method, int64_t totalSteps, int64_t trainable) override;
  void onStep(const train::StepEvent& e) override;
  void onEval(const train::EvalEvent& e) override;
  void onMethodFinished(const train::MethodResult& r) override;
  void onRunFolder(const std::string& runFolder) override;

private:
  TrainEvents* e_;
};

void registerMetaTypes();

}  // namespace fw::gui

Q_DECLARE_METATYPE(fw::gui::StepRow)
Q_DECLARE_METATYPE(fw::gui::EvalRow)
