#pragma once
// The fourierft program run as a user runs it, for the suites that test the command line
// (tst_cli, tst_crash_safety, tst_distributed). Header-only: each of those targets defines
// FW_CLI_PATH, the program it built.
#include <QDir>
#include <QProcess>
#include <QString>
#include <QStringList>

#ifndef FW_CLI_PATH
#error "define FW_CLI_PATH (the fourierft program) for the target that includes cli_process.h"
#endif

namespace fw::test {

struct CliRun {
  int code = -1;  // exit code; -2 when the program crashed; -1 with err "timed out"
  QString out, err;
};

// Runs fourierft with `args` and waits up to `timeoutMs`. With `shellPrefix` (e.g. "ulimit -f 24;")
// a shell runs it first and then execs into fourierft, so a limit it sets applies to fourierft.
inline CliRun runCli(const QStringList& args, int timeoutMs = 120000, const QString& shellPrefix = {}) {
  QProcess p;
  if (shellPrefix.isEmpty()) {
    p.start(FW_CLI_PATH, args);
  } else {
    QStringList quoted;
    for (const auto& a : args) quoted << "'" + a + "'";
    p.start("/bin/sh", {"-c", shellPrefix + " exec '" + QString(FW_CLI_PATH) + "' " + quoted.join(' ')});
  }
  CliRun r;
  if (!p.waitForFinished(timeoutMs)) {
    p.kill();
    p.waitForFinished();
    r.err = "timed out";
    return r;
  }
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
  r.out = QString::fromUtf8(p.readAllStandardOutput());
  r.err = QString::fromUtf8(p.readAllStandardError());
  return r;
}

// The one run folder under `runsDir`, or empty when there is none or more than one.
inline QString onlyRunFolder(const QString& runsDir) {
  const auto dirs = QDir(runsDir).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
  return dirs.size() == 1 ? runsDir + "/" + dirs.first() : QString();
}

}  // namespace fw::test
