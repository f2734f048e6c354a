#include "adapters/spectral_cpu.h"

#include "util/error.h"
#include "util/fftw_lock.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <fftw3.h>

#include <map>
#include <memory>
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

// One direction of the operator between spectra, as a sparse matrix with its rows (output bins)
// compressed: out[s] = Σ_{l in row s} (re_l·in[g_l].re, im_l·in[g_l].im). Row by row, a token's
// output bin is summed in registers and written once; its input spectrum (d/2+1 bins) stays in L1.
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

  // One token: out [binsOut] complex from in [binsIn] complex.
  void apply(const float* __restrict in, float* __restrict out) const {
    const size_t rows = rowStart.size() - 1;
    for (size_t r = 0; r < rows; ++r) {
      float sr = 0, si = 0;
      for (int64_t e = rowStart[r]; e < rowStart[r + 1]; ++e) {
        const int64_t g = 2 * gather[size_t(e)];
        sr += re[size_t(e)] * in[g];
        si += im[size_t(e)] * in[g + 1];
      }
      out[2 * r] = sr;
      out[2 * r + 1] = si;
    }
  }
};

// Per-coefficient tables on the CPU, as plain arrays.
struct Tables {
  std::vector<int64_t> uFold, vFold;
  std::vector<float> pair, uHalf, vHalf, uImag, vImag;
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

// One direction of the layer for a block: rows_in [tb, dIn] -> rows_out [tb, dOut], with
// the input's spectrum ([tb][dIn/2+1] complex) left in specIn for the gradient.
void applyBlock(const float* rowsIn, int64_t dIn, float* rowsOut, int64_t dOut, int64_t tb, const BinOperator* op,
                float* specIn, std::vector<float>& acc) {
  auto& plans = Plans::instance();
  const bool inAligned = aligned(rowsIn) && aligned(specIn);
  fftwf_execute_dft_r2c(plans.forward(dIn, tb, inAligned), const_cast<float*>(rowsIn),
                        reinterpret_cast<fftwf_complex*>(specIn));
  if (!rowsOut) return;
  const int64_t binsIn = dIn / 2 + 1, binsOut = dOut / 2 + 1;
  acc.resize(size_t(2 * binsOut * tb));
  for (int64_t t = 0; t < tb; ++t) op->apply(specIn + 2 * t * binsIn, acc.data() + 2 * t * binsOut);
  fftwf_execute_dft_c2r(plans.inverse(dOut, tb, aligned(acc.data()) && aligned(rowsOut)),
                        reinterpret_cast<fftwf_complex*>(acc.data()), rowsOut);
}

// dc_l += Σ_t Re G[t,u_l]·Re X[t,v_l] + pair_l · Im G[t,u_l]·Im X[t,v_l] over a block's tokens
// (spectra token-major), in float sums per block, then into the thread's double sums.
void accumulateSpectrumGrad(const float* gspec, int64_t b1, const float* xspec, int64_t b2, int64_t tb,
                            const Tables& tables, std::vector<float>& sumRe, std::vector<float>& sumIm,
                            std::vector<double>& dc) {
  const auto n = int64_t(tables.uFold.size());
  const int64_t* uFold = tables.uFold.data();
  const int64_t* vFold = tables.vFold.data();
  sumRe.assign(size_t(n), 0.f);
  sumIm.assign(size_t(n), 0.f);
  for (int64_t t = 0; t < tb; ++t) {
    const float* gt = gspec + 2 * t * b1;
    const float* xt = xspec + 2 * t * b2;
    for (int64_t l = 0; l < n; ++l) {
      const int64_t u = 2 * uFold[l], v = 2 * vFold[l];
      sumRe[size_t(l)] += gt[u] * xt[v];
      sumIm[size_t(l)] += gt[u + 1] * xt[v + 1];
    }
  }
  for (int64_t l = 0; l < n; ++l)
    dc[size_t(l)] += double(sumRe[size_t(l)]) + double(tables.pair[size_t(l)]) * double(sumIm[size_t(l)]);
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
    // The input's spectrum, kept for the spectrum gradient: per block [kBlock][b2] complex.
    auto spec = at::empty({blocks, kBlock, b2, 2}, x.options());
    auto y = at::empty({T, d1}, x.options());
    const float* xp = x.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    float* sp = spec.data_ptr<float>();
    at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
      std::vector<float> acc;
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t t0 = b * kBlock, tb = std::min(kBlock, T - t0);
        applyBlock(xp + t0 * d2, d2, yp + t0 * d1, d1, tb, &op, sp + b * 2 * b2 * kBlock, acc);
      }
    });
    ctx->save_for_backward({spec, c});
    ctx->saved_data["scale"] = scale;
    // The geometry's tables travel as tensors; backward rebuilds the plain arrays (n entries).
    saveGeometry(ctx, *g);
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& spec = saved[0];
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
    const float* sp = spec.data_ptr<float>();
    float* dxp = wantX ? dx.data_ptr<float>() : nullptr;
    at::parallel_for(0, blocks, 1, [&](int64_t bb0, int64_t bb1) {
      std::vector<float> gspec(size_t(2 * b1 * kBlock)), acc, sumRe, sumIm;
      auto& dc = partial[size_t(at::get_thread_num())];
      for (int64_t b = bb0; b < bb1; ++b) {
        const int64_t t0 = b * kBlock, tb = std::min(kBlock, T - t0);
        applyBlock(gp + t0 * d1, d1, wantX ? dxp + t0 * d2 : nullptr, d2, tb, &op, gspec.data(), acc);
        if (!wantC) continue;
        accumulateSpectrumGrad(gspec.data(), b1, sp + b * 2 * b2 * kBlock, b2, tb, tables, sumRe, sumIm, dc);
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
    std::vector<float> xspec(size_t(2 * b2 * kBlock)), gspec(size_t(2 * b1 * kBlock)), acc, sumRe, sumIm;
    auto& dc = partial[size_t(at::get_thread_num())];
    for (int64_t b = bb0; b < bb1; ++b) {
      const int64_t t0 = b * kBlock, tb = std::min(kBlock, T - t0);
      applyBlock(xp + t0 * d2, d2, nullptr, 0, tb, nullptr, xspec.data(), acc);
      applyBlock(gp + t0 * d1, d1, nullptr, 0, tb, nullptr, gspec.data(), acc);
      accumulateSpectrumGrad(gspec.data(), b1, xspec.data(), b2, tb, tables, sumRe, sumIm, dc);
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
