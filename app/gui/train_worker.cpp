// Torch before Qt: Qt's `slots` macro breaks LibTorch's headers (DESIGN.md, traps).
#include "train/trainer.h"
#include "util/error.h"

#include "train_worker.h"

namespace fw::gui {

namespace {

// Passes every call on as signals and keeps the status the trainer ended the run with (the one
// it writes to summary.json): a stop pressed during the last step leaves a finished run finished.
class StatusObserver : public EventsObserver {
public:
  using EventsObserver::EventsObserver;
  void onFinished(const std::string& runFolder, const std::string& status) override {
    status_ = status;
    EventsObserver::onFinished(runFolder, status);
  }
  const std::string& status() const { return status_; }

private:
  std::string status_;
};

}  // namespace

TrainWorker::TrainWorker() = default;
TrainWorker::~TrainWorker() { requestStop(); }

void TrainWorker::requestStop() { stop_ = true; }

void TrainWorker::setPaused(bool paused) { paused_ = paused; }

void TrainWorker::run(const QString& experimentJson, const QString& runsDir, const QString& resumeDir,
                      const QString& indexPath) {
  StatusObserver observer(this);
  try {
    train::Experiment e;
    if (resumeDir.isEmpty()) e = train::Experiment::fromJson(nlohmann::json::parse(experimentJson.toStdString()), "the experiment form");
    train::TrainerOptions o;
    o.runsDir = runsDir.toStdString();
    o.resumeDir = resumeDir.toStdString();
    o.indexPath = indexPath.toStdString();
    o.pause = &paused_;
    emit started(resumeDir.isEmpty() ? QString::fromStdString(e.name) : resumeDir);
    train::Trainer trainer(e, o, &observer, &stop_);
    const auto folder = trainer.run();
    const std::string status = !observer.status().empty() ? observer.status() : stop_ ? "stopped" : "finished";
    emit finished(QString::fromStdString(folder), QString::fromStdString(status));
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

}  // namespace fw::gui
