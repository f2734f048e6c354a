// fourier-workbench: the desktop window. `--report RUN --out FILE` writes a run's report with no
// window (offscreen) and exits.
#include "train/experiment.h"
#include "util/error.h"
#include "util/runtime.h"

#include "experiment_form.h"
#include "main_window.h"
#include "report.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFile>
#include <QTimer>

#include <cstdlib>
#include <iostream>

namespace {

bool wantsHeadless(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--report") return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  fw::configureProcess(argv);
  if (wantsHeadless(argc, argv) && !std::getenv("QT_QPA_PLATFORM")) setenv("QT_QPA_PLATFORM", "offscreen", 1);
  QApplication app(argc, argv);
  QApplication::setOrganizationName("fourier-workbench");
  QApplication::setApplicationName("Fourier Workbench");
  QApplication::setApplicationVersion(FW_VERSION);
  fw::gui::registerMetaTypes();
  fw::configureThreads();

  QCommandLineParser cli;
  cli.setApplicationDescription("Fine-tune pretrained models with FourierFT and LoRA, and watch them learn.");
  cli.addHelpOption();
  cli.addVersionOption();
  cli.addPositionalArgument("experiment", "Experiment file to load (default: the default experiment)");
  QCommandLineOption report("report", "Write the report of run folder RUN and exit (no window).", "RUN");
  QCommandLineOption out("out", "Report file (.html or .pdf) for --report (default: RUN/report/report.html).", "FILE");
  QCommandLineOption startNow("start", "Start training the loaded experiment at once.");
  cli.addOptions({report, out, startNow});
  cli.process(app);

  if (cli.isSet(report)) {
    const QString path = cli.isSet(out) ? cli.value(out) : fw::gui::defaultReportPath(cli.value(report));
    try {
      fw::gui::writeReportHeadless(cli.value(report), path);
      std::cout << path.toStdString() << "\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 1;
    }
  }

  fw::gui::MainWindow window;
  const auto args = cli.positionalArguments();
  if (!args.isEmpty()) {
    window.openExperimentFile(args.first());
  } else {
    // The default experiment ships inside the program: its paths are absolute (or ~).
    QFile f(":/experiments/default.json");
    f.open(QIODevice::ReadOnly);
    try {
      auto e = fw::train::Experiment::fromJson(nlohmann::json::parse(f.readAll().toStdString()), "default experiment");
      e.resolvePaths(QDir::homePath().toStdString());
      window.form()->setExperiment(e.toJson());
    } catch (const std::exception& e) {
      std::cerr << "error: the built-in default experiment: " << e.what() << "\n";
    }
  }
  window.show();
  if (cli.isSet(startNow)) QTimer::singleShot(0, &window, &fw::gui::MainWindow::start);
  return app.exec();
}
