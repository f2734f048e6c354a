// Torch before Qt: Qt's `slots` macro breaks LibTorch's headers (DESIGN.md, traps).
#include "train/trainer.h"
#include "util/error.h"

#include "train_worker.h"

#include <QMetaType>

namespace fw::gui {

// The trainer's observer on the training thread: every call becomes a queued signal.
class WorkerObserver : public train::TrainObserver {
public:
  explicit WorkerObserver(TrainWorker* w) : w_(w) {}
  void onLog(const std::string& line) override { emit w_->logLine(QString::fromStdString(line)); }
  void onMethodStart(const std::string& method, int64_t totalSteps, int64_t trainable) override {
    emit w_->methodStarted(QString::fromStdString(method), totalSteps, trainable);
  }
  void onStep(const train::StepEvent& e) override {
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
    emit w_->step(r);
    w_->waitWhilePaused();
  }
  void onEval(const train::EvalEvent& e) override {
    EvalRow r;
    r.method = QString::fromStdString(e.method);
    r.step = e.step;
    r.loss = e.loss;
    for (const auto& [k, v] : e.metrics) r.metrics[QString::fromStdString(k)] = v;
    emit w_->evaluated(r);
  }
  void onMethodFinished(const train::MethodResult& r) override {
    QMap<QString, double> m;
    for (const auto& [k, v] : r.finalMetrics) m[QString::fromStdString(k)] = v;
    emit w_->methodFinished(QString::fromStdString(r.method), QString::fromStdString(r.status), m);
  }

private:
  TrainWorker* w_;
};

TrainWorker::TrainWorker() = default;
TrainWorker::~TrainWorker() { requestStop(); }

void TrainWorker::requestStop() {
  stop_ = true;
  setPaused(false);
}

void TrainWorker::setPaused(bool paused) {
  {
    std::lock_guard<std::mutex> lock(pauseMutex_);
    paused_ = paused;
  }
  pauseChanged_.notify_all();
}

void TrainWorker::waitWhilePaused() {
  std::unique_lock<std::mutex> lock(pauseMutex_);
  pauseChanged_.wait(lock, [this] { return !paused_ || stop_; });
}

void TrainWorker::run(const QString& experimentJson, const QString& runsDir, const QString& resumeDir,
                      const QString& indexPath) {
  stop_ = false;
  WorkerObserver observer(this);
  try {
    train::Experiment e;
    if (resumeDir.isEmpty()) e = train::Experiment::fromJson(nlohmann::json::parse(experimentJson.toStdString()), "the experiment form");
    train::TrainerOptions o;
    o.runsDir = runsDir.toStdString();
    o.resumeDir = resumeDir.toStdString();
    o.indexPath = indexPath.toStdString();
    emit started(resumeDir.isEmpty() ? QString::fromStdString(e.name) : resumeDir);
    train::Trainer trainer(e, o, &observer, &stop_);
    const auto folder = trainer.run();
    emit finished(QString::fromStdString(folder), stop_ ? "stopped" : "finished");
  } catch (const Error& err) {
    emit failed(QString::fromStdString(err.what()));
  } catch (const std::exception& err) {
    emit failed(QString::fromStdString(err.what()));
  }
}

TrainThread::TrainThread(QObject* parent) : QObject(parent), worker_(new TrainWorker) {
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  thread_.setObjectName("training");
  thread_.start();
}

TrainThread::~TrainThread() {
  worker_->requestStop();
  thread_.quit();
  thread_.wait();
}

void registerMetaTypes() {
  qRegisterMetaType<StepRow>();
  qRegisterMetaType<EvalRow>();
  qRegisterMetaType<QMap<QString, double>>();
}

}  // namespace fw::gui
