#include "util/runtime.h"

#include "util/error.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <thread>

namespace fw {

void configureProcess(char** argv) {
  bool reexec = false;
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    reexec = true;
  }
  if (std::getenv("OPENBLAS_THREAD_TIMEOUT") == nullptr) {
    ::setenv("OPENBLAS_THREAD_TIMEOUT", "18", 1);  // 2^18 cycles, about 0.1 ms, instead of 2^28
    reexec = true;
  }
  if (reexec) {
    ::execv("/proc/self/exe", argv);
    // exec failed (no /proc?): carry on with the settings the runtimes already read.
  }
  // A write past RLIMIT_FSIZE (a quota, a nearly full disk) must fail with EFBIG and a message,
  // not kill the process with SIGXFSZ before it can say which file it was writing.
  std::signal(SIGXFSZ, SIG_IGN);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest; bigger blocks are still mapped
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
}

int configureThreads(int threads) {
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  return at::get_num_threads();
}

bool cudaAvailable() { return torch::cuda::is_available(); }

c10::Device parseDevice(const std::string& name, const std::string& field) {
  if (name == "auto") return cudaAvailable() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (name != "cpu" && name.rfind("cuda", 0) != 0)
    throw Error("unknown device '" + name + "'").field(field).expected("cpu, cuda, cuda:N or auto");
  c10::Device d(c10::kCPU);
  try {
    d = c10::Device(name);
  } catch (const std::exception&) {
    throw Error("unknown device '" + name + "'").field(field).expected("cpu, cuda, cuda:N or auto");
  }
  if (d.is_cuda()) {
    if (!cudaAvailable())
      throw Error("CUDA is not available").field(field).got(name)
          .hint("this LibTorch was built without CUDA or no GPU is visible; use cpu or auto");
    const int64_t index = d.has_index() ? d.index() : 0;
    if (index >= int64_t(torch::cuda::device_count()))
      throw Error("no such CUDA device").field(field).got(name)
          .expected("cuda:0 to cuda:" + std::to_string(torch::cuda::device_count() - 1));
    d = c10::Device(c10::kCUDA, c10::DeviceIndex(index));
  }
  return d;
}

c10::ScalarType parseDtype(const std::string& name, const std::string& field) {
  if (name == "fp32") return c10::kFloat;
  if (name == "bf16") return c10::kBFloat16;
  if (name == "fp16") return c10::kHalf;
  throw Error("unknown dtype '" + name + "'").field(field).expected("fp32, bf16 or fp16");
}

std::string torchVersion() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

double availableMemoryMiB() {
  double mib = -1.0;
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kib = 0;
  std::string unit;
  while (in >> key >> kib) {
    std::getline(in, unit);
    if (key == "MemAvailable:") {
      mib = kib / 1024.0;
      break;
    }
  }
  if (const char* cap = std::getenv("FW_MEMORY_LIMIT_MIB"); cap && *cap) {
    char* end = nullptr;
    const double limit = std::strtod(cap, &end);
    if (end == cap || *end != '\0' || !(limit > 0))
      throw Error("FW_MEMORY_LIMIT_MIB is not a positive number of MiB").got(cap);
    mib = mib > 0 ? std::min(mib, limit) : limit;
  }
  return mib;
}

double peakRssMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

}  // namespace fw
