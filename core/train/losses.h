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

}  // namespace fw::train
