#pragma once
// The spectral path on the CPU with FFTW (DESIGN.md, "Three ways"): per-token real FFTs written
// straight into a bins x tokens layout (complex, interleaved), so each of the n coefficients is
// one vectorised multiply-add along a block of tokens; blocks run in parallel; the spectrum
// gradient is reduced from per-thread partial sums. Computes x·ΔWᵀ and its gradients; the same
// values as fourierLinearSpectral's LibTorch version (tests compare them).
#include "adapters/fourierft_ops.h"

namespace fw::adapters {

// The kernels take float32 rows on the CPU; other inputs go through LibTorch's FFTs.
bool spectralCpuApplies(const at::Tensor& x);

// x: [T, d2] float32 (contiguous), spectrum [n]. Returns x·ΔWᵀ [T, d1], differentiable in x and
// spectrum.
at::Tensor spectralDeltaCpu(const at::Tensor& x, const at::Tensor& spectrum, const SpectrumGeometry& g, double scale);

}  // namespace fw::adapters
