#include "adapters/spectral_cpu.h"

#include "util/error.h"
#include "util/fftw_lock.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <fftw3.h>

#include <algorithm>
#include <map>
#include <memory>
#include <numeric>
#include <tuple>
#include <vector>

namespace fw::adapters {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

constexpr int64_t kBlock = 64;  // tokens per block: a block's spectrum (d = 4096) stays in L2

// Batched 1-D transforms of a block of token rows, token-major on both sides: rows [tokens][n]
// <-> spectra [tokens][n/2+1] (complex, interleaved), cached per shape. Token-major lets FFTW use
// its contiguous SIMD codelets: 1.7 to 3 times faster here than writing a bins x tokens layout.
class Plans {
public:
  fftwf_plan forward(int64_t n, int64_t tokens, bool aligned) { return get(true, n, tokens, aligned); }
  // The input spectrum is overwritten.
  fftwf_plan inverse(int64_t n, int64_t tokens, bool aligned) { return get(false, n, tokens, aligned); }

  static Plans& instance() {
    static Plans p;
    return p;
  }
  // At exit the plans go back (the sanitizer build's leak check runs after static destructors).
  // No fftwf_cleanup(): the analysis plan cache may still destroy its own plans after this.
  ~Plans() {
    std::lock_guard<std::mutex> lock(fftwPlannerMutex());
    for (auto& [key, plan] : plans_) fftwf_destroy_plan(plan);
    for (auto& [key, plan] : plans2d_) fftwf_destroy_plan(plan);
    plans_.clear();
    plans2d_.clear();
  }

  // [d1][d2/2+1] complex -> [d1][d2] real, unnormalised (ΔW from its half spectrum). Unaligned:
  // it runs once or twice a step on freshly allocated tensors, where SIMD alignment is not promised.
  fftwf_plan inverse2d(int64_t d1, int64_t d2) {
    std::lock_guard<std::mutex> lock(fftwPlannerMutex());
    auto& p = plans2d_[{d1, d2}];
    if (p) return p;
    const int64_t b2 = d2 / 2 + 1;
    std::unique_ptr<fftwf_complex, decltype(&fftwf_free)> in(fftwf_alloc_complex(size_t(d1 * b2)), &fftwf_free);
    std::unique_ptr<float, decltype(&fftwf_free)> out(fftwf_alloc_real(size_t(d1 * d2)), &fftwf_free);
    p = fftwf_plan_dft_c2r_2d(int(d1), int(d2), in.get(), out.get(), FFTW_MEASURE | FFTW_UNALIGNED);
    if (!p) throw Error("FFTW could not plan a 2-D transform").got(std::to_string(d1) + " x " + std::to_string(d2));
    return p;
  }

private:
  fftwf_plan get(bool forward, int64_t n, int64_t tokens, bool aligned) {
    std::lock_guard<std::mutex> lock(fftwPlannerMutex());
    auto key = std::make_tuple(forward, n, tokens, aligned);
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second;
    const int len = int(n), howMany = int(tokens), bins = int(n / 2 + 1);
    // Planning with FFTW_MEASURE overwrites its arrays: plan on scratch, execute on ours.
    std::unique_ptr<float, decltype(&fftwf_free)> rows(fftwf_alloc_real(size_t(n * tokens)), &fftwf_free);
    std::unique_ptr<fftwf_complex, decltype(&fftwf_free)> spec(fftwf_alloc_complex(size_t(bins * tokens)), &fftwf_free);
    // Aligned plans may use SIMD codelets: 2 to 3 times faster here than FFTW_UNALIGNED ones,
    // which only rows at an odd offset (a view into a larger tensor) still need.
    const unsigned flags = FFTW_MEASURE | (aligned ? 0u : unsigned(FFTW_UNALIGNED));
    fftwf_plan p = forward ? fftwf_plan_many_dft_r2c(1, &len, howMany, rows.get(), nullptr, 1, len, spec.get(), nullptr, 1,
                                                     bins, flags)
                           : fftwf_plan_many_dft_c2r(1, &len, howMany, spec.get(), nullptr, 1, bins, rows.get(), nullptr, 1,
                                                     len, flags);
    if (!p) throw Error("FFTW could not plan a transform").got("n " + std::to_string(n) + ", tokens " + std::to_string(tokens));
    plans_[key] = p;
    return p;
  }
  std::map<std::tuple<bool, int64_t, int64_t, bool>, fftwf_plan> plans_;
  std::map<std::pair<int64_t, int64_t>, fftwf_plan> plans2d_;
};

// FFTW's SIMD plans need arrays with the alignment of those they were planned on (fftwf_alloc's).
bool aligned(const float* p) { return fftwf_alignment_of(const_cast<float*>(p)) == 0; }

// The hot loops are compiled for three instruction sets and picked at load time (GCC/Clang
// ifunc): the portable build otherwise gets SSE2 only, a quarter of AVX-512's width.
// Not in sanitizer builds: their ifunc resolvers would run before the sanitizer's runtime is up.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FW_NO_TARGET_CLONES 1
#endif
#endif
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(FW_NO_TARGET_CLONES)
#define FW_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FW_SIMD_CLONES
#endif

// A block's spectra bins-major, real and imaginary parts in separate planes: re[bin][lane],
// im[bin][lane] with kBlock token lanes (lanes past the block's tokens are zero). Every
// coefficient then works on whole rows of lanes: vector multiply-adds, no gathers per token.
struct Planes {
  float* re;
  float* im;
};
Planes planesAt(float* base, int64_t bins) { return {base, base + bins * kBlock}; }

// Token-major interleaved [tb][bins] complex -> planes.
FW_SIMD_CLONES void toPlanes(const float* __restrict spec, int64_t bins, int64_t tb, float* __restrict re,
                             float* __restrict im) {
  for (int64_t b = 0; b < bins; ++b) {
    float* r = re + b * kBlock;
    float* i = im + b * kBlock;
    for (int64_t t = 0; t < tb; ++t) {
      r[t] = spec[2 * (t * bins + b)];
      i[t] = spec[2 * (t * bins + b) + 1];
    }
    for (int64_t t = tb; t < kBlock; ++t) r[t] = i[t] = 0.f;
  }
}

// One direction of the operator between spectra, as a sparse matrix with its rows (output bins)
// compressed: out[s] = Σ_{l in row s} (re_l·in[g_l].re, im_l·in[g_l].im), for all lanes at once.
struct BinOperator {
  std::vector<int64_t> rowStart;  // binsOut + 1
  std::vector<int64_t> gather;    // input bin of each entry, row by row
  std::vector<float> re, im;

  // scatter/gather: the output and input bin of each coefficient; coefRe/coefIm its multipliers.
  BinOperator(int64_t binsOut, const std::vector<int64_t>& scatter, const std::vector<int64_t>& gatherBins,
              const std::vector<float>& coefRe, const std::vector<float>& coefIm) {
    const size_t n = scatter.size();
    rowStart.assign(size_t(binsOut + 1), 0);
    for (size_t l = 0; l < n; ++l) ++rowStart[size_t(scatter[l] + 1)];
    for (size_t r = 0; r < size_t(binsOut); ++r) rowStart[r + 1] += rowStart[r];
    std::vector<int64_t> next(rowStart.begin(), rowStart.end() - 1);
    gather.resize(n);
    re.resize(n);
    im.resize(n);
    for (size_t l = 0; l < n; ++l) {
      const auto at = size_t(next[size_t(scatter[l])]++);
      gather[at] = gatherBins[l];
      re[at] = coefRe[l];
      im[at] = coefIm[l];
    }
  }
};

// Planes in -> the output spectrum token-major interleaved [tb][binsOut] (the inverse FFT's input),
// each output bin's lanes summed in registers and stored once.
FW_SIMD_CLONES void applyOperator(const BinOperator& op, const float* __restrict inRe, const float* __restrict inIm,
                                  int64_t tb, float* __restrict spec) {
  const int64_t rows = int64_t(op.rowStart.size()) - 1;
  const int64_t* start = op.rowStart.data();
  const int64_t* gather = op.gather.data();
  const float* cRe = op.re.data();
  const float* cIm = op.im.data();
  for (int64_t r = 0; r < rows; ++r) {
    float sr[kBlock] = {}, si[kBlock] = {};
    for (int64_t e = start[r]; e < start[r + 1]; ++e) {
      const float* a = inRe + gather[e] * kBlock;
      const float* b = inIm + gather[e] * kBlock;
      const float cr = cRe[e], ci = cIm[e];
      for (int64_t t = 0; t < kBlock; ++t) {
        sr[t] += cr * a[t];
        si[t] += ci * b[t];
      }
    }
    for (int64_t t = 0; t < tb; ++t) {
      spec[2 * (t * rows + r)] = sr[t];
      spec[2 * (t * rows + r) + 1] = si[t];
    }
  }
}

// Per-coefficient tables on the CPU, as plain arrays.
struct Tables {
  std::vector<int64_t> uFold, vFold;
  std::vector<float> pair, uHalf, vHalf, uImag, vImag;
  std::vector<int64_t> byInputBin;  // coefficients in order of vFold: x's spectrum read front to back
  explicit Tables(const SpectrumGeometry& g) {
    auto longs = [](const at::Tensor& t) {
      auto c = t.to(at::kCPU, at::kLong).contiguous();
      return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
    };
    auto floats = [](const at::Tensor& t) {
      auto c = t.to(at::kCPU, at::kFloat).contiguous();
      return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    };
    uFold = longs(g.uFold);
    vFold = longs(g.vFold);
    pair = floats(g.pairSign);
    uHalf = floats(g.uHalf);
    vHalf = floats(g.vHalf);
    uImag = floats(g.uImag);
    vImag = floats(g.vImag);
    byInputBin.resize(uFold.size());
    std::iota(byInputBin.begin(), byInputBin.end(), int64_t(0));
    std::stable_sort(byInputBin.begin(), byInputBin.end(), [&](int64_t a, int64_t b) { return vFold[size_t(a)] < vFold[size_t(b)]; });
  }
};

// The n coefficients of one direction as multipliers of a bin's real and imaginary parts:
// scale·half·c, and that times the pair sign where the imaginary part counts.
void coefficients(const at::Tensor& c, double scale, const Tables& t, const std::vector<float>& half,
                  const std::vector<float>& imag, std::vector<float>& re, std::vector<float>& im) {
  auto cf = c.detach().to(at::kFloat).contiguous();
  const float* cp = cf.data_ptr<float>();
  re.resize(half.size());
  im.resize(half.size());
  for (size_t l = 0; l < half.size(); ++l) {
    re[l] = float(scale) * half[l] * cp[l];
    im[l] = re[l] * t.pair[l] * imag[l];
  }
}

// One direction of the layer for a block: rows_in [tb, dIn] -> rows_out [tb, dOut], with the
// input's spectrum left in `planesIn` ([2][dIn/2+1][kBlock]) for the spectrum gradient.
// `scratch`: the thread's token-major spectrum of the block (in, then out).
void applyBlock(const float* rowsIn, int64_t dIn, float* rowsOut, int64_t dOut, int64_t tb, const BinOperator* op,
                float* planesIn, std::vector<float>& scratch) {
  auto& plans = Plans::instance();
  const int64_t binsIn = dIn / 2 + 1, binsOut = dOut / 2 + 1;
  scratch.resize(size_t(2 * std::max(binsIn, binsOut) * kBlock));
  float* spec = scratch.data();
  fftwf_execute_dft_r2c(plans.forward(dIn, tb, aligned(rowsIn) && aligned(spec)), const_cast<float*>(rowsIn),
                        reinterpret_cast<fftwf_complex*>(spec));
  const Planes in = planesAt(planesIn, binsIn);
  toPlanes(spec, binsIn, tb, in.re, in.im);
  if (!rowsOut) return;
  applyOperator(*op, in.re, in.im, tb, spec);
  fftwf_execute_dft_c2r(plans.inverse(dOut, tb, aligned(spec) && aligned(rowsOut)),
                        reinterpret_cast<fftwf_complex*>(spec), rowsOut);
}

// dc_l += Σ_t Re G[t,u_l]·Re X[t,v_l] + pair_l · Im G[t,u_l]·Im X[t,v_l] over a block's token
// lanes (planes; zero lanes add nothing), in float sums per block, then into the thread's doubles.
FW_SIMD_CLONES void accumulateSpectrumGrad(const float* __restrict gPlanes, int64_t b1, const float* __restrict xPlanes,
                                           int64_t b2, const Tables& tables, std::vector<double>& dc) {
  const auto n = int64_t(tables.uFold.size());
  const int64_t* uFold = tables.uFold.data();
  const int64_t* vFold = tables.vFold.data();
  const float* pair = tables.pair.data();
  const float* gRe = gPlanes;
  const float* gIm = gPlanes + b1 * kBlock;
  const float* xRe = xPlanes;
  const float* xIm = xPlanes + b2 * kBlock;
  constexpr int64_t kLanes = 16;  // partial sums: a vector's width, no reassociation needed to vectorise
  const int64_t* order = tables.byInputBin.data();
  for (int64_t k = 0; k < n; ++k) {
    const int64_t l = order[k];
    const float* gr = gRe + uFold[l] * kBlock;
    const float* gi = gIm + uFold[l] * kBlock;
    const float* xr = xRe + vFold[l] * kBlock;
    const float* xi = xIm + vFold[l] * kBlock;
    float sr[kLanes] = {}, si[kLanes] = {};
    for (int64_t t = 0; t < kBlock; t += kLanes)
      for (int64_t j = 0; j < kLanes; ++j) {
        sr[j] += gr[t + j] * xr[t + j];
        si[j] += gi[t + j] * xi[t + j];
      }
    float r = 0, i = 0;
    for (int64_t j = 0; j < kLanes; ++j) {
      r += sr[j];
      i += si[j];
    }
    dc[size_t(l)] += double(r) + double(pair[l]) * double(i);
  }
}

// Sums per-thread partial sums of the spectrum gradient into [n] (the coefficients' dtype).
at::Tensor reduceSpectrumGrad(const std::vector<std::vector<double>>& partial, int64_t n, double scale,
                              at::ScalarType dtype) {
  auto dc = at::zeros({n}, at::kDouble);
  double* out = dc.data_ptr<double>();
  for (const auto& p : partial)
    for (int64_t l = 0; l < n && !p.empty(); ++l) out[l] += p[size_t(l)];
  return dc.mul_(scale).to(dtype);
}

struct SpectralCpuFn : torch::autograd::Function<SpectralCpuFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& c, const SpectrumGeometry* g,
                            double scale) {
    const int64_t T = x.size(0), d1 = g->d1, d2 = g->d2, b2 = d2 / 2 + 1;
    const Tables tables(*g);
    std::vector<float> coefRe, coefIm;
    coefficients(c, scale, tables, tables.uHalf, tables.uImag, coefRe, coefIm);
    const BinOperator op(d1 / 2 + 1, tables.uFold, tables.vFold, coefRe, coefIm);
    const int64_t blocks = (T + kBlock - 1) / kBlock;
    auto y = at::empty({T, d1}, x.options());
    const float* xp = x.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
      std::vector<float> xPlanes(size_t(2 * b2 * kBlock));
      std::vector<float> scratch;
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t t0 = b * kBlock, tb = std::min(kBlock, T - t0);
        applyBlock(xp + t0 * d2, d2, yp + t0 * d1, d1, tb, &op, xPlanes.data(), scratch);
      }
    });
    // x, not its spectrum: the frozen layer keeps x anyway, so FourierFT adds nothing to the
    // activations (its spectrum would be T x (d/2+1) complex more than LoRA keeps, per layer).
    // Backward transforms x again, a block at a time, and reads it while it is in cache.
    ctx->save_for_backward({x, c});
    ctx->saved_data["scale"] = scale;
    // The geometry's tables travel as tensors; backward rebuilds the plain arrays (n entries).
    saveGeometry(ctx, *g);
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& c = saved[1];
    const double scale = ctx->saved_data["scale"].toDouble();
    const auto g = loadGeometry(ctx);
    auto gy = grads[0].to(at::kFloat).contiguous();
    const int64_t T = gy.size(0), d1 = g.d1, d2 = g.d2, n = g.n, b1 = d1 / 2 + 1, b2 = d2 / 2 + 1;
    const Tables tables(g);
    std::vector<float> coefRe, coefIm;
    coefficients(c, scale, tables, tables.vHalf, tables.vImag, coefRe, coefIm);
    const BinOperator op(b2, tables.vFold, tables.uFold, coefRe, coefIm);
    const bool wantX = ctx->needs_input_grad(0), wantC = ctx->needs_input_grad(1);
    at::Tensor dx = wantX ? at::empty({T, d2}, gy.options()) : at::Tensor();
    const int64_t blocks = (T + kBlock - 1) / kBlock;
    const int threads = at::get_num_threads();
    std::vector<std::vector<double>> partial(size_t(threads), std::vector<double>(wantC ? size_t(n) : 0, 0.0));
    const float* gp = gy.data_ptr<float>();
    const float* xp = x.data_ptr<float>();
    float* dxp = wantX ? dx.data_ptr<float>() : nullptr;
    at::parallel_for(0, blocks, 1, [&](int64_t bb0, int64_t bb1) {
      std::vector<float> gPlanes(size_t(2 * b1 * kBlock)), xPlanes(wantC ? size_t(2 * b2 * kBlock) : 0);
      std::vector<float> scratch;
      auto& dc = partial[size_t(at::get_thread_num())];
      for (int64_t b = bb0; b < bb1; ++b) {
        const int64_t t0 = b * kBlock, tb = std::min(kBlock, T - t0);
        applyBlock(gp + t0 * d1, d1, wantX ? dxp + t0 * d2 : nullptr, d2, tb, &op, gPlanes.data(), scratch);
        if (!wantC) continue;
        applyBlock(xp + t0 * d2, d2, nullptr, 0, tb, nullptr, xPlanes.data(), scratch);
        accumulateSpectrumGrad(gPlanes.data(), b1, xPlanes.data(), b2, tables, dc);
      }
    });
    const at::Tensor dcT = wantC ? reduceSpectrumGrad(partial, n, scale, c.scalar_type()) : at::Tensor();
    return {dx, dcT, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

bool spectralCpuApplies(const at::Tensor& x) { return x.device().is_cpu() && x.scalar_type() == at::kFloat; }

at::Tensor spectralDeltaCpu(const at::Tensor& x, const at::Tensor& spectrum, const SpectrumGeometry& g, double scale) {
  if (x.dim() != 2 || x.size(1) != g.d2 || !x.is_contiguous())
    throw Error("internal: spectral CPU kernel wants contiguous [T, d_in] rows").got(x.sizes().vec());
  return SpectralCpuFn::apply(x, spectrum, &g, scale);
}

at::Tensor spectrumGradCpu(const at::Tensor& x, const at::Tensor& gy, const SpectrumGeometry& g, double scale) {
  if (x.dim() != 2 || gy.dim() != 2 || x.size(1) != g.d2 || gy.size(1) != g.d1 || x.size(0) != gy.size(0) ||
      !x.is_contiguous() || !gy.is_contiguous())
    throw Error("internal: spectrum gradient kernel wants contiguous [T, d_in] and [T, d_out] rows").got(x.sizes().vec());
  const int64_t T = x.size(0), d1 = g.d1, d2 = g.d2, n = g.n, b1 = d1 / 2 + 1, b2 = d2 / 2 + 1;
  const Tables tables(g);
  const int64_t blocks = (T + kBlock - 1) / kBlock;
  std::vector<std::vector<double>> partial(size_t(at::get_num_threads()), std::vector<double>(size_t(n), 0.0));
  const float* xp = x.data_ptr<float>();
  const float* gp = gy.data_ptr<float>();
  at::parallel_for(0, blocks, 1, [&](int64_t bb0, int64_t bb1) {
    std::vector<float> xPlanes(size_t(2 * b2 * kBlock)), gPlanes(size_t(2 * b1 * kBlock));
    std::vector<float> scratch;
    auto& dc = partial[size_t(at::get_thread_num())];
    for (int64_t b = bb0; b < bb1; ++b) {
      const int64_t t0 = b * kBlock, tb = std::min(kBlock, T - t0);
      applyBlock(xp + t0 * d2, d2, nullptr, 0, tb, nullptr, xPlanes.data(), scratch);
      applyBlock(gp + t0 * d1, d1, nullptr, 0, tb, nullptr, gPlanes.data(), scratch);
      accumulateSpectrumGrad(gPlanes.data(), b1, xPlanes.data(), b2, tables, dc);
    }
  });
  return reduceSpectrumGrad(partial, n, scale, at::kFloat);
}

at::Tensor irfft2Cpu(const at::Tensor& half, int64_t d1, int64_t d2) {
  const int64_t b2 = d2 / 2 + 1;
  if (half.sizes() != at::IntArrayRef({d1, b2}) || half.scalar_type() != at::kComplexFloat || !half.is_contiguous())
    throw Error("internal: irfft2Cpu wants a contiguous [d1, d2/2+1] complex64 half spectrum").got(half.sizes().vec());
  const fftwf_plan plan = Plans::instance().inverse2d(d1, d2);
  auto input = half.clone();  // c2r overwrites its input
  auto w = at::empty({d1, d2}, half.options().dtype(at::kFloat));
  fftwf_execute_dft_c2r(plan, reinterpret_cast<fftwf_complex*>(input.data_ptr<c10::complex<float>>()), w.data_ptr<float>());
  return w;
}

}  // namespace fw::adapters
