#include "analysis/fourier_spectrum.h"

#include "util/error.h"

#include <fftw3.h>

#include <algorithm>
#include <chrono>
#include <complex>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace fw::analysis {

namespace {

// One r2c plan per shape for the life of the process. Planned with FFTW_UNALIGNED on scratch
// buffers and then only run through the new-array interface, so any tensor's memory will do.
struct PlanCache {
  std::map<std::pair<int64_t, int64_t>, fftwf_plan> plans;
  ~PlanCache() { clear(); }
  void clear() {
    for (auto& [shape, plan] : plans) fftwf_destroy_plan(plan);
    plans.clear();
  }
};

PlanCache& planCache() {
  static PlanCache cache;
  return cache;
}

fftwf_plan planFor(int64_t d1, int64_t d2) {
  std::lock_guard<std::mutex> lock(fftwPlannerMutex());
  auto& plans = planCache().plans;
  if (auto it = plans.find({d1, d2}); it != plans.end()) return it->second;
  const int64_t half = d2 / 2 + 1;
  auto* in = static_cast<float*>(fftwf_malloc(sizeof(float) * size_t(d1 * d2)));
  auto* out = static_cast<fftwf_complex*>(fftwf_malloc(sizeof(fftwf_complex) * size_t(d1 * half)));
  // FFTW_ESTIMATE: measuring a 4096² plan costs more than the few transforms an analysis runs.
  fftwf_plan plan = in && out ? fftwf_plan_dft_r2c_2d(int(d1), int(d2), in, out, FFTW_ESTIMATE | FFTW_UNALIGNED) : nullptr;
  fftwf_free(in);
  fftwf_free(out);
  if (!plan) throw Error("FFTW could not plan a transform of this shape").got({d1, d2});
  plans.emplace(std::make_pair(d1, d2), plan);
  return plan;
}

}  // namespace


void clearFourierPlanCache() {
  std::lock_guard<std::mutex> lock(fftwPlannerMutex());
  planCache().clear();
}

at::Tensor halfSpectrum(const at::Tensor& m) {
  if (m.dim() != 2 || m.numel() == 0) throw Error("the Fourier spectrum needs a non-empty matrix").got(m.sizes().vec());
  if (m.is_complex()) throw Error("the Fourier spectrum of ΔW takes a real matrix").got(std::string(c10::toString(m.scalar_type())));
  const int64_t d1 = m.size(0), d2 = m.size(1), half = d2 / 2 + 1;
  if (d1 > INT32_MAX || d2 > INT32_MAX) throw Error("matrix too large for FFTW").got({d1, d2});
  at::NoGradGuard noGrad;
  // A copy: FFTW may not promise to keep the input of every plan intact.
  const auto in = m.detach().to(at::TensorOptions(at::kFloat).device(at::kCPU), false, /*copy=*/true).contiguous();
  auto out = at::empty({d1, half}, at::TensorOptions(at::kComplexFloat));
  fftwf_execute_dft_r2c(planFor(d1, d2), in.data_ptr<float>(),
                        reinterpret_cast<fftwf_complex*>(out.data_ptr<c10::complex<float>>()));
  return out;
}

at::Tensor magnitudeSpectrum(const at::Tensor& m, bool shift) {
  const auto halfMag = at::abs(halfSpectrum(m));  // [d1, half] float32
  const int64_t d1 = m.size(0), d2 = m.size(1), half = d2 / 2 + 1;
  auto full = at::empty({d1, d2}, at::TensorOptions(at::kFloat));
  full.slice(1, 0, half).copy_(halfMag);
  if (d2 > half) {
    // Column v >= half is the mirror of column d2 - v, row u that of row -u mod d1.
    const auto rows = (d1 - at::arange(d1, at::kLong)).remainder(d1);
    const auto cols = at::arange(d2 - half, 0, -1, at::kLong);
    full.slice(1, half, d2).copy_(halfMag.index_select(0, rows).index_select(1, cols));
  }
  return shift ? fftShift(full) : full;
}

std::optional<at::Tensor> sparseSpectrumSingularValues(const at::Tensor& m, const at::Tensor& positions,
                                                       int64_t maxBlock) {
  if (positions.dim() != 2 || positions.size(0) != 2)
    throw Error("FourierFT positions must be [2, n]").got(positions.sizes().vec());
  at::NoGradGuard noGrad;
  const auto spectrum = halfSpectrum(m);
  const int64_t d1 = m.size(0), d2 = m.size(1), half = d2 / 2 + 1, n = positions.size(1);
  const auto* sp = reinterpret_cast<const std::complex<float>*>(spectrum.data_ptr<c10::complex<float>>());
  // X[u, v] of the full spectrum from the half one: X[u, v] = conj(X[-u, -v]).
  auto valueAt = [&](int64_t u, int64_t v) {
    if (v < half) return std::complex<double>(sp[u * half + v]);
    return std::conj(std::complex<double>(sp[((d1 - u) % d1) * half + (d2 - v)]));
  };
  const auto pos = positions.to(at::kLong).cpu().contiguous();
  const auto* pu = pos.data_ptr<int64_t>();
  const auto* pv = pu + n;
  // The bins: each position and its mirror, once.
  std::vector<std::pair<int64_t, int64_t>> bins;
  bins.reserve(size_t(2 * n));
  for (int64_t l = 0; l < n; ++l) {
    const int64_t u = pu[l], v = pv[l];
    if (u < 0 || u >= d1 || v < 0 || v >= d2)
      throw Error("FourierFT position outside the matrix").expected({d1, d2}).got({u, v});
    bins.emplace_back(u, v);
    bins.emplace_back((d1 - u) % d1, (d2 - v) % d2);
  }
  std::sort(bins.begin(), bins.end());
  bins.erase(std::unique(bins.begin(), bins.end()), bins.end());
  // Parseval: Σ|X|² = d1·d2·‖W‖_F². The bins must hold all of it.
  double binEnergy = 0;
  for (auto [u, v] : bins) binEnergy += std::norm(valueAt(u, v));
  const double energy = m.detach().to(at::kFloat).square().sum(at::kDouble).item<double>() * double(d1) * double(d2);
  if (energy > 0 && std::abs(binEnergy - energy) > 1e-6 * energy) return std::nullopt;
  // Rows 0..d1-1 and columns d1..d1+d2-1 are nodes, every bin an edge; blocks are components.
  std::vector<int64_t> parent(size_t(d1 + d2));
  for (size_t i = 0; i < parent.size(); ++i) parent[i] = int64_t(i);
  auto rootOf = [&](int64_t x) {
    while (parent[size_t(x)] != x) x = parent[size_t(x)] = parent[size_t(parent[size_t(x)])];
    return x;
  };
  for (auto [u, v] : bins) parent[size_t(rootOf(u))] = rootOf(d1 + v);
  std::map<int64_t, std::vector<std::pair<int64_t, int64_t>>> blocks;
  for (auto bin : bins) blocks[rootOf(bin.first)].push_back(bin);
  std::vector<at::Tensor> values;
  for (const auto& [root, members] : blocks) {
    std::map<int64_t, int64_t> rows, cols;
    for (auto [u, v] : members) {
      rows.emplace(u, int64_t(rows.size()));
      cols.emplace(v, int64_t(cols.size()));
    }
    if (std::min(rows.size(), cols.size()) > size_t(maxBlock)) return std::nullopt;
    auto block = at::zeros({int64_t(rows.size()), int64_t(cols.size())}, at::kComplexDouble);
    auto* b = reinterpret_cast<std::complex<double>*>(block.data_ptr<c10::complex<double>>());
    for (auto [u, v] : members) b[rows[u] * int64_t(cols.size()) + cols[v]] = valueAt(u, v);
    values.push_back(at::linalg_svdvals(block));
  }
  auto all = at::zeros({std::min(d1, d2)}, at::kDouble);
  if (!values.empty()) {
    const auto found = at::cat(values) / std::sqrt(double(d1) * double(d2));
    const int64_t count = std::min(found.numel(), all.numel());
    all.slice(0, 0, count).copy_(std::get<0>(found.sort(0, /*descending=*/true)).slice(0, 0, count));
  }
  return all;
}

at::Tensor fftShift(const at::Tensor& spectrum) {
  if (spectrum.dim() < 2) throw Error("fftShift needs at least two dimensions").got(spectrum.sizes().vec());
  const int64_t d1 = spectrum.size(-2), d2 = spectrum.size(-1);
  return at::roll(spectrum, {d1 / 2, d2 / 2}, {-2, -1});
}

at::Tensor fourierEnergyCurve(const at::Tensor& magnitude) {
  at::NoGradGuard noGrad;
  const auto e = magnitude.detach().to(at::TensorOptions(at::kDouble).device(at::kCPU)).flatten().square();
  const auto sorted = std::get<0>(e.sort(/*dim=*/0, /*descending=*/true));
  auto curve = sorted.cumsum(0);
  const double total = curve.numel() ? curve[-1].item<double>() : 0.0;
  return total > 0 ? curve.div_(total) : at::zeros_like(curve);
}

int64_t coefficientsFor(const at::Tensor& energyCurve, double share) {
  const auto c = energyCurve.to(at::TensorOptions(at::kDouble).device(at::kCPU)).contiguous();
  if (c.numel() == 0 || !(c[-1].item<double>() > 0)) return 0;
  const auto* p = c.data_ptr<double>();
  const auto* end = p + c.numel();
  const auto* hit = std::lower_bound(p, end, share * (1 - 1e-12));
  return hit == end ? c.numel() : int64_t(hit - p) + 1;
}

namespace {

// The fewest of `values` (energies, >= 0) whose sum reaches `target`, without sorting them: a
// quickselect that keeps the larger side while it holds enough and otherwise takes it whole.
// Expected O(n); the full sort of 16.7M coefficients of a 4096² layer took 2.2 s. Reorders values.
int64_t fewestReaching(std::vector<float>& values, double target) {
  if (!(target > 0)) return 0;
  size_t lo = 0, hi = values.size();  // [0, lo) taken, [lo, hi) undecided
  double taken = 0;
  uint64_t state = 0x9E3779B97F4A7C15ull;  // a fixed pivot sequence: deterministic results
  while (lo < hi) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const float pivot = values[lo + size_t((state >> 33) % (hi - lo))];
    // Three-way: [lo, gt) > pivot, [gt, eq) == pivot, [eq, hi) < pivot.
    auto gtEnd = std::partition(values.begin() + long(lo), values.begin() + long(hi), [&](float x) { return x > pivot; });
    auto eqEnd = std::partition(gtEnd, values.begin() + long(hi), [&](float x) { return x == pivot; });
    const size_t gt = size_t(gtEnd - values.begin()), eq = size_t(eqEnd - values.begin());
    double larger = 0;
    for (size_t i = lo; i < gt; ++i) larger += values[i];
    if (taken + larger >= target) {
      hi = gt;  // the answer lies among the larger ones
      continue;
    }
    taken += larger;
    const double need = std::ceil((target - taken) / double(pivot));
    if (pivot > 0 && need <= double(eq - gt)) return int64_t(gt) + std::max<int64_t>(int64_t(need), 1);
    taken += double(pivot) * double(eq - gt);
    lo = eq;
  }
  return int64_t(lo);
}

}  // namespace

FourierStats fourierStats(const at::Tensor& m) {
  const auto start = std::chrono::steady_clock::now();
  FourierStats s;
  // From the half spectrum: columns 1 .. (d2-1)/2 stand for their mirrors too (counted twice);
  // column 0 and, for even d2, column d2/2 hold their own mirrors.
  const auto half = at::abs(halfSpectrum(m)).contiguous();
  const int64_t d1 = half.size(0), h = half.size(1), d2 = m.size(1);
  const float* mag = half.data_ptr<float>();
  std::vector<float> energy;
  energy.reserve(size_t(d1 * d2));
  double total = 0;
  const float peak = half.numel() ? half.max().item<float>() : 0.0f;
  for (int64_t u = 0; u < d1; ++u)
    for (int64_t v = 0; v < h; ++v) {
      const float a = mag[u * h + v];
      const int copies = v == 0 || (d2 % 2 == 0 && v == d2 / 2) ? 1 : 2;
      for (int c = 0; c < copies; ++c) energy.push_back(a * a);
      total += copies * double(a) * double(a);
      if (peak > 0 && a > 1e-5f * peak) s.nonzero += copies;
    }
  // The same relative slack as coefficientsFor, so that the two agree.
  s.energy90 = fewestReaching(energy, 0.90 * total * (1 - 1e-12));
  s.energy99 = fewestReaching(energy, 0.99 * total * (1 - 1e-12));
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

}  // namespace fw::analysis
