#pragma once
// A data-parallel run started from the window: `fourierft train --nproc N --events` as a child
// process (DESIGN.md "Scale-out": c10d needs one process per rank, and the window must not be
// one of them). Its JSON event lines become the same signals as an in-process run; its standard
// error goes to the log. Stop is SIGTERM (every rank stops after its step, with a checkpoint),
// pause SIGUSR1 and continue SIGUSR2, which the launcher passes on to the workers. Both wait
// until the workers report their first event (before it, their handlers may not be installed
// and a SIGTERM would kill them: exit 143).
#include "train_events.h"

#include <QProcess>
#include <QString>
#include <QTemporaryDir>

#include <memory>

namespace fw::gui {

class ProcessRun : public TrainEvents {
  Q_OBJECT
public:
  explicit ProcessRun(QObject* parent = nullptr);
  ~ProcessRun() override;  // stops a run still going and waits for it (30 s, then kills it)

  // experimentJson: the form's experiment (its relative paths are resolved against the current
  // folder, as the in-process run does); or resumeDir: a run folder to continue.
  void start(const QString& experimentJson, const QString& runsDir, const QString& resumeDir,
             const QString& indexPath, int processes);
  bool running() const { return process_.state() != QProcess::NotRunning; }

  void requestStop() override;
  void setPaused(bool paused) override;
  bool paused() const override { return paused_; }

  // The fourierft program: $FW_FOURIERFT, else beside this program (installed), else the build
  // tree's app/cli, else PATH. Empty when none is found.
  static QString program();

private:
  void readEvents(bool flush);
  void readErrors(bool flush);
  void onExit(int code, QProcess::ExitStatus status);
  void signalRun(int sig);

  QProcess process_;
  std::unique_ptr<QTemporaryDir> tmp_;  // the experiment file handed to the child
  std::unique_ptr<train::TrainObserver> observer_;
  QByteArray out_, err_;  // partial lines
  QString runFolder_, finalStatus_, errors_, verdict_;
  bool paused_ = false, ready_ = false, stopSent_ = false;
  bool stopPending_ = false;  // asked for before the workers could take it: sent once they are ready
};

}  // namespace fw::gui
