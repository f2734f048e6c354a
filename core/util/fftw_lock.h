#pragma once
// FFTW's planner is not thread-safe (executing a plan is): every fftwf_plan_* and
// fftwf_destroy_plan in the process holds this one mutex (the adapters' spectral kernels and
// the analysis spectra both plan).
#include <mutex>

namespace fw {

std::mutex& fftwPlannerMutex();

}  // namespace fw
