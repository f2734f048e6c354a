#include "process_run.h"

#include "io/atomic_file.h"
#include "train/event_stream.h"
#include "train/experiment.h"
#include "util/error.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

#include <csignal>
#include <utility>

namespace fw::gui {

namespace {

// Remembers the run's end (status and folder) besides passing every call on as signals.
class ProcessObserver : public EventsObserver {
public:
  ProcessObserver(TrainEvents* events, QString* folder, QString* status)
      : EventsObserver(events), folder_(folder), status_(status) {}
  void onRunFolder(const std::string& runFolder) override {
    *folder_ = QString::fromStdString(runFolder);
    EventsObserver::onRunFolder(runFolder);
  }
  void onFinished(const std::string& runFolder, const std::string& status) override {
    *folder_ = QString::fromStdString(runFolder);
    *status_ = QString::fromStdString(status);
  }

private:
  QString* folder_;
  QString* status_;
};

}  // namespace

ProcessRun::ProcessRun(QObject* parent) : TrainEvents(parent) {
  observer_ = std::make_unique<ProcessObserver>(this, &runFolder_, &finalStatus_);
  connect(&process_, &QProcess::readyReadStandardOutput, this, [this] { readEvents(false); });
  connect(&process_, &QProcess::readyReadStandardError, this, [this] { readErrors(false); });
  connect(&process_, &QProcess::finished, this, &ProcessRun::onExit);
  connect(&process_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
    if (e == QProcess::FailedToStart) emit failed(tr("cannot start %1: %2").arg(process_.program(), process_.errorString()));
  });
}

ProcessRun::~ProcessRun() {
  if (!running()) return;
  disconnect(&process_, nullptr, this, nullptr);
  if (!stopSent_) signalRun(SIGTERM);  // now, ready or not: nobody waits for a checkpoint of a run not begun
  if (!process_.waitForFinished(30000)) {
    process_.kill();
    process_.waitForFinished(5000);
  }
}

QString ProcessRun::program() {
  const QString env = qEnvironmentVariable("FW_FOURIERFT");
  if (!env.isEmpty()) return QFileInfo(env).isExecutable() ? env : QString();
  const QDir here(QCoreApplication::applicationDirPath());
  for (const auto& candidate : {here.filePath("fourierft"), here.filePath("../cli/fourierft")})
    if (QFileInfo(candidate).isExecutable()) return QFileInfo(candidate).canonicalFilePath();
  return QStandardPaths::findExecutable("fourierft");
}

void ProcessRun::start(const QString& experimentJson, const QString& runsDir, const QString& resumeDir,
                       const QString& indexPath, int processes) {
  runFolder_ = resumeDir;
  finalStatus_.clear();
  errors_.clear();
  out_.clear();
  err_.clear();
  verdict_.clear();
  paused_ = ready_ = stopSent_ = stopPending_ = false;
  const QString fourierft = program();
  if (fourierft.isEmpty()) {
    emit failed(tr("cannot find the fourierft program (beside this program, in the build tree or on PATH), which "
                   "runs the %1 worker processes; set FW_FOURIERFT to its path").arg(processes));
    return;
  }
  QStringList args{"train"};
  if (resumeDir.isEmpty()) {
    try {
      auto e = train::Experiment::fromJson(nlohmann::json::parse(experimentJson.toStdString()), "the experiment form");
      e.resolvePaths(QDir::currentPath().toStdString());
      tmp_ = std::make_unique<QTemporaryDir>();
      if (!tmp_->isValid())
        throw Error("cannot make a temporary folder for the worker processes' experiment").got(tmp_->errorString().toStdString());
      const QString file = tmp_->filePath("experiment.json");
      io::writeFileAtomic(file.toStdString(), e.toJson().dump(2));  // throws fw::Error naming the file
      args << file;
      emit started(QString::fromStdString(e.name) + tr(" (%1 processes)").arg(processes));
    } catch (const std::exception& err) {
      emit failed(QString::fromStdString(err.what()));
      return;
    }
  } else {
    args << "--resume" << resumeDir;
    emit started(resumeDir + tr(" (%1 processes)").arg(processes));
  }
  args << "--nproc" << QString::number(processes) << "--events" << "--out" << runsDir;
  if (indexPath.isEmpty()) args << "--no-index";
  else args << "--index" << indexPath;
  emit logLine(QString("%1 %2").arg(fourierft, args.join(' ')));
  process_.setWorkingDirectory(QDir::currentPath());
  process_.start(fourierft, args);
}

namespace {
// Appends what came and takes out the complete lines (all of them, with `flush`: at exit).
QList<QByteArray> takeLines(QByteArray& buffer, const QByteArray& more, bool flush) {
  buffer += more;
  QList<QByteArray> lines;
  qsizetype end;
  while ((end = buffer.indexOf('\n')) >= 0) {
    lines << buffer.left(end).trimmed();
    buffer.remove(0, end + 1);
  }
  if (flush && !buffer.isEmpty()) lines << std::exchange(buffer, {}).trimmed();
  return lines;
}
}  // namespace

void ProcessRun::readEvents(bool flush) {
  for (const auto& line : takeLines(out_, process_.readAllStandardOutput(), flush)) {
    if (line.isEmpty()) continue;
    if (!train::replayEvent(line.toStdString(), *observer_)) {
      emit logLine(QString::fromUtf8(line));
      continue;
    }
    if (!ready_) {  // the workers have their signal handlers now: pass on a pause or stop asked for before
      ready_ = true;
      if (stopPending_) {
        stopPending_ = false;
        stopSent_ = true;
        signalRun(SIGTERM);
      } else if (paused_) {
        signalRun(SIGUSR1);
      }
    }
  }
}

void ProcessRun::readErrors(bool flush) {
  for (const auto& bytes : takeLines(err_, process_.readAllStandardError(), flush)) {
    const QString line = QString::fromUtf8(bytes);
    if (line.isEmpty()) continue;
    emit logLine(line);
    if (line.startsWith("error: ")) errors_ += (errors_.isEmpty() ? "" : "\n") + line.mid(7);
    // The headline of fourierft's crash report (app/cli/crash_report.h); its stack is in the log.
    else if (line.startsWith("fourierft crashed with ")) errors_ += (errors_.isEmpty() ? "" : "\n") + line;
    else if (line.startsWith("rank ") && !line.contains(": pid ")) verdict_ = line;  // the launcher's
  }
}

void ProcessRun::onExit(int code, QProcess::ExitStatus status) {
  readEvents(true);
  readErrors(true);
  tmp_.reset();
  if (status == QProcess::NormalExit && code == 0) {
    emit finished(runFolder_, finalStatus_.isEmpty() ? QStringLiteral("finished") : finalStatus_);
  } else if (status == QProcess::NormalExit && code == 130 && errors_.isEmpty()) {
    // fourierft exits 130 when a stop ended the run (a stop during the last step leaves it finished
    // and exits 0); the trainer's own status, when it reported one, is the one to show.
    emit finished(runFolder_, finalStatus_.isEmpty() ? QStringLiteral("stopped") : finalStatus_);
  } else {
    QString message = errors_;
    if (!verdict_.isEmpty()) message += (message.isEmpty() ? "" : "\n") + verdict_;
    if (message.isEmpty())
      message = status == QProcess::CrashExit ? tr("fourierft crashed") : tr("fourierft exited with code %1").arg(code);
    emit failed(message);
  }
}

void ProcessRun::signalRun(int sig) {
  const qint64 pid = process_.processId();
  if (pid > 0) ::kill(pid_t(pid), sig);
}

void ProcessRun::requestStop() {
  if (!running() || stopSent_) return;  // a second SIGTERM would make the workers quit without a checkpoint
  if (!ready_) {  // the workers may not handle SIGTERM yet: it would kill them (exit 143)
    stopPending_ = true;
    return;
  }
  stopSent_ = true;
  signalRun(SIGTERM);
}

void ProcessRun::setPaused(bool paused) {
  paused_ = paused;
  if (ready_ && running()) signalRun(paused ? SIGUSR1 : SIGUSR2);
}

}  // namespace fw::gui
