#pragma once
// Memory telemetry for metrics.jsonl: CUDA's caching allocator when training on a GPU (where
// LibTorch has CUDA), the process's resident memory otherwise.
#include <c10/core/Device.h>

namespace fw::train {

struct MemoryReading {
  double currentMiB = 0, peakMiB = 0, reservedMiB = 0;
  bool cuda = false;
};

MemoryReading readMemory(const c10::Device& device);

}  // namespace fw::train
