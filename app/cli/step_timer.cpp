#include "step_timer.h"

#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

namespace fw::cli {

StepTimes timeSteps(const std::function<void()>& step, const c10::Device& device, int warmup, int steps) {
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  };
  for (int i = 0; i < warmup; ++i) step();
  sync();
  std::vector<double> ms;
  for (int i = 0; i < std::max(1, steps); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    sync();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  auto round2 = [](double v) { return std::round(v * 100.0) / 100.0; };
  return {round2(ms[ms.size() / 2]), round2(ms.front())};
}

}  // namespace fw::cli
