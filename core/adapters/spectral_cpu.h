#pragma once
// The spectral path on the CPU with FFTW (DESIGN.md, "Three ways"): per-token real FFTs of a
// block of 64 tokens (token-major, FFTW's fast contiguous plans), the spectra turned bins-major
// (a plane of 64 token lanes per bin, real and imaginary apart), so each of the n coefficients is
// one vector multiply-add along the block's lanes; blocks run in parallel; the spectrum gradient
// is reduced from per-thread partial sums. Computes x·ΔWᵀ and its gradients; the same values as
// fourierLinearSpectral's LibTorch version (tests compare them).
#include "adapters/fourierft_ops.h"

namespace fw::adapters {

// The kernels take float32 rows on the CPU; other inputs go through LibTorch's FFTs.
bool spectralCpuApplies(const at::Tensor& x);

// x: [T, d2] float32 (contiguous), spectrum [n]. Returns x·ΔWᵀ [T, d1], differentiable in x and
// spectrum.
at::Tensor spectralDeltaCpu(const at::Tensor& x, const at::Tensor& spectrum, const SpectrumGeometry& g, double scale);

// dL/dc for y = x·ΔWᵀ from the rows x [T, d2] and the output gradient gy [T, d1] (float32,
// contiguous): per-token FFTs of both and one pass over the n bins, never forming gyᵀx (the
// merged path's backward on the CPU). Returns [n] float32, no autograd.
at::Tensor spectrumGradCpu(const at::Tensor& x, const at::Tensor& gy, const SpectrumGeometry& g, double scale);

// The inverse real 2-D FFT, unnormalised: half [d1, d2/2+1] complex64 -> [d1, d2] float32
// (ΔW from its half spectrum; FFTW, 2 to 2.5 times faster here than LibTorch's pocketfft).
at::Tensor irfft2Cpu(const at::Tensor& half, int64_t d1, int64_t d2);

}  // namespace fw::adapters
