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

// Batched 1-D transforms between token rows and the bins x tokens complex layout, cached per shape.
class Plans {
public:
  // rows [tokens, n] -> spectrum [n/2+1][tokens] (complex)
  fftwf_plan forward(int64_t n, int64_t tokens) { return get(true, n, tokens); }
  // spectrum [n/2+1][tokens] -> rows [tokens, n] (the input is overwritten)
  fftwf_plan inverse(int64_t n, int64_t tokens) { return get(false, n, tokens); }

  static Plans& instance() {
    static Plans p;
    return p;
  }
  // At exit the plans go back (the sanitizer build's leak check runs after static destructors).
  // No fftwf_cleanup(): the analysis plan cache may still destroy its own plans after this.
  ~Plans() {
    std::lock_guard<std::mutex> lock(fftwPlannerMutex());
    for (auto& [key, plan] : plans_) fftwf_destroy_plan(plan);
    plans_.clear();
  }

private:
  fftwf_plan get(bool forward, int64_t n, int64_t tokens) {
    std::lock_guard<std::mutex> lock(fftwPlannerMutex());
    auto key = std::make_tuple(forward, n, tokens);
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second;
    const int64_t bins = n / 2 + 1;
    // Planning with FFTW_MEASURE overwrites its arrays: plan on scratch, execute on ours.
    std::unique_ptr<float, decltype(&fftwf_free)> rows(fftwf_alloc_real(size_t(n * tokens)), &fftwf_free);
    std::unique_ptr<fftwf_complex, decltype(&fftwf_free)> spec(fftwf_alloc_complex(size_t(bins * tokens)), &fftwf_free);
    fftwf_plan p;
    const unsigned flags = FFTW_MEASURE | FFTW_UNALIGNED;
    // Interleaved complex output, not the split-array guru interface: FFTW 3.3.10's split r2c
    // writes one element past the real array at these strides (valgrind; tests/fuzz would crash).
    if (forward) {
      fftwf_iodim dim{int(n), 1, int(tokens)};
      fftwf_iodim many{int(tokens), int(n), 1};
      p = fftwf_plan_guru_dft_r2c(1, &dim, 1, &many, rows.get(), spec.get(), flags);
    } else {
      fftwf_iodim dim{int(n), int(tokens), 1};
      fftwf_iodim many{int(tokens), 1, int(n)};
      p = fftwf_plan_guru_dft_c2r(1, &dim, 1, &many, spec.get(), rows.get(), flags);
    }
    if (!p) throw Error("FFTW could not plan a transform").got("n " + std::to_string(n) + ", tokens " + std::to_string(tokens));
    plans_[key] = p;
    return p;
  }
  std::map<std::tuple<bool, int64_t, int64_t>, fftwf_plan> plans_;
};

// acc[t] += (re * in[t].re, im * in[t].im) over interleaved complex tokens: the whole cost of a
// coefficient, vectorised by the compiler.
inline void axpy(float* __restrict acc, const float* __restrict in, float re, float im, int64_t tokens) {
  for (int64_t t = 0; t < tokens; ++t) {
    acc[2 * t] += re * in[2 * t];
    acc[2 * t + 1] += im * in[2 * t + 1];
  }
}

// Sum over tokens of a.re*b.re + pairSign * a.im*b.im.
inline double dot(const float* __restrict a, const float* __restrict b, float pairSign, int64_t tokens) {
  float sr = 0, si = 0;
  for (int64_t t = 0; t < tokens; ++t) {
    sr += a[2 * t] * b[2 * t];
    si += a[2 * t + 1] * b[2 * t + 1];
  }
  return double(sr) + double(pairSign) * double(si);
}

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

// One direction of the operator for a block: rows_in [tb, dIn] -> rows_out [tb, dOut], with
// the input's spectrum ([dIn/2+1][tb] complex) left in specIn for the gradient.
void applyBlock(const float* rowsIn, int64_t dIn, float* rowsOut, int64_t dOut, int64_t tb, const int64_t* gather,
                const int64_t* scatter, const float* coefRe, const float* coefIm, int64_t n, float* specIn,
                std::vector<float>& acc) {
  auto& plans = Plans::instance();
  fftwf_execute_dft_r2c(plans.forward(dIn, tb), const_cast<float*>(rowsIn), reinterpret_cast<fftwf_complex*>(specIn));
  if (!rowsOut) return;
  const int64_t binsOut = dOut / 2 + 1;
  acc.assign(size_t(2 * binsOut * tb), 0.f);
  for (int64_t l = 0; l < n; ++l)
    axpy(acc.data() + 2 * scatter[l] * tb, specIn + 2 * gather[l] * tb, coefRe[l], coefIm[l], tb);
  fftwf_execute_dft_c2r(plans.inverse(dOut, tb), reinterpret_cast<fftwf_complex*>(acc.data()), rowsOut);
}

struct SpectralCpuFn : torch::autograd::Function<SpectralCpuFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& c, const SpectrumGeometry* g,
                            double scale) {
    const int64_t T = x.size(0), d1 = g->d1, d2 = g->d2, n = g->n, b2 = d2 / 2 + 1;
    const Tables tables(*g);
    std::vector<float> coefRe, coefIm;
    coefficients(c, scale, tables, tables.uHalf, tables.uImag, coefRe, coefIm);
    const int64_t blocks = (T + kBlock - 1) / kBlock;
    // The input's spectrum, kept for the spectrum gradient: per block [b2][kBlock] complex.
    auto spec = at::empty({blocks, b2, kBlock, 2}, x.options());
    auto y = at::empty({T, d1}, x.options());
    const float* xp = x.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    float* sp = spec.data_ptr<float>();
    at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
      std::vector<float> acc;
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t t0 = b * kBlock, tb = std::min(kBlock, T - t0);
        applyBlock(xp + t0 * d2, d2, yp + t0 * d1, d1, tb, tables.vFold.data(), tables.uFold.data(), coefRe.data(),
                   coefIm.data(), n, sp + b * 2 * b2 * kBlock, acc);
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
    const bool wantX = ctx->needs_input_grad(0), wantC = ctx->needs_input_grad(1);
    at::Tensor dx = wantX ? at::empty({T, d2}, gy.options()) : at::Tensor();
    const int64_t blocks = (T + kBlock - 1) / kBlock;
    const int threads = at::get_num_threads();
    std::vector<std::vector<double>> partial(size_t(threads), std::vector<double>(wantC ? size_t(n) : 0, 0.0));
    const float* gp = gy.data_ptr<float>();
    const float* sp = spec.data_ptr<float>();
    float* dxp = wantX ? dx.data_ptr<float>() : nullptr;
    at::parallel_for(0, blocks, 1, [&](int64_t bb0, int64_t bb1) {
      std::vector<float> gspec(size_t(2 * b1 * kBlock)), acc;
      auto& dc = partial[size_t(at::get_thread_num())];
      for (int64_t b = bb0; b < bb1; ++b) {
        const int64_t t0 = b * kBlock, tb = std::min(kBlock, T - t0);
        applyBlock(gp + t0 * d1, d1, wantX ? dxp + t0 * d2 : nullptr, d2, tb, tables.uFold.data(), tables.vFold.data(),
                   coefRe.data(), coefIm.data(), n, gspec.data(), acc);
        if (!wantC) continue;
        const float* xs = sp + b * 2 * b2 * kBlock;
        for (int64_t l = 0; l < n; ++l) {
          const int64_t u = 2 * tables.uFold[size_t(l)] * tb, v = 2 * tables.vFold[size_t(l)] * tb;
          dc[size_t(l)] += dot(gspec.data() + u, xs + v, tables.pair[size_t(l)], tb);
        }
      }
    });
    at::Tensor dcT;
    if (wantC) {
      dcT = at::zeros({n}, at::kDouble);
      double* out = dcT.data_ptr<double>();
      for (const auto& p : partial)
        for (int64_t l = 0; l < n && !p.empty(); ++l) out[l] += p[size_t(l)];
      dcT = dcT.mul_(scale).to(c.scalar_type());
    }
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

}  // namespace fw::adapters
