#include "adapters/fourierft_ops.h"

#include "adapters/spectral_cpu.h"
#include "util/autocast.h"
#include "util/error.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/csrc/autograd/custom_function.h>

#include <atomic>
#include <cmath>
#include <vector>

namespace fw::adapters {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

void checkFrequencyCount(int64_t dOut, int64_t dIn, int64_t n, const std::string& layer) {
  if (dOut <= 0 || dIn <= 0)
    throw Error("FourierFT layer must have positive sizes").got("[" + std::to_string(dOut) + ", " + std::to_string(dIn) + "]");
  const int64_t size = dOut * dIn;
  if (n > 0 && n < size) return;
  const std::string where = layer.empty() ? "" : " for layer '" + layer + "'";
  const std::string dims = std::to_string(dOut) + " x " + std::to_string(dIn) + " = " + std::to_string(size);
  if (n <= 0)
    throw Error("n_frequency must be positive" + where).expected("1 to " + std::to_string(size - 1)).got(std::to_string(n));
  throw Error("n_frequency out of range" + where + ": PEFT requires it less than d_out x d_in (" + dims + ")")
      .expected(size > 1 ? "1 to " + std::to_string(size - 1) : std::string("none: the layer has one weight"))
      .got(std::to_string(n))
      .hint(layer.empty() ? "lower n_frequency"
                          : "lower n_frequency, or give this layer a smaller value in n_frequency_pattern, or leave it "
                            "out of target_modules");
}

at::Tensor frequencyPositions(int64_t d1, int64_t d2, int64_t n, uint64_t seed) {
  checkFrequencyCount(d1, d2, n);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto idx = at::randperm(d1 * d2, gen, at::TensorOptions().dtype(at::kLong)).slice(0, 0, n);
  return at::stack({at::floor_divide(idx, d2), at::remainder(idx, d2)});
}

double ifft2NormFactor(const std::string& norm, int64_t d1, int64_t d2) {
  if (norm == "backward" || norm.empty()) return 1.0 / double(d1 * d2);
  if (norm == "ortho") return 1.0 / std::sqrt(double(d1 * d2));
  if (norm == "forward") return 1.0;
  throw Error("unknown ifft2_norm '" + norm + "'").field("ifft2_norm").expected("backward, ortho or forward");
}

SpectrumGeometry SpectrumGeometry::make(int64_t d1, int64_t d2, const at::Tensor& positions) {
  SpectrumGeometry g;
  g.d1 = d1;
  g.d2 = d2;
  auto pos = positions.to(at::kCPU, at::kLong).contiguous();
  if (pos.dim() != 2 || pos.size(0) != 2)
    throw Error("frequency positions must be [2, n]").got(pos.sizes().vec());
  g.n = pos.size(1);
  g.positions = pos;
  const int64_t* u = pos.data_ptr<int64_t>();
  const int64_t* v = u + g.n;
  const int64_t b2 = d2 / 2 + 1;
  std::vector<int64_t> uf(g.n), vf(g.n), gather(g.n), scatter, source;
  std::vector<float> pair(g.n), uh(g.n), vh(g.n), ui(g.n), vi(g.n);
  auto edge = [](int64_t k, int64_t d) { return k == 0 || (d % 2 == 0 && k == d / 2); };
  for (int64_t l = 0; l < g.n; ++l) {
    if (u[l] < 0 || u[l] >= d1 || v[l] < 0 || v[l] >= d2)
      throw Error("frequency position out of range").expected("[0, " + std::to_string(d1) + ") x [0, " + std::to_string(d2) + ")")
          .got("(" + std::to_string(u[l]) + ", " + std::to_string(v[l]) + ") at index " + std::to_string(l));
    const bool uLow = u[l] <= d1 / 2, vLow = v[l] <= d2 / 2;
    uf[l] = uLow ? u[l] : d1 - u[l];
    vf[l] = vLow ? v[l] : d2 - v[l];
    pair[l] = -float((uLow ? 1 : -1) * (vLow ? 1 : -1));
    uh[l] = edge(u[l], d1) ? 1.f : .5f;
    vh[l] = edge(v[l], d2) ? 1.f : .5f;
    ui[l] = edge(u[l], d1) ? 0.f : 1.f;
    vi[l] = edge(v[l], d2) ? 0.f : 1.f;
    // The Hermitian half spectrum of S (real): H[u,v] = (S[u,v] + S[-u,-v]) / 2 for v <= d2/2.
    const int64_t um = (d1 - u[l]) % d1, vm = (d2 - v[l]) % d2;
    if (vLow) { scatter.push_back(u[l] * b2 + v[l]); source.push_back(l); }
    if (vm <= d2 / 2) { scatter.push_back(um * b2 + vm); source.push_back(l); }
    // Re FFT2(G)[u,v] read from the half spectrum of rfft2(G).
    gather[l] = vLow ? u[l] * b2 + v[l] : um * b2 + vm;
  }
  auto longs = [](const std::vector<int64_t>& x) { return at::tensor(at::ArrayRef<int64_t>(x), at::kLong); };
  auto floats = [](const std::vector<float>& x) { return at::tensor(at::ArrayRef<float>(x), at::kFloat); };
  g.uFold = longs(uf);
  g.vFold = longs(vf);
  g.pairSign = floats(pair);
  g.uHalf = floats(uh);
  g.vHalf = floats(vh);
  g.uImag = floats(ui);
  g.vImag = floats(vi);
  g.dwScatter = longs(scatter);
  g.dwScatterRe = g.dwScatter * 2;
  g.dwSource = longs(source);
  g.dwGather = longs(gather);
  return g;
}

SpectrumGeometry SpectrumGeometry::to(const at::Device& device) const {
  SpectrumGeometry g = *this;
  for (at::Tensor* t : {&g.positions, &g.uFold, &g.vFold, &g.pairSign, &g.uHalf, &g.vHalf, &g.uImag, &g.vImag,
                        &g.dwScatter, &g.dwScatterRe, &g.dwSource, &g.dwGather})
    *t = t->to(device);
  return g;
}

void saveGeometry(AutogradContext* ctx, const SpectrumGeometry& g) {
  ctx->saved_data["d1"] = g.d1;
  ctx->saved_data["d2"] = g.d2;
  ctx->saved_data["uFold"] = g.uFold;
  ctx->saved_data["vFold"] = g.vFold;
  ctx->saved_data["pairSign"] = g.pairSign;
  ctx->saved_data["uHalf"] = g.uHalf;
  ctx->saved_data["vHalf"] = g.vHalf;
  ctx->saved_data["uImag"] = g.uImag;
  ctx->saved_data["vImag"] = g.vImag;
  ctx->saved_data["dwScatter"] = g.dwScatter;
  ctx->saved_data["dwScatterRe"] = g.dwScatterRe;
  ctx->saved_data["dwSource"] = g.dwSource;
  ctx->saved_data["dwGather"] = g.dwGather;
}

SpectrumGeometry loadGeometry(AutogradContext* ctx) {
  SpectrumGeometry g;
  g.d1 = ctx->saved_data["d1"].toInt();
  g.d2 = ctx->saved_data["d2"].toInt();
  g.uFold = ctx->saved_data["uFold"].toTensor();
  g.vFold = ctx->saved_data["vFold"].toTensor();
  g.pairSign = ctx->saved_data["pairSign"].toTensor();
  g.uHalf = ctx->saved_data["uHalf"].toTensor();
  g.vHalf = ctx->saved_data["vHalf"].toTensor();
  g.uImag = ctx->saved_data["uImag"].toTensor();
  g.vImag = ctx->saved_data["vImag"].toTensor();
  g.dwScatter = ctx->saved_data["dwScatter"].toTensor();
  g.dwScatterRe = ctx->saved_data["dwScatterRe"].toTensor();
  g.dwSource = ctx->saved_data["dwSource"].toTensor();
  g.dwGather = ctx->saved_data["dwGather"].toTensor();
  g.n = g.uFold.size(0);
  return g;
}

namespace {

// FFTW kernels for float32 on the CPU (spectral_cpu.h); tests and benchmarks turn them off to compare.
std::atomic<bool> gFftwKernels{true};

std::atomic<int> gSpectrumGrad{int(SpectrumGrad::Auto)};

// Off the CPU's FFTW kernels: does merged's backward take the spectrum gradient from per-token
// FFTs (spectrumGradFromRows) rather than from the weight gradient gᵀx and its 2-D FFT?
bool gradFromRows(int64_t tokens, const SpectrumGeometry& g, at::ScalarType dtype, const at::Device& device) {
  const auto forced = SpectrumGrad(gSpectrumGrad.load());
  if (forced != SpectrumGrad::Auto) return forced == SpectrumGrad::Rows;
  PathShape s;
  s.tokens = tokens, s.d1 = g.d1, s.d2 = g.d2, s.n = g.n, s.lowPrecision = isLowPrecision(dtype);
  return spectrumGradCost(SpectrumGrad::Rows, s, device) < spectrumGradCost(SpectrumGrad::WeightGrad, s, device);
}

// ΔW from the spectrum (no autograd): scale·c/2 written straight into the real parts of a complex
// half spectrum, one inverse rfft2. One d1 x (d2/2+1) complex buffer and the d1 x d2 result: on a
// GPU every full-size pass costs as much as the FFT itself.
at::Tensor buildDeltaWeight(const at::Tensor& c, const SpectrumGeometry& g, double scale) {
  auto spec = at::zeros({g.d1, g.d2 / 2 + 1}, c.options().dtype(at::kComplexFloat));
  at::view_as_real(spec).view({-1}).index_add_(0, g.dwScatterRe, c.to(at::kFloat).index_select(0, g.dwSource), 0.5 * scale);
  if (gFftwKernels && spec.device().is_cpu()) return irfft2Cpu(spec, g.d1, g.d2);
  return at::fft_irfft2(spec, at::IntArrayRef({g.d1, g.d2}), {-2, -1}, "forward");
}

// W0 + ΔW in the input's dtype, added in float32 and rounded once.
at::Tensor mergedWeight(const at::Tensor& w0, const at::Tensor& c, const SpectrumGeometry& g, double scale,
                        at::ScalarType dtype) {
  auto delta = buildDeltaWeight(c, g, scale);
  if (dtype == at::kFloat) return delta.add_(w0);
  auto w = at::empty({g.d1, g.d2}, delta.options().dtype(dtype));
  return at::add_out(w, delta, w0);
}

// dL/dc_l = scale · Re FFT2(G)[u_l, v_l] for G = dL/dΔW.
at::Tensor spectrumGradFromWeightGrad(const at::Tensor& gw, const SpectrumGeometry& g, double scale) {
  auto f = at::view_as_real(at::fft_rfft2(gw.to(at::kFloat))).select(-1, 0).reshape({-1});
  return f.index_select(0, g.dwGather).mul_(scale);
}

struct DeltaWeightFn : torch::autograd::Function<DeltaWeightFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& c, const SpectrumGeometry* g, double scale) {
    saveGeometry(ctx, *g);
    ctx->saved_data["scale"] = scale;
    return buildDeltaWeight(c, *g, scale);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto g = loadGeometry(ctx);
    return {spectrumGradFromWeightGrad(grads[0], g, ctx->saved_data["scale"].toDouble()), at::Tensor(), at::Tensor()};
  }
};

// Per-token real FFT of rows [T, d] (any float dtype) in float32: [T, d/2+1, 2] (real, imaginary).
// Token-major, so every transform is a contiguous batched FFT (cuFFT's and LibTorch's fast case).
at::Tensor rowsSpectrum(const at::Tensor& rows) {
  return at::view_as_real(at::fft_rfft(rows.to(at::kFloat), c10::nullopt, -1));
}

// The n bins of a row spectrum [T, b, 2], scaled per part by coef [n, 2], summed into the bins of
// an output spectrum and transformed back: [T, dOut] float32. Shared by forward and input gradient.
at::Tensor applyBins(const at::Tensor& in, const at::Tensor& gatherBins, const at::Tensor& scatterBins,
                     const at::Tensor& coef, int64_t dOut) {
  auto contrib = in.index_select(1, gatherBins).mul_(coef.unsqueeze(0));
  auto acc = at::zeros({in.size(0), dOut / 2 + 1, 2}, in.options());
  acc.index_add_(1, scatterBins, contrib);
  return at::fft_irfft(at::view_as_complex(acc), dOut, -1, "forward");
}

// dL/dc_l = scale · Re FFT2(gᵀx)[u_l, v_l] = scale · Σ_t Re(Ĝ_t[u_l] · X̂_t[v_l]), from per-token
// FFTs of x [T, d2] and g [T, d1]: no d1 x d2 weight gradient.
at::Tensor spectrumGradFromSpectra(const at::Tensor& G, const at::Tensor& X, const SpectrumGeometry& g, double scale) {
  auto prod = (G.index_select(1, g.uFold) * X.index_select(1, g.vFold)).sum(0);  // [n, 2]
  return prod.select(1, 0).add_(prod.select(1, 1) * g.pairSign).mul_(scale);
}

at::Tensor spectrumGradFromRows(const at::Tensor& x, const at::Tensor& gy, const SpectrumGeometry& g, double scale) {
  return spectrumGradFromSpectra(rowsSpectrum(gy), rowsSpectrum(x), g, scale);
}

at::Tensor forwardCoef(const at::Tensor& cf, const SpectrumGeometry& g, double scale) {
  return at::stack({cf * g.uHalf, cf * g.uHalf * g.pairSign * g.uImag}, -1).mul_(scale);
}

at::Tensor backwardCoef(const at::Tensor& cf, const SpectrumGeometry& g, double scale) {
  return at::stack({cf * g.vHalf, cf * g.vHalf * g.pairSign * g.vImag}, -1).mul_(scale);
}

struct SpectralDeltaFn : torch::autograd::Function<SpectralDeltaFn> {
  // Returns x·ΔWᵀ for rows x [T, d2] (any float dtype) as [T, d1] float32. Keeps x, not its
  // spectrum (half the memory in float32, a quarter in bf16); backward transforms it again.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& c,
                            const SpectrumGeometry* g, double scale) {
    auto y = applyBins(rowsSpectrum(x), g->vFold, g->uFold, forwardCoef(c.to(at::kFloat), *g, scale), g->d1);
    saveGeometry(ctx, *g);
    ctx->saved_data["scale"] = scale;
    ctx->save_for_backward({x, c});
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto g = loadGeometry(ctx);
    const double scale = ctx->saved_data["scale"].toDouble();
    auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &c = saved[1];
    at::Tensor dx, dc;
    const auto G = rowsSpectrum(grads[0]);  // shared by both gradients
    if (ctx->needs_input_grad(0))
      dx = applyBins(G, g.uFold, g.vFold, backwardCoef(c.to(at::kFloat), g, scale), g.d2).to(x.scalar_type());
    if (ctx->needs_input_grad(1)) dc = spectrumGradFromSpectra(G, rowsSpectrum(x), g, scale).to(c.scalar_type());
    return {dx, dc, at::Tensor(), at::Tensor()};
  }
};

struct MergedLinearFn : torch::autograd::Function<MergedLinearFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w0, const at::Tensor& bias,
                            const at::Tensor& c, const SpectrumGeometry* g, double scale) {
    auto w = mergedWeight(w0, c, *g, scale, x.scalar_type());
    saveGeometry(ctx, *g);
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["hasBias"] = bias.numel() > 0;
    ctx->save_for_backward({x, w0, c});
    // Backward needs W0 + ΔW again: a rebuild is several full-size passes and launches, which
    // bound a GPU's step on small layers. Kept for bf16/fp16 inputs when it is no larger than the
    // float32 copy of the input that LoRA holds there (d1 <= 2 x tokens), so that FourierFT never
    // holds more than LoRA; rebuilt otherwise (float32: LoRA keeps no copy of its input).
    if (isLowPrecision(x.scalar_type()) && (x.requires_grad() || c.requires_grad()) && w.numel() * w.element_size() <= 4 * x.numel())
      ctx->saved_data["weight"] = w;
    return at::linear(x, w, bias.numel() > 0 ? bias : at::Tensor());
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto g = loadGeometry(ctx);
    const double scale = ctx->saved_data["scale"].toDouble();
    auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &w0 = saved[1], &c = saved[2];
    const auto& gy = grads[0];
    at::Tensor dx, db, dc;
    if (ctx->needs_input_grad(0)) {
      auto kept = ctx->saved_data.find("weight");
      auto w = kept != ctx->saved_data.end() ? kept->second.toTensor() : mergedWeight(w0, c, g, scale, x.scalar_type());
      dx = at::matmul(gy, w);
    }
    if (ctx->saved_data["hasBias"].toBool() && ctx->needs_input_grad(2))
      db = gy.reshape({-1, g.d1}).sum(0);
    if (ctx->needs_input_grad(3)) {
      const auto rows = x.reshape({-1, g.d2}), grads = gy.reshape({-1, g.d1});
      if (gFftwKernels && x.device().is_cpu() && spectralCpuApplies(rows.to(at::kFloat))) {
        // Per-token FFTs of x and the gradient and a pass over the n bins: cheaper on the CPU than
        // the weight gradient gyᵀx (a full matmul) and its 2-D FFT.
        dc = spectrumGradCpu(rows.to(at::kFloat).contiguous(), grads.to(at::kFloat).contiguous(), g, scale);
      } else if (gradFromRows(rows.size(0), g, x.scalar_type(), x.device())) {
        dc = spectrumGradFromRows(rows, grads, g, scale);
      } else {
        // The weight gradient in the input's dtype (bf16 on tensor cores, float32 accumulation),
        // its 2-D FFT in float32.
        const auto t = x.device().is_cpu() ? at::kFloat : x.scalar_type();
        dc = spectrumGradFromWeightGrad(at::mm(grads.to(t).t(), rows.to(t)), g, scale);
      }
      dc = dc.to(c.scalar_type());
    }
    return {dx, at::Tensor(), db, dc, at::Tensor(), at::Tensor()};
  }
};

void checkShapes(const at::Tensor& x, const at::Tensor& w0, const at::Tensor& spectrum, const SpectrumGeometry& g) {
  if (w0.dim() != 2 || w0.size(0) != g.d1 || w0.size(1) != g.d2)
    throw Error("base weight does not match the FourierFT layer").expected({g.d1, g.d2}).got(w0.sizes().vec());
  if (x.dim() < 1 || x.size(-1) != g.d2)
    throw Error("input's last dimension does not match the layer's in_features")
        .expected(std::to_string(g.d2)).got(x.sizes().vec());
  if (spectrum.dim() != 1 || spectrum.size(0) != g.n)
    throw Error("spectrum length does not match n_frequency").expected(std::to_string(g.n)).got(spectrum.sizes().vec());
}

}  // namespace

at::Tensor deltaWeight(const at::Tensor& spectrum, const SpectrumGeometry& g, double scale) {
  return DeltaWeightFn::apply(spectrum, &g, scale);
}

at::Tensor deltaWeightPeft(const at::Tensor& spectrum, const SpectrumGeometry& g, double alpha) {
  auto dense = at::zeros({g.d1, g.d2}, spectrum.options().dtype(at::kFloat));
  auto pos = g.positions.to(spectrum.device());
  dense = dense.index_put({pos[0], pos[1]}, spectrum.to(at::kFloat));
  return at::real(at::fft_ifft2(dense)) * alpha;
}

const char* pathName(FourierPath p) {
  switch (p) {
    case FourierPath::Auto: return "auto";
    case FourierPath::Dense: return "dense";
    case FourierPath::Merged: return "merged";
    case FourierPath::Spectral: return "spectral";
  }
  return "?";
}

FourierPath pathFromName(const std::string& name) {
  for (auto p : {FourierPath::Auto, FourierPath::Dense, FourierPath::Merged, FourierPath::Spectral})
    if (name == pathName(p)) return p;
  throw Error("unknown FourierFT path '" + name + "'").expected("auto, dense, merged or spectral");
}

at::Tensor fourierLinearDense(const at::Tensor& x, const at::Tensor& w0, const at::Tensor& bias,
                              const at::Tensor& spectrum, const SpectrumGeometry& g, double scale) {
  checkShapes(x, w0, spectrum, g);
  auto dw = deltaWeight(spectrum, g, scale).to(x.scalar_type());
  return at::linear(x, w0, bias) + at::linear(x, dw);
}

PathShape pathShapeOf(const at::Tensor& x, const SpectrumGeometry& g, bool spectrumNeedsGrad) {
  PathShape s;
  s.tokens = x.numel() / std::max<int64_t>(1, x.size(-1));
  s.d1 = g.d1;
  s.d2 = g.d2;
  s.n = g.n;
  s.backward = at::GradMode::is_enabled() && (spectrumNeedsGrad || x.requires_grad());
  s.inputGrad = x.requires_grad();
  const auto cast = autocastDtype(x.device());
  s.lowPrecision = isLowPrecision(cast && x.scalar_type() == at::kFloat ? *cast : x.scalar_type());
  return s;
}

at::Tensor fourierLinearMerged(const at::Tensor& x, const at::Tensor& w0, const at::Tensor& bias,
                               const at::Tensor& spectrum, const SpectrumGeometry& g, double scale) {
  checkShapes(x, w0, spectrum, g);
  // Custom autograd functions cannot take an undefined tensor: no bias is an empty one.
  const auto b = bias.defined() ? bias : at::empty({0}, w0.options());
  // Under autocast (bf16 mixed precision) do what it does for a linear layer, once and outside the
  // function: x and the bias in its dtype (W0 + ΔW follows x's), autocast off inside. Otherwise
  // forward's matmul is cast and backward's is not (backward runs outside autocast): bf16
  // gradients against a float32 weight.
  if (const auto dt = autocastDtype(x.device()); dt && x.scalar_type() == at::kFloat) {
    c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::autocast_dispatch_keyset);
    return MergedLinearFn::apply(x.to(*dt), w0, b.to(*dt), spectrum, &g, scale);
  }
  return MergedLinearFn::apply(x, w0, b, spectrum, &g, scale);
}

void setFftwKernels(bool enabled) { gFftwKernels = enabled; }
bool fftwKernels() { return gFftwKernels; }
void setSpectrumGrad(SpectrumGrad method) { gSpectrumGrad = int(method); }

const char* spectrumGradName(SpectrumGrad m) {
  switch (m) {
    case SpectrumGrad::Auto: return "auto";
    case SpectrumGrad::WeightGrad: return "weight";
    case SpectrumGrad::Rows: return "rows";
  }
  return "?";
}

SpectrumGrad spectrumGradFromName(const std::string& name) {
  for (auto m : {SpectrumGrad::Auto, SpectrumGrad::WeightGrad, SpectrumGrad::Rows})
    if (name == spectrumGradName(m)) return m;
  throw Error("unknown spectrum-gradient method '" + name + "'").expected("auto, weight or rows");
}

at::Tensor fourierLinearSpectral(const at::Tensor& x, const at::Tensor& w0, const at::Tensor& bias,
                                 const at::Tensor& spectrum, const SpectrumGeometry& g, double scale) {
  checkShapes(x, w0, spectrum, g);
  auto rows = x.reshape({-1, g.d2});
  at::Tensor delta;
  if (gFftwKernels && x.device().is_cpu()) delta = spectralDeltaCpu(rows.to(at::kFloat).contiguous(), spectrum, g, scale);
  else delta = SpectralDeltaFn::apply(rows, spectrum, &g, scale);
  auto outShape = x.sizes().vec();
  outShape.back() = g.d1;
  // In place: one pass that adds the float32 delta and rounds once to the input's dtype.
  return at::linear(x, w0, bias).add_(delta.reshape(outShape));
}

namespace {

// Off the CPU (a GPU): bytes of memory traffic, the unit of an elementwise or FFT pass, plus the
// launches of the path's kernels; a matmul's multiply-adds count as bytes at the device's ratio of
// arithmetic to bandwidth (an H100: ~50 TFLOP/s in float32 without TF32, ~600 in bf16 on tensor
// cores, ~3 TB/s). Rough by design: `fourierft bench --path` measures each path; on an H200 it
// chose the fastest path or a tie in all six cases of docs/performance.md ("On a GPU").
constexpr double kLaunchBytes = 15e6;  // ~5 us of a GPU's bandwidth per kernel

double flopBytes(const PathShape& s) { return s.lowPrecision ? 1.0 / 200.0 : 1.0 / 17.0; }

double gpuBuildBytes(const PathShape& s) {
  // zeroed complex half spectrum, 2-D inverse FFT (about three passes), W0 + ΔW and its rounding
  return double(s.d1) * double(s.d2) * (4.0 + 3.0 * 8.0 + 10.0) + 4 * kLaunchBytes;
}

}  // namespace

double spectrumGradCost(SpectrumGrad method, const PathShape& s, const at::Device& device) {
  const double T = double(s.tokens), D1 = double(s.d1), D2 = double(s.d2), N = double(s.n);
  if (device.is_cpu()) return method == SpectrumGrad::Rows ? 0.0 : 1.0;  // the CPU takes FFTW's kernel
  if (method == SpectrumGrad::Rows)  // two row FFTs, two gathers of [T, n] complex, their product and sum
    return T * (16.0 * (D1 + D2) + 48.0 * N) + 8 * kLaunchBytes;
  // gᵀx and the rfft2 of it in float32
  return 2.0 * T * D1 * D2 * flopBytes(s) + 28.0 * D1 * D2 + 4 * kLaunchBytes;
}

double pathCost(FourierPath path, const PathShape& s, const at::Device& device) {
  const double T = double(s.tokens), D1 = double(s.d1), D2 = double(s.d2), N = double(s.n);
  if (!device.is_cpu()) {  // a GPU: bytes moved (see above)
    switch (path) {
      case FourierPath::Merged: {
        if (!s.backward) return gpuBuildBytes(s);
        return 2.0 * gpuBuildBytes(s) + std::min(spectrumGradCost(SpectrumGrad::Rows, s, device),
                                                 spectrumGradCost(SpectrumGrad::WeightGrad, s, device));
      }
      case FourierPath::Dense:
        return ((s.backward ? 2.0 : 1.0) + (s.backward && s.inputGrad ? 1.0 : 0.0)) * 2.0 * T * D1 * D2 * flopBytes(s) +
               gpuBuildBytes(s);
      case FourierPath::Spectral: {
        // forward: rfft(x), gather and scale, scatter, irfft, add; backward: rfft(g), x again and
        // the gradient's gathers, and for the input gradient the forward's bins and irfft again
        double bytes = T * (16.0 * D2 + 24.0 * N + 24.0 * D1) + 8 * kLaunchBytes;
        if (s.backward) {
          bytes += T * (16.0 * (D1 + D2) + 48.0 * N) + 8 * kLaunchBytes;
          if (s.inputGrad) bytes += T * (24.0 * N + 24.0 * D2) + 6 * kLaunchBytes;
        }
        return bytes;
      }
      case FourierPath::Auto: break;
    }
    throw Error("internal: no cost for path 'auto'");
  }
  // The CPU: extra work over the frozen layer, in units of one multiply-add of a matmul.
  // merged: a ΔW build (2D FFT) per pass, the spectrum gradient in backward.
  // spectral: per-token FFTs in and out, and passes over the n bins of every token.
  const double fft1 = D1 * std::log2(D1), fft2 = D2 * std::log2(D2);
  // Relative cost of an FFT butterfly (element x log2 size), of one bin multiply-add (per token,
  // per coefficient, per pass) and of a butterfly of the ΔW build (a one-thread 2-D FFT with the
  // scatter before it and the add after it) against a matmul multiply-add, fitted to
  // `fourierft bench-layer` on the 2-core CPU here (README.md, "Choosing the path"; the extra
  // milliseconds over `limit` at 768x768 with 512 and 4096 tokens and at 3072x768 with 2048).
  const double fftCost = 25.0, binCost = 30.0, buildCost = 55.0;
  const double build = buildCost * (D2 * fft1 + D1 * fft2);
  switch (path) {
    case FourierPath::Merged: {
      if (!s.backward) return build;
      // The spectrum gradient: per-token FFTs of x and the output gradient and one pass over the
      // bins (spectrumGradCpu), or without FFTW the weight gradient gᵀx.
      const double grad = fftwKernels() ? T * (fftCost * (fft1 + fft2) + binCost * N) : T * D1 * D2;
      return 2.0 * build + grad;
    }
    case FourierPath::Dense:
      return (s.backward ? 2.0 : 1.0) * T * D1 * D2 + (s.backward && s.inputGrad ? T * D1 * D2 : 0.0) + build;
    case FourierPath::Spectral: {
      double ffts = fft1 + fft2, bins = 2.0;  // forward: rfft(x), gather/scale, scatter, irfft
      if (s.backward) {
        ffts += fft1 + fft2, bins += 2.0;  // rfft(g), rfft(x) again and the spectrum-gradient reduction
        if (s.inputGrad) ffts += fft2, bins += 2.0;
      }
      return T * (fftCost * ffts + binCost * N * bins);
    }
    case FourierPath::Auto: break;
  }
  throw Error("internal: no cost for path 'auto'");
}

FourierPath choosePath(const PathShape& s, const at::Device& device) {
  return pathCost(FourierPath::Spectral, s, device) < pathCost(FourierPath::Merged, s, device)
             ? FourierPath::Spectral : FourierPath::Merged;
}

}  // namespace fw::adapters
