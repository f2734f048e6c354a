#pragma once
// Runs an experiment into a run folder: the base model (made by the pretrain stage when asked,
// and cached), the data, then each method in turn on a fresh copy of the base, each resumable
// from its last checkpoint. The run folder (runs/run_folder.h) is the only record.
#include "distributed/data_parallel.h"
#include "runs/run_folder.h"
#include "train/experiment.h"
#include "train/observer.h"
#include "train/train_loop.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace fw::train {

struct TrainerOptions {
  std::string runsDir;   // parent of new run folders
  std::string resumeDir; // an existing run folder to continue instead
  std::string indexPath; // the SQLite run index ("" = none)
  int threads = 0;
  // Data-parallel worker (worldSize > 1): joins the c10d group; rank 0 writes the run folder.
  dist::WorkerEnv worker;
  std::chrono::milliseconds collectiveTimeout{60000};
  // Called once the run folder is known, with this process's rank (e.g. to send a worker's log there).
  std::function<void(const std::string& runFolder, int rank)> onRunFolder;
  // Held between steps while set (train_loop.h, LoopConfig::pause).
  const std::atomic<bool>* pause = nullptr;
};

class Trainer {
public:
  Trainer(Experiment experiment, TrainerOptions options, TrainObserver* observer, const std::atomic<bool>* stop);
  // Creates (or reopens) the run folder, trains every unfinished method, writes adapters and
  // summary.json. Returns the run folder's path. Throws fw::Error for bad input before training,
  // and after marking the run failed for errors during it.
  std::string run();
  // How run() ended: "finished" or "stopped" (empty before it returns; it throws on a failure).
  const std::string& status() const { return status_; }

  // The base model every method starts from, as a checkpoint folder or a preset name: runs
  // the pretrain stage first when the experiment asks for one and its cache is empty. Returns ""
  // when `stop` ended that stage (nothing is cached).
  static std::string prepareBase(const Experiment& e, TrainObserver* observer, const std::atomic<bool>* stop,
                                 const std::atomic<bool>* pause = nullptr);

private:
  Experiment e_;
  TrainerOptions opts_;
  TrainObserver* observer_;
  const std::atomic<bool>* stop_;
  std::string status_;
};

// Builds a fresh base model for a method (seeded, num_labels from the data, fresh head if asked).
// What can be checked before a run folder is made (the preset's name, the checkpoint, tokenizer
// and dataset paths): a typo would otherwise leave a failed run behind, in the runs folder and
// the index. Throws fw::Error naming the experiment's field.
void checkBeforeRun(const Experiment& e);

std::shared_ptr<models::PretrainedModel> buildBaseModel(const Experiment& e, const std::string& base,
                                                        const data::Dataset& train, const c10::Device& device);

}  // namespace fw::train
