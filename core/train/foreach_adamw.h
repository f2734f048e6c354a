#pragma once
// AdamW whose step updates all parameters of a group with LibTorch's multi-tensor (_foreach_)
// kernels: on a GPU a handful of launches per step instead of about ten per parameter, which is
// what bounds the step of a model with many small adapter tensors (PyTorch's own AdamW does the
// same: foreach=True on CUDA). Same formulas in the same order as torch::optim::AdamW, the same
// per-parameter state, so checkpoints (train_state.cpp) read and write it unchanged; amsgrad falls
// back to the base class.
#include <torch/optim/adamw.h>

namespace fw::train {

class ForeachAdamW : public torch::optim::AdamW {
public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace fw::train
