#pragma once
// How much of its rank a ΔW uses: singular values and the numbers the rank view plots.
//
//   effective rank  exp(H(p)), p_i = σ_i / Σσ  (Roy & Vetterli, 2007): 1 for a rank-1 matrix,
//                   n for the n×n identity
//   energy90/99     how many of the largest σ hold 90 / 99 % of the energy Σσ² = ‖W‖_F²
//   stable rank     ‖W‖_F² / σ_max²
//   norm ratio      ‖ΔW‖_F / ‖W0‖_F
//
// The full SVD of a 4096×4096 layer takes ~9 s on this CPU (DESIGN.md), so layers whose short
// side exceeds `fullLimit` get a randomized truncated SVD (Halko, Martinsson & Tropp, 2011) of the
// top k values instead, flagged `truncated`: the GUI must say so. A FourierFT ΔW (given its
// positions) is the exception: its spectrum is sparse, and its singular values come exactly and
// cheaply from the blocks of that spectrum (fourier_spectrum.h), so it is never truncated unless
// its positions are so many that the blocks merge.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace fw::analysis {

struct RankOptions {
  int64_t fullLimit = 1024;    // short side above this: randomized truncated SVD
  int64_t k = 128;             // singular values the truncated SVD keeps
  // Extra sketch columns (Halko et al. p). 10 is the textbook value, but at 4096×4096 with
  // σ_i = e^(-i/30) it left σ_118..128 off by up to 2.5 %; 64 gets them to 1e-7 for 25 % more time.
  int64_t oversampling = 64;
  int64_t powerIterations = 2; // subspace iterations (Halko et al. q)
  uint64_t seed = 0;           // of the Gaussian sketch, so that snapshots are reproducible
};

// energy90 / energy99 when the top k singular values of a truncated SVD do not reach the share.
inline constexpr int64_t kBeyondTopK = -1;

struct RankStats {
  std::vector<int64_t> shape;  // [out, in]
  at::Tensor singular;         // σ, descending, float64 on the CPU (the top k when truncated)
  double frobenius = 0;        // ‖ΔW‖_F, exact also when truncated
  double spectralNorm = 0;     // σ_max
  double effectiveRank = 0;    // of the values in `singular` (the top k when truncated)
  int64_t energy90 = 0, energy99 = 0;  // kBeyondTopK when more than the top k are needed
  double capturedEnergy = 1;   // share of ‖ΔW‖_F² the values in `singular` hold (1 unless truncated)
  double stableRank = 0;
  double normRatio = 0;        // ‖ΔW‖_F / ‖W0‖_F; NaN without a base
  bool truncated = false;
  int64_t k = 0;               // values computed: min(d1, d2), or the truncated SVD's k
  std::string svd;             // how: "exact", "spectral" (FourierFT blocks, exact) or "randomized"
  double seconds = 0;          // wall time of this computation
};

// All singular values of a 2-D tensor, descending, float64 on the CPU (computed in float64).
// at::linalg_svdvals, which takes no driver in LibTorch 1.13 (DESIGN.md, traps).
at::Tensor singularValues(const at::Tensor& m);

// The top k singular values by a randomized range finder: a Gaussian sketch with `oversampling`
// extra columns and `powerIterations` subspace iterations (re-orthonormalised each time), then
// the exact SVD of the small projection. Descending, float64 on the CPU. Matmuls run in the
// input's precision (float32 for float32), the small SVD in float64.
at::Tensor randomizedSingularValues(const at::Tensor& m, int64_t k, int64_t oversampling = 64,
                                    int64_t powerIterations = 2, uint64_t seed = 0);

// The level at or below which a ΔW's singular values are the rounding of ΔW itself, not its
// spectrum (matrix_rank's tolerance): max(d1, d2) · ε · σ_max, with float32's ε unless ΔW is
// float64. A rank-r LoRA ΔW shows r values above it and rounding noise below.
double roundingFloor(const std::vector<int64_t>& shape, double spectralNorm, bool float64 = false);

// exp(entropy of σ_i / Σσ); 0 for a zero matrix. σ at or below floor·σ_max count as zero
// (rankStats passes the matrix's rounding level, max(d1, d2)·ε of its dtype).
double effectiveRank(const at::Tensor& singular, double floor = 0);
// The fewest leading σ whose Σσ² reaches `share` of `totalEnergy` (default: Σσ² of `singular`);
// kBeyondTopK when all of them do not. 0 for a zero matrix.
int64_t energyCount(const at::Tensor& singular, double share, double totalEnergy = -1);

// Everything above for one ΔW (any dtype or device; [out, in]). `base` (W0) gives normRatio;
// `positions` ([2, n], a FourierFT ΔW's) allow the exact spectral path for large layers.
// Throws fw::Error when delta is not 2-D or base's shape differs.
RankStats rankStats(const at::Tensor& delta, const at::Tensor& base = {}, const RankOptions& options = {},
                    const at::Tensor& positions = {});

}  // namespace fw::analysis
