#include "train/memory.h"

#include "util/runtime.h"

#include <fstream>
#include <unistd.h>

// Only CUDA builds of LibTorch can report the caching allocator (FW_WITH_CUDA, set by CMake when
// Torch brings CUDA); Debian's CPU build ships the header but not the CUDA toolkit behind it.
#if defined(FW_WITH_CUDA)
#include <c10/cuda/CUDACachingAllocator.h>
#define FW_CUDA_ALLOCATOR_STATS 1
#endif

namespace fw::train {

MemoryReading readMemory(const c10::Device& device) {
  MemoryReading m;
  constexpr double kMiB = 1024.0 * 1024.0;
#ifdef FW_CUDA_ALLOCATOR_STATS
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    constexpr size_t aggregate = 0;  // StatType::AGGREGATE
    m.currentMiB = double(stats.allocated_bytes[aggregate].current) / kMiB;
    m.peakMiB = double(stats.allocated_bytes[aggregate].peak) / kMiB;
    m.reservedMiB = double(stats.reserved_bytes[aggregate].current) / kMiB;
    m.cuda = true;
    return m;
  }
#else
  (void)device;
#endif
  // The process's resident memory: /proc/self/statm's second field, in pages.
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  if (statm >> pages >> resident) m.currentMiB = double(resident) * double(sysconf(_SC_PAGESIZE)) / kMiB;
  m.peakMiB = peakRssMiB();
  return m;
}

}  // namespace fw::train
