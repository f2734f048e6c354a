// fourierft train / runs: run an experiment file into a run folder with a progress line,
// Ctrl-C ending it cleanly with a checkpoint; list the runs of the index.
#include "commands.h"
#include "util/path_checks.h"
#include "launcher.h"
#include "progress_printer.h"
#include "runs/run_index.h"
#include "runs/run_table.h"
#include "distributed/data_parallel.h"
#include "train/event_stream.h"
#include "train/trainer.h"
#include "util/error.h"

#include <atomic>
#include <cstdio>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace fw::cli {

namespace {

std::atomic<bool> gStop{false};
std::atomic<bool> gPause{false};  // SIGUSR1 pauses after the step in flight, SIGUSR2 continues

void onPauseSignal(int sig) { gPause = sig == SIGUSR1; }

void onSigint(int) {
  if (gStop.exchange(true)) std::_Exit(130);  // a second Ctrl-C: leave at once
  const char msg[] = "\nstopping after this step (a checkpoint is written); Ctrl-C again to quit now\n";
  [[maybe_unused]] auto n = write(2, msg, sizeof msg - 1);
}

std::string defaultRunsDir() {
  const char* env = std::getenv("FW_RUNS_DIR");
  return env && *env ? env : "runs";
}

}  // namespace

std::string runSummaryTable(const runs::RunFolder& run) {
  const auto summary = run.readSummary().value_or(nlohmann::json::object());
  const auto methods = summary.value("methods", nlohmann::json::object());  // a local: items() must not outlive it
  std::ostringstream o;
  o << std::left << std::setw(18) << "method" << std::setw(11) << "type" << std::right << std::setw(11) << "trainable"
    << std::setw(9) << "steps" << std::setw(9) << "time";
  std::vector<std::string> keys;
  for (const auto& [name, m] : methods.items()) {
    const auto metrics = m.value("final_metrics", nlohmann::json::object());
    for (const auto& [k, v] : metrics.items())
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  }
  for (const auto& k : keys) o << std::setw(14) << k;
  o << "\n";
  for (const auto& [name, m] : methods.items()) {
    o << std::left << std::setw(18) << name << std::setw(11) << m.value("type", "") << std::right << std::setw(11)
      << m.value("trainable_parameters", int64_t(0)) << std::setw(9) << m.value("steps", int64_t(0)) << std::setw(9)
      << formatDuration(m.value("seconds", 0.0));
    for (const auto& k : keys) {
      const auto metrics = m.value("final_metrics", nlohmann::json::object());
      const auto v = metrics.value(k, nlohmann::json());
      std::ostringstream cell;
      if (v.is_number()) cell << std::fixed << std::setprecision(4) << v.get<double>();
      else cell << "-";
      o << std::setw(14) << cell.str();
    }
    o << "  " << m.value("status", "") << "\n";
  }
  return o.str();
}

void addTrainCommands(CLI::App& app) {
  struct Args {
    std::string experiment, out = defaultRunsDir(), resume, index = runs::defaultIndexPath();
    std::vector<std::string> sets;
    int threads = 0;
    bool noIndex = false, events = false;
    LaunchOptions launch;
  };
  auto a = std::make_shared<Args>();
  auto* train = app.add_subcommand("train", "Run an experiment file (or resume a run) into a run folder");
  train->footer("Ctrl-C stops after the step in flight and writes a checkpoint (--resume continues it); "
                "kill -USR1 pauses after the step in flight, kill -USR2 continues (every worker of --nproc).");
  train->add_option("EXPERIMENT", a->experiment, "Experiment JSON (experiments/default.json is the default experiment)");
  train->add_option("--set", a->sets, "Override a field: --set methods.0.lr=0.1 --set epochs=2 (repeatable)");
  train->add_option("--out", a->out, "Folder for new run folders ($FW_RUNS_DIR, else ./runs)")->capture_default_str();
  train->add_option("--resume", a->resume, "Continue a stopped or killed run folder from its last checkpoints");
  train->add_option("--index", a->index, "Run index (SQLite)")->capture_default_str();
  train->add_flag("--no-index", a->noIndex, "Do not record the run in the index");
  train->add_flag("--events", a->events,
                  "Print the run's events as JSON lines on standard output instead of a progress line "
                  "(for a program that follows the run, as the workbench window does)");
  train->add_option("--threads", a->threads, "CPU threads (0: all cores; with --nproc, the cores divided among the workers)")
      ->check(CLI::Range(0, kMaxThreads));
  train->add_option("--nproc", a->launch.nproc, "Data-parallel worker processes on this machine (c10d, Gloo on CPU)")
      ->capture_default_str();
  train->add_option("--nnodes", a->launch.nnodes, "Machines taking part (each runs --nproc workers)")->capture_default_str();
  train->add_option("--node-rank", a->launch.nodeRank, "This machine's index among --nnodes")->capture_default_str();
  train->add_option("--master", a->launch.master, "ADDR:PORT of rank 0's rendezvous (default: 127.0.0.1, a free port)");
  train->add_option("--timeout", a->launch.timeoutSeconds,
                    "Seconds a worker waits for the others before it stops with an error")
      ->capture_default_str();
  train->callback([a] {
    checkLaunchOptions(a->launch);  // also when they start no workers: a bad value is never ignored
    if (!a->experiment.empty())
      checkNotAFolder(a->experiment, "EXPERIMENT", "an experiment file", "give its .json file, such as experiments/default.json");
    if (!a->resume.empty()) checkNotAFile(a->resume, "--resume", "the run folder");
    if (a->experiment.empty() == a->resume.empty())
      throw Error("give an experiment file or --resume RUN_FOLDER (one of them)").field("EXPERIMENT");
    if (!a->resume.empty() && !a->sets.empty())
      throw Error("--set cannot change a run being resumed").field("--set").hint("start a new run instead");
    if (!isWorker() && (a->launch.nproc > 1 || a->launch.nnodes > 1)) {
      // A bad experiment or run folder is told once, here, not by each of the workers.
      if (!a->experiment.empty()) train::checkBeforeRun(train::loadExperiment(a->experiment, a->sets));
      else runs::RunFolder::open(a->resume).readExperiment();
      // Rank 0 alone opens the index: an unusable --index would stop it, and the other workers
      // would only report that rank 0 went away. Opened (made, migrated) here first, on its machine.
      if (!a->noIndex && a->launch.nodeRank == 0) (void)runs::RunIndex::open(a->index);
      a->launch.threadsPerWorker = a->threads;
      std::exit(launchWorkers(a->launch));
    }
    train::Experiment e;
    if (!a->experiment.empty()) e = train::loadExperiment(a->experiment, a->sets);
    train::TrainerOptions o;
    o.runsDir = train::resolvePath(a->out, ".");
    o.resumeDir = a->resume;
    o.indexPath = a->noIndex ? "" : a->index;
    o.threads = a->threads;
    o.worker = dist::workerEnvFromEnvironment();
    // --threads 0 (all cores) in each of several workers on one machine (torchrun passes the
    // arguments as they are) would oversubscribe the cores: each takes its share.
    if (o.threads <= 0 && o.worker.localWorldSize > 1)
      o.threads = coresPerWorker(o.worker.localWorldSize);
    o.collectiveTimeout = std::chrono::milliseconds(int64_t(a->launch.timeoutSeconds * 1000));
    const bool lead = o.worker.rank == 0;
    // The other ranks write their progress and errors to rank-K.log in the run folder.
    o.onRunFolder = [](const std::string& folder, int rank) {
      if (rank == 0) return;
      const auto log = folder + "/rank-" + std::to_string(rank) + ".log";
      if (!std::freopen(log.c_str(), "a", stderr)) throw Error("cannot write the worker log").file(log);
    };
    o.pause = &gPause;
    ProgressPrinter printer;
    train::EventWriter events(stdout);
    train::TrainObserver* observer = a->events ? static_cast<train::TrainObserver*>(&events) : &printer;
    std::signal(SIGINT, onSigint);
    std::signal(SIGTERM, onSigint);
    std::signal(SIGUSR1, onPauseSignal);
    std::signal(SIGUSR2, onPauseSignal);
    train::Trainer trainer(e, o, lead ? observer : nullptr, &gStop);
    const auto folder = trainer.run();
    if (lead && !a->events) std::cout << runSummaryTable(runs::RunFolder::open(folder)) << folder << "\n";
    // 130 for a run that a stop ended; a stop asked for during its last step leaves it finished (0).
    if (trainer.status() != "finished") std::exit(130);
  });

  struct RunsArgs {
    std::string index = runs::defaultIndexPath(), filter, status;
    int limit = 50;
  };
  auto r = std::make_shared<RunsArgs>();
  auto* list = app.add_subcommand("runs", "List the runs in the index");
  list->add_option("--index", r->index, "Run index (SQLite)")->capture_default_str();
  list->add_option("--filter", r->filter, "Text to look for in name, model, dataset or methods");
  list->add_option("--status", r->status, "Only runs with this status (created, running, finished, failed, stopped, interrupted)");
  list->add_option("--limit", r->limit, "At most this many runs")->capture_default_str();
  list->callback([r, list] {
    runs::RunFilter f;
    f.text = r->filter;
    f.limit = r->limit;
    if (!r->status.empty()) {
      f.status = runs::parseStatus(r->status);
      if (!f.status) throw Error("unknown status '" + r->status + "'").field("--status").expected(runs::allStatusNames());
    }
    // Listing never makes an index: a mistyped --index would otherwise leave an empty one there.
    if (!std::filesystem::exists(r->index)) {
      if (list->count("--index") > 0)
        throw Error("no run index here").file(r->index).hint("check the path; fourierft train --index PATH makes one");
      std::cout << "no runs yet (" << r->index << " does not exist; fourierft train makes it)\n";
      return;
    }
    auto index = runs::RunIndex::open(r->index);
    index.reconcile();
    std::cout << runs::formatRunTable(index.list(f));
  });
}

}  // namespace fw::cli
