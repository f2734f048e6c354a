#pragma once
// Times training steps the way ../shared/bench/peft_cpu_anchor.py does, for the bench commands:
// `warmup` untimed steps, then `steps` timed ones (at least one), the device synchronised after
// each so that CUDA's asynchronous work is inside the time.
#include <c10/core/Device.h>

#include <functional>

namespace fw::cli {

struct StepTimes {
  double medianMs = 0, minMs = 0;  // rounded to 0.01 ms, as the anchor prints them
};

StepTimes timeSteps(const std::function<void()>& step, const c10::Device& device, int warmup, int steps);

}  // namespace fw::cli
