#pragma once
// Process-wide start-up settings shared by the CLI and the GUI: threads and device choice.
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace fw {

// Call first in main(); measured on the 2-core machine here (README, "CPU settings"):
// - LibTorch's OpenMP threads spin while they wait, and OpenBLAS's own threads then fight them
//   for the cores: a 768x768 layer step took 20 ms instead of 8, a small ViT trained 2.3 times
//   slower. GNU OpenMP reads OMP_WAIT_POLICY only when it loads, so when the variable is unset
//   this sets it to PASSIVE and re-executes the program once (a user's own setting is kept).
// - Likewise OpenBLAS's idle threads yield-spin for 2^28 cycles (0.1 s) after every call, so
//   between matmuls they hold the core the FFT kernel's threads need: OPENBLAS_THREAD_TIMEOUT=18
//   (about 0.1 ms) took the 768x768 FourierFT step from 11.7 to 9.7 ms and no case slower
//   (docs/performance.md).
// - glibc returns freed activations to the kernel and faults them back in at every step; a
//   high mmap and trim threshold keeps them in the heap (about 20 % off a training step).
// - SIGXFSZ is ignored, so a write over the file size limit fails with an error naming the file.
void configureProcess(char** argv);

// Sets LibTorch's intra-op threads (Debian's LibTorch uses one unless told). 0: all cores.
int configureThreads(int threads = 0);

// "cpu", "cuda", "cuda:N" or "auto" (CUDA when LibTorch has it and a GPU is present).
// Throws fw::Error naming the field when the device is unknown or unavailable.
c10::Device parseDevice(const std::string& name, const std::string& field = "device");

// "fp32", "bf16" or "fp16" as a dtype; anything else is an error naming `field`.
c10::ScalarType parseDtype(const std::string& name, const std::string& field = "dtype");
bool cudaAvailable();

// "1.13.0" style version of the LibTorch this program was built with.
std::string torchVersion();

// Memory the kernel says can be allocated without swapping (MemAvailable), in MiB; -1 when unknown.
// FW_MEMORY_LIMIT_MIB=N caps it at N (a share of a machine others use too): the weights and the
// training step are checked against the smaller of the two.
double availableMemoryMiB();

// Peak resident memory of this process in MiB (getrusage).
double peakRssMiB();

}  // namespace fw
