#include "train/memory.h"

#include "util/runtime.h"

#include <fstream>
#include <unistd.h>

namespace fw::train {

MemoryReading readMemory(const c10::Device& device) {
  MemoryReading m;
  // CUDA allocator statistics come with the GPU issue; on the CPU: /proc/self/statm's resident pages.
  (void)device;
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  if (statm >> pages >> resident) m.currentMiB = double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
  m.peakMiB = peakRssMiB();
  return m;
}

}  // namespace fw::train
