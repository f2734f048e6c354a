#pragma once
// Process-wide start-up settings shared by the CLI and the GUI: threads and device choice.
#include <c10/core/Device.h>

#include <string>

namespace fw {

// Sets LibTorch's intra-op threads (Debian's LibTorch uses one unless told). 0: all cores.
int configureThreads(int threads = 0);

// "cpu", "cuda", "cuda:N" or "auto" (CUDA when LibTorch has it and a GPU is present).
// Throws fw::Error naming the field when the device is unknown or unavailable.
c10::Device parseDevice(const std::string& name, const std::string& field = "device");
bool cudaAvailable();

// "1.13.0" style version of the LibTorch this program was built with.
std::string torchVersion();

// Peak resident memory of this process in MiB (getrusage).
double peakRssMiB();

}  // namespace fw
