#include "util/fftw_lock.h"

namespace fw {

std::mutex& fftwPlannerMutex() {
  static std::mutex m;
  return m;
}

}  // namespace fw
