#include "train/losses.h"

namespace fw::train {

at::Tensor classificationLoss(const at::Tensor& logits, const at::Tensor& labels) {
  return at::cross_entropy_loss(logits.to(at::kFloat), labels);
}

at::Tensor regressionLoss(const at::Tensor& logits, const at::Tensor& targets) {
  return at::mse_loss(logits.to(at::kFloat).view({-1}), targets.to(at::kFloat));
}

at::Tensor causalLmLoss(const at::Tensor& logits, const at::Tensor& labels) {
  auto shifted = logits.slice(1, 0, -1).to(at::kFloat);
  auto targets = labels.slice(1, 1);
  return at::cross_entropy_loss(shifted.reshape({-1, shifted.size(-1)}), targets.reshape({-1}), {}, at::Reduction::Mean,
                                /*ignore_index=*/-100);
}

}  // namespace fw::train
