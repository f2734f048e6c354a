#pragma once
// Training checkpoints: what a stopped or killed run needs to go on exactly where it was — the
// trainable parameters, AdamW's moments and step counts, the random state (dropout: the CPU's,
// and the CUDA device's when the parameters live there), the step reached and the best metrics
// so far. Files (each written atomically):
//   trainable.safetensors   parameters by name
//   optimizer.safetensors   "<name>.exp_avg", "<name>.exp_avg_sq", "rng.cpu", "rng.cuda" (CUDA only);
//                           in a data-parallel run also "rng.cpu.rank<r>" (and "rng.cuda.rank<r>")
//                           for every rank r >= 1, whose dropout draws differ from rank 0's
//   state.json              step, elapsed seconds, best metrics (finite ones), AdamW step per parameter
#include "io/safetensors.h"
#include "train/method_setup.h"

#include <torch/optim/adamw.h>

#include <map>
#include <string>

namespace fw::train {

struct TrainPosition {
  int64_t step = 0;
  double elapsedSeconds = 0;
  std::map<std::string, double> best;
};

// This process's random states: "rng.cpu", and "rng.cuda" when the trainable parameters live on
// a CUDA device (its generator drives dropout there).
io::NamedTensors randomStates(const PreparedMethod& method);

// `otherRanks`: the other ranks' random states of a data-parallel run, named "rng.cpu.rank<r>".
void saveTrainState(const std::string& dir, const PreparedMethod& method, const torch::optim::AdamW& optimizer,
                    const TrainPosition& position, const io::NamedTensors& otherRanks = {});
// Restores into the model and optimizer (which must hold the same parameters, in the same groups),
// and this rank's random states (rank 0's where a checkpoint has none for `rank`).
TrainPosition loadTrainState(const std::string& dir, PreparedMethod& method, torch::optim::AdamW& optimizer, int rank = 0);

}  // namespace fw::train
