#pragma once
// The learning-rate schedule of the paper's scripts (transformers' get_linear_schedule_with_warmup):
// linear warm-up over the first warmup steps, then linear decay to zero at the last step.
#include <algorithm>
#include <cstdint>

namespace fw::train {

inline double linearScheduleFactor(int64_t step, int64_t warmupSteps, int64_t totalSteps) {
  if (step < warmupSteps) return double(step) / double(std::max<int64_t>(1, warmupSteps));
  return std::max(0.0, double(totalSteps - step) / double(std::max<int64_t>(1, totalSteps - warmupSteps)));
}

}  // namespace fw::train
