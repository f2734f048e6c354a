#include "train_events.h"

#include <QMetaType>

namespace fw::gui {

namespace {
QMap<QString, double> qmap(const std::map<std::string, double>& m) {
  QMap<QString, double> out;
  for (const auto& [k, v] : m) out[QString::fromStdString(k)] = v;
  return out;
}
}  // namespace

void EventsObserver::onLog(const std::string& line) { emit e_->logLine(QString::fromStdString(line)); }

void EventsObserver::onMethodStart(const std::string& method, int64_t totalSteps, int64_t trainable) {
  emit e_->methodStarted(QString::fromStdString(method), totalSteps, trainable);
}

void EventsObserver::onStep(const train::StepEvent& e) {
  StepRow r;
  r.method = QString::fromStdString(e.method);
  r.step = e.step;
  r.totalSteps = e.totalSteps;
  r.loss = e.loss;
  r.lr = e.lr;
  r.samplesPerSecond = e.samplesPerSecond;
  r.memoryMiB = e.memoryMiB;
  r.elapsedSeconds = e.elapsedSeconds;
  r.etaSeconds = e.etaSeconds;
  emit e_->step(r);
}

void EventsObserver::onEval(const train::EvalEvent& e) {
  EvalRow r;
  r.method = QString::fromStdString(e.method);
  r.step = e.step;
  r.loss = e.loss;
  r.metrics = qmap(e.metrics);
  emit e_->evaluated(r);
}

void EventsObserver::onMethodFinished(const train::MethodResult& r) {
  emit e_->methodFinished(QString::fromStdString(r.method), QString::fromStdString(r.status), qmap(r.finalMetrics));
}

void EventsObserver::onRunFolder(const std::string& runFolder) { emit e_->runFolder(QString::fromStdString(runFolder)); }

void registerMetaTypes() {
  qRegisterMetaType<StepRow>();
  qRegisterMetaType<EvalRow>();
  qRegisterMetaType<QMap<QString, double>>();
}

}  // namespace fw::gui
