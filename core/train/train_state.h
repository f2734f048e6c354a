#pragma once
// Training checkpoints: what a stopped or killed run needs to go on exactly where it was — the
// trainable parameters, AdamW's moments and step counts, the random state (dropout: the CPU's,
// and the CUDA device's when the parameters live there), the step reached and the best metrics
// so far. Files (each written atomically):
//   trainable.safetensors   parameters by name
//   optimizer.safetensors   "<name>.exp_avg", "<name>.exp_avg_sq", "rng.cpu", "rng.cuda" (CUDA only)
//   state.json              step, elapsed seconds, best metrics (finite ones), AdamW step per parameter
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

void saveTrainState(const std::string& dir, const PreparedMethod& method, const torch::optim::AdamW& optimizer,
                    const TrainPosition& position);
// Restores into the model and optimizer (which must hold the same parameters, in the same groups).
TrainPosition loadTrainState(const std::string& dir, PreparedMethod& method, torch::optim::AdamW& optimizer);

}  // namespace fw::train
