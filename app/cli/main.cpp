// fourierft: the headless command line of Fourier Workbench.
#include "commands.h"
#include "crash_report.h"
#include "util/error.h"
#include "util/runtime.h"

#include <c10/util/Exception.h>

#include <cstdlib>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  fw::configureProcess(argv);
  fw::cli::installCrashReport();
  CLI::App app{"fourierft: fine-tune pretrained models with FourierFT and LoRA (Fourier Workbench)"};
  app.set_version_flag("--version", std::string("fourierft ") + FW_VERSION + " (LibTorch " + fw::torchVersion() +
                                        (fw::cudaAvailable() ? ", CUDA" : ", CPU") + ")");
  app.require_subcommand(1);
  app.footer("Run 'fourierft COMMAND --help' for a command's options.");
  fw::cli::addAdapterCommands(app);
  fw::cli::addBenchLayerCommand(app);
  fw::cli::addSelftestCommand(app);
  fw::cli::addForwardCommand(app);
  fw::cli::addTokenizeCommand(app);
  fw::cli::addTrainCommands(app);
  fw::cli::addRunToolCommands(app);
  fw::cli::addAnalyzeCommand(app);
  fw::cli::addBenchModelCommand(app);
  // CLI11 only says "a subcommand is required" for a mistyped command: name it and the choices.
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    std::string verbs;
    for (const auto* sub : app.get_subcommands({})) {
      known = known || sub->get_name() == argv[1];
      verbs += (verbs.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      std::cerr << "error: unknown command '" << argv[1] << "' (commands: " << verbs << "; see fourierft --help)\n";
      return 2;  // a usage error, as a mistyped option
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a mistyped option or argument exits 2, as getopt tools do
    // (CLI11's own codes are 105 to 109), other errors 1.
    const int code = app.exit(e);
    // "train e.json --epochs 2": CLI11 only lists the words it did not expect.
    if (dynamic_cast<const CLI::ExtrasError*>(&e) && std::string(argv[1]) == "train")
      std::cerr << "Experiment fields are set with --set FIELD=VALUE, e.g. --set epochs=2\n";
    return code == 0 ? 0 : 2;
  } catch (const fw::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    // LibTorch's own switch for C++ stack traces: a bug report then says where the error arose.
    const char* trace = std::getenv("TORCH_SHOW_CPP_STACKTRACES");
    const bool withTrace = trace && std::string(trace) == "1";
    std::cerr << "error: LibTorch: " << (withTrace ? e.what() : e.what_without_backtrace()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
