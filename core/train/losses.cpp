#include "train/losses.h"

namespace fw::train {

namespace {

// The mean over the `counted` entries of a summed loss. A batch with none counted (every row
// unlabelled) gives a zero loss that still backpropagates (zero gradients), never NaN: torch's
// mean reduction divides by zero there.
at::Tensor meanOver(const at::Tensor& summed, const at::Tensor& counted) {
  return summed / counted.sum().clamp_min(1).to(summed.scalar_type());
}

// The entries each loss counts: one definition for the loss and for classificationCount etc.
at::Tensor labelledClasses(const at::Tensor& labels) { return labels.ne(-100); }
at::Tensor labelledTargets(const at::Tensor& targets) { return targets.isnan().logical_not(); }
// Token t predicts label t+1: the first label of each row is never a target.
at::Tensor nextTokenLabels(const at::Tensor& labels) { return labels.slice(1, 1).reshape({-1}); }

}  // namespace

at::Tensor classificationLoss(const at::Tensor& logits, const at::Tensor& labels) {
  auto sum = at::cross_entropy_loss(logits.to(at::kFloat), labels, {}, at::Reduction::Sum, /*ignore_index=*/-100);
  return meanOver(sum, labelledClasses(labels));
}

at::Tensor regressionLoss(const at::Tensor& logits, const at::Tensor& targets) {
  auto predicted = logits.to(at::kFloat).view({-1});
  auto y = targets.to(at::kFloat);
  auto labelled = labelledTargets(y);
  // where(), not a product with the mask: the unlabelled rows' NaN (or an infinite prediction)
  // reaches neither the loss nor the gradients.
  auto error = at::where(labelled, predicted - y.nan_to_num(0.0), at::zeros_like(predicted));
  return meanOver(error.square().sum(), labelled);
}

at::Tensor causalLmLoss(const at::Tensor& logits, const at::Tensor& labels) {
  auto shifted = logits.slice(1, 0, -1).to(at::kFloat);
  auto targets = nextTokenLabels(labels);
  auto sum = at::cross_entropy_loss(shifted.reshape({-1, shifted.size(-1)}), targets, {}, at::Reduction::Sum,
                                    /*ignore_index=*/-100);
  return meanOver(sum, labelledClasses(targets));
}

int64_t classificationCount(const at::Tensor& labels) { return labelledClasses(labels).sum().item<int64_t>(); }
int64_t regressionCount(const at::Tensor& targets) { return labelledTargets(targets).sum().item<int64_t>(); }
int64_t causalLmCount(const at::Tensor& labels) { return labelledClasses(nextTokenLabels(labels)).sum().item<int64_t>(); }

}  // namespace fw::train
