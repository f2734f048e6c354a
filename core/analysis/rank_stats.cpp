#include "analysis/rank_stats.h"

#include "analysis/fourier_spectrum.h"
#include "util/error.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

namespace fw::analysis {

namespace {

at::Tensor onCpu(const at::Tensor& t, at::ScalarType type) {
  return t.detach().to(at::TensorOptions(type).device(at::kCPU)).contiguous();
}

at::Tensor orthonormalBasis(const at::Tensor& y) { return std::get<0>(at::linalg_qr(y, "reduced")); }

}  // namespace

at::Tensor singularValues(const at::Tensor& m) {
  if (m.dim() != 2) throw Error("singular values need a matrix").got(m.sizes().vec());
  at::NoGradGuard noGrad;
  if (m.numel() == 0) return at::empty({0}, at::kDouble);
  return at::linalg_svdvals(onCpu(m, at::kDouble));
}

at::Tensor randomizedSingularValues(const at::Tensor& m, int64_t k, int64_t oversampling, int64_t powerIterations,
                                    uint64_t seed) {
  if (m.dim() != 2) throw Error("singular values need a matrix").got(m.sizes().vec());
  if (k <= 0) throw Error("the truncated SVD needs k > 0").field("k").got(std::to_string(k));
  at::NoGradGuard noGrad;
  const int64_t rows = m.size(0), cols = m.size(1), shortSide = std::min(rows, cols);
  const int64_t sketch = std::min(k + std::max<int64_t>(oversampling, 0), shortSide);
  if (sketch >= shortSide) return singularValues(m).slice(0, 0, std::min(k, shortSide));
  // float32 matmuls for float32 (and narrower) input: the sketch needs no more precision than
  // the matrix has, and it halves the time of the six large products.
  const auto type = m.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const auto a = onCpu(m, type);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto omega = at::randn({cols, sketch}, gen, at::TensorOptions(type));
  auto q = orthonormalBasis(at::mm(a, omega));
  // Power iterations sharpen a slowly decaying spectrum (σ^(2q+1)); re-orthonormalising after
  // each product keeps the small singular directions from drowning in rounding.
  for (int64_t i = 0; i < powerIterations; ++i) {
    auto z = orthonormalBasis(at::mm(a.t(), q));
    q = orthonormalBasis(at::mm(a, z));
  }
  const auto b = at::mm(q.t(), a);  // [sketch, cols]
  return at::linalg_svdvals(b.to(at::kDouble)).slice(0, 0, k).contiguous();
}

double roundingFloor(const std::vector<int64_t>& shape, double spectralNorm, bool float64) {
  const double eps = float64 ? std::numeric_limits<double>::epsilon() : double(std::numeric_limits<float>::epsilon());
  int64_t longSide = 0;
  for (auto n : shape) longSide = std::max(longSide, n);
  return double(longSide) * eps * spectralNorm;
}

double effectiveRank(const at::Tensor& singular, double floor) {
  auto s = onCpu(singular, at::kDouble);
  if (floor > 0 && s.numel()) s = s.masked_fill(s <= floor * s.max().item<double>(), 0.0);
  const double total = s.sum().item<double>();
  if (!(total > 0)) return 0;
  const auto p = s / total;
  const auto nz = p.masked_select(p > 0);
  const double entropy = -(nz * nz.log()).sum().item<double>();
  return std::exp(entropy);
}

int64_t energyCount(const at::Tensor& singular, double share, double totalEnergy) {
  const auto e = onCpu(singular, at::kDouble).square();
  if (totalEnergy < 0) totalEnergy = e.sum().item<double>();
  if (!(totalEnergy > 0) || e.numel() == 0) return 0;
  // A relative slack so that ceil(0.9·n) equal values are not pushed to one more by rounding.
  const double target = share * totalEnergy * (1 - 1e-12);
  const auto cum = e.cumsum(0);
  const auto* c = cum.data_ptr<double>();
  const auto* end = c + cum.numel();
  const auto* hit = std::lower_bound(c, end, target);
  return hit == end ? kBeyondTopK : int64_t(hit - c) + 1;
}

RankStats rankStats(const at::Tensor& delta, const at::Tensor& base, const RankOptions& options,
                    const at::Tensor& positions) {
  if (delta.dim() != 2) throw Error("ΔW must be a matrix [out, in]").got(delta.sizes().vec());
  if (base.defined() && base.sizes() != delta.sizes())
    throw Error("W0 and ΔW differ in shape").expected(delta.sizes().vec()).got(base.sizes().vec());
  at::NoGradGuard noGrad;
  const auto start = std::chrono::steady_clock::now();
  RankStats r;
  r.shape = delta.sizes().vec();
  const int64_t shortSide = std::min(r.shape[0], r.shape[1]);
  const auto d = delta.scalar_type() == at::kDouble ? delta.detach() : delta.detach().to(at::kFloat);
  const double energy = d.square().sum(at::kDouble).item<double>();
  r.frobenius = std::sqrt(energy);
  const bool large = shortSide > options.fullLimit && options.k < shortSide;
  std::optional<at::Tensor> spectral;
  if (large && positions.defined()) spectral = sparseSpectrumSingularValues(d, positions, options.fullLimit);
  if (spectral) {
    r.singular = *spectral;
    r.k = shortSide;
    r.svd = "spectral";
  } else if (large) {
    r.singular = randomizedSingularValues(d, options.k, options.oversampling, options.powerIterations, options.seed);
    r.k = options.k;
    r.truncated = true;
    r.svd = "randomized";
  } else {
    r.singular = singularValues(d);
    r.k = shortSide;
    r.svd = "exact";
  }
  r.spectralNorm = r.singular.numel() ? r.singular[0].item<double>() : 0.0;
  // The rounding of the matrix itself leaves σ ~ ε·σ_max where the exact ones are zero; as in
  // matrix_rank, those below max(d1, d2)·ε·σ_max do not count (else a rank-1 float32 product
  // has an effective rank of 1.0001).
  r.effectiveRank = effectiveRank(r.singular, roundingFloor(r.shape, 1.0, d.scalar_type() == at::kDouble));
  r.energy90 = energyCount(r.singular, 0.90, energy);
  r.energy99 = energyCount(r.singular, 0.99, energy);
  r.capturedEnergy = !(energy > 0) ? 1.0 : r.truncated ? std::min(1.0, r.singular.square().sum().item<double>() / energy) : 1.0;
  r.stableRank = r.spectralNorm > 0 ? energy / (r.spectralNorm * r.spectralNorm) : 0.0;
  if (base.defined()) {
    const double baseNorm = std::sqrt(base.detach().square().sum(at::kDouble).item<double>());
    r.normRatio = baseNorm > 0 ? r.frobenius / baseNorm : std::numeric_limits<double>::quiet_NaN();
  } else {
    r.normRatio = std::numeric_limits<double>::quiet_NaN();
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace fw::analysis
