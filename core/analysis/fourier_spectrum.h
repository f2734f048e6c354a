#pragma once
#include "util/fftw_lock.h"
// The 2-D Fourier view of a ΔW: the magnitude spectrum |FFT2(ΔW)| and how many coefficients
// hold its energy. FourierFT's ΔW = α·Re(IDFT2(S)) with n entries in S is nonzero in the
// spectrum exactly at its n positions (u, v) and their mirrors (-u, -v); LoRA's and full
// fine-tuning's spread over the whole grid. Computed with FFTW in single precision.
#include <ATen/ATen.h>

#include <cstdint>
#include <mutex>
#include <optional>

namespace fw::analysis {

// |FFT2(m)| as [d1, d2] float32 on the CPU, for any 2-D real tensor. One real-to-complex
// transform gives the half spectrum d1 × (d2/2 + 1); the other half is rebuilt from Hermitian
// symmetry, |X[u, v]| = |X[-u mod d1, -v mod d2]|. With `shift`, the zero frequency moves to
// the centre (fftShift) for display. Thread-safe.
at::Tensor magnitudeSpectrum(const at::Tensor& m, bool shift = false);

// The complex half spectrum FFT2(m)[:, 0 .. d2/2] of a real matrix, [d1, d2/2 + 1] complex64:
// the r2c transform the magnitude is made from. Thread-safe.
at::Tensor halfSpectrum(const at::Tensor& m);

// The singular values of a matrix whose spectrum lives on a few bins, exactly and without an
// SVD of the whole matrix. FFT2(W) = F1·W·F2 with F/√d unitary, so σ(W) = σ(FFT2(W)) / √(d1·d2);
// a spectrum that is nonzero only at `positions` ([2, n] rows u, v) and their mirrors (-u, -v),
// as a FourierFT ΔW's is, splits into independent blocks: the groups of rows and columns that
// its nonzeros connect. All min(d1, d2) values (zeros included), descending, float64.
// Empty when a block's short side exceeds maxBlock (so many positions that the blocks merge:
// no cheaper than a dense SVD) or when the bins miss more than 1e-6 of the energy (the matrix
// does not live on those positions).
std::optional<at::Tensor> sparseSpectrumSingularValues(const at::Tensor& m, const at::Tensor& positions,
                                                       int64_t maxBlock = 1024);

// numpy.fft.fftshift of the last two dimensions: (0, 0) moves to (d1/2, d2/2).
at::Tensor fftShift(const at::Tensor& spectrum);

// The share of the spectrum's energy Σ|X|² held by the k largest coefficients, for k = 1 .. d1·d2:
// [d1·d2] float64, non-decreasing, ending at 1 (all zeros for a zero matrix). Takes a magnitude
// spectrum (shifted or not). A full sort: 2.2 s for 4096² here; fourierStats gives the 90/99 %
// counts without one.
at::Tensor fourierEnergyCurve(const at::Tensor& magnitude);

// The fewest coefficients whose energy reaches `share` (0.9, 0.99) of a curve; 0 for a zero curve.
int64_t coefficientsFor(const at::Tensor& energyCurve, double share);

// The counts for 90 / 99 % of the energy and the nonzero coefficients of |FFT2(m)|, by selection
// instead of a sort (the same counts as coefficientsFor on the curve, up to float rounding).
struct FourierStats {
  int64_t energy90 = 0, energy99 = 0;  // coefficients holding 90 / 99 % of Σ|X|²
  int64_t nonzero = 0;                 // coefficients above 1e-5 of the largest
  double seconds = 0;
};
FourierStats fourierStats(const at::Tensor& m);

// FFTW's planner is not thread-safe: plans are made under the process-wide lock.
using fw::fftwPlannerMutex;

// Drops the cached plans (one per shape); they are made again when needed. Only while no
// transform runs on another thread: a running transform uses its plan.
void clearFourierPlanCache();

}  // namespace fw::analysis
