#pragma once
// The training loss of each task, computed in float32 (DESIGN.md: softmax and loss in float32).
// Each is the mean over the labelled entries (label -100, or a NaN regression target, is ignored);
// a batch with no labelled entry gives a zero loss, not NaN.
#include <ATen/ATen.h>

namespace fw::train {

// logits [B, C], labels [B] int64 (-100: unlabelled)
at::Tensor classificationLoss(const at::Tensor& logits, const at::Tensor& labels);
// logits [B, 1], targets [B] float (NaN: unlabelled)
at::Tensor regressionLoss(const at::Tensor& logits, const at::Tensor& targets);
// logits [B, T, V], labels [B, T] with -100 where masked; token t predicts label t+1.
at::Tensor causalLmLoss(const at::Tensor& logits, const at::Tensor& labels);

// How many entries each loss above averages over (its divisor before the clamp to 1).
// Data-parallel training weights each rank's loss by its share of the step's entries, so that
// the step's loss is the mean over all ranks' entries, as one process computes it.
int64_t classificationCount(const at::Tensor& labels);
int64_t regressionCount(const at::Tensor& targets);
int64_t causalLmCount(const at::Tensor& labels);

}  // namespace fw::train
