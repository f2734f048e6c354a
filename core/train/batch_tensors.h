#pragma once
// A data::Batch (plain vectors) as the tensors a model and its loss take.
#include "data/batcher.h"
#include "models/model.h"

namespace fw::train {

struct BatchTensors {
  models::ModelInputs inputs;
  at::Tensor labels;   // [B] int64 (classification)
  at::Tensor targets;  // [B] float (regression)
  at::Tensor lmLabels; // [B, T] int64 with -100 (causal LM)
  int64_t tokens = 0;  // real (unpadded) tokens, for throughput
};

BatchTensors toTensors(const data::Batch& batch, data::TaskKind kind, const c10::Device& device);

}  // namespace fw::train
