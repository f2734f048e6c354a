#pragma once
// The FourierFT layer math (DESIGN.md "The method" and "Three ways to compute the same layer").
//
//   ΔW[j,k] = scale · Σ_l c_l · cos(2π (u_l·j/d1 + v_l·k/d2)),  scale = α · norm(d1, d2)
//
// which is α · Re(IFFT2(S)) with S[u_l, v_l] = c_l, exactly what PEFT computes. Every function
// here works in float32 whatever the input dtype, on any device, and has a hand-written backward.
#include <ATen/ATen.h>

#include <string>

namespace torch::autograd {
struct AutogradContext;
}

namespace fw::adapters {

// PEFT's bounds on a layer's n_frequency (FourierFTLayer.update_layer): 0 < n < d_out·d_in;
// PEFT refuses n equal to the layer's size too. Throws fw::Error naming the layer's size, and
// the layer when `layer` is given.
void checkFrequencyCount(int64_t dOut, int64_t dIn, int64_t n, const std::string& layer = "");

// PEFT's positions: randperm(d1*d2, CPU generator seeded with `seed`)[:n], u = idx / d2,
// v = idx % d2. Returns [2, n] int64 (row 0: u, row 1: v) on the CPU. n as checkFrequencyCount.
at::Tensor frequencyPositions(int64_t d1, int64_t d2, int64_t n, uint64_t seed);

// PEFT's `ifft2_norm`: "backward" (default, 1/(d1·d2)), "ortho" (1/sqrt(d1·d2)), "forward" (1).
double ifft2NormFactor(const std::string& norm, int64_t d1, int64_t d2);

// Precomputed index tables for one layer: everything that depends on (d1, d2, positions) only.
// The half-spectrum formulation uses fold(u) = min(u, d1 - u) and the sign of the imaginary part.
struct SpectrumGeometry {
  int64_t d1 = 0, d2 = 0, n = 0;
  at::Tensor positions;        // [2, n] int64
  at::Tensor uFold, vFold;     // [n] int64: bins of the real FFT along d1 and d2
  at::Tensor pairSign;         // [n] float: -sign(u)·sign(v), pairs imaginary parts
  at::Tensor uHalf, vHalf;     // [n] float: 1 at the DC/Nyquist bins, 1/2 elsewhere
  at::Tensor uImag, vImag;     // [n] float: 0 at the DC/Nyquist bins (imaginary part unused), 1 elsewhere
  at::Tensor dwScatter;        // [m] int64 into d1 x (d2/2+1): where c_l/2 lands in the half spectrum
  at::Tensor dwScatterRe;      // [m] int64: 2·dwScatter, the same bins' real parts in a float view
  at::Tensor dwSource;         // [m] int64: which l each dwScatter entry takes
  at::Tensor dwGather;         // [n] int64 into d1 x (d2/2+1): where Re FFT2(G)[u_l, v_l] is read

  static SpectrumGeometry make(int64_t d1, int64_t d2, const at::Tensor& positions);
  SpectrumGeometry to(const at::Device& device) const;
};

// ΔW = scale · Re(IFFT2(S)), [d1, d2] float32, differentiable in `spectrum` (one rfft2 back).
at::Tensor deltaWeight(const at::Tensor& spectrum, const SpectrumGeometry& g, double scale);

// The same through a dense spectrum and a complex ifft2 with the default norm: PEFT's code,
// letter for letter (alpha is PEFT's `scaling`).
at::Tensor deltaWeightPeft(const at::Tensor& spectrum, const SpectrumGeometry& g, double alpha);

// y = x·W0ᵀ + b + x·ΔWᵀ, three ways. x: [..., d2], w0: [d1, d2] (may be a transposed view),
// bias: [d1] or undefined. All three give the same value and gradients for x and spectrum;
// w0 and bias are treated as frozen.
enum class FourierPath { Auto, Dense, Merged, Spectral };
const char* pathName(FourierPath p);
FourierPath pathFromName(const std::string& name);  // throws fw::Error listing the choices

// dense: build ΔW, second matmul (PEFT). Autograd through deltaWeight.
at::Tensor fourierLinearDense(const at::Tensor& x, const at::Tensor& w0, const at::Tensor& bias,
                              const at::Tensor& spectrum, const SpectrumGeometry& g, double scale);
// merged: one matmul with W0 + ΔW; ΔW is rebuilt in backward, never stored.
at::Tensor fourierLinearMerged(const at::Tensor& x, const at::Tensor& w0, const at::Tensor& bias,
                               const at::Tensor& spectrum, const SpectrumGeometry& g, double scale);
// spectral: x·ΔWᵀ through per-token real FFTs and the n bins, never forming ΔW.
at::Tensor fourierLinearSpectral(const at::Tensor& x, const at::Tensor& w0, const at::Tensor& bias,
                                 const at::Tensor& spectrum, const SpectrumGeometry& g, double scale);

// Carry a geometry's index tensors through an autograd context (the hand-written backward
// passes of this folder: fourierft_ops.cpp and spectral_cpu.cpp).
void saveGeometry(torch::autograd::AutogradContext* ctx, const SpectrumGeometry& g);
SpectrumGeometry loadGeometry(torch::autograd::AutogradContext* ctx);

// The spectral path uses the FFTW kernels (spectral_cpu.h) for float32 on the CPU unless turned
// off here (tests and benchmarks compare both).
void setFftwKernels(bool enabled);
bool fftwKernels();

// What the path choice depends on: the layer, the tokens of this call and what is differentiated.
struct PathShape {
  int64_t tokens = 0, d1 = 0, d2 = 0, n = 0;
  bool backward = true;   // a backward pass follows (training)
  bool inputGrad = true;  // the input needs its gradient (every layer but the first)
  bool lowPrecision = false;  // bf16/fp16 input: a GPU's matmuls run on tensor cores
};

// bf16 or fp16: what PathShape::lowPrecision and merged's kept weight go by.
inline bool isLowPrecision(at::ScalarType t) { return t == at::kBFloat16 || t == at::kHalf; }
// The shape and precision a layer computes x in: under autocast a float32 x counts as autocast's
// dtype, which the matmuls (and merged, which casts x itself) then run in.
PathShape pathShapeOf(const at::Tensor& x, const SpectrumGeometry& g, bool spectrumNeedsGrad);
// How merged's backward forms the spectrum gradient where FFTW's CPU kernel does not apply (a
// GPU): from the weight gradient gᵀx and its 2-D FFT (a T·d1·d2 matmul), or from per-token FFTs
// of x and g and a pass over the n bins. Auto picks the cheaper by spectrumGradCost; benchmarks
// force one to measure both.
enum class SpectrumGrad { Auto, WeightGrad, Rows };
void setSpectrumGrad(SpectrumGrad method);
const char* spectrumGradName(SpectrumGrad method);  // auto, weight, rows
SpectrumGrad spectrumGradFromName(const std::string& name);  // throws fw::Error listing the choices
double spectrumGradCost(SpectrumGrad method, const PathShape& shape, const at::Device& device);

// Estimated extra cost of a path over the frozen layer (cost model in the .cpp).
double pathCost(FourierPath path, const PathShape& shape, const at::Device& device);
// The cheaper of merged and spectral (dense is never cheaper than merged; it is the reference).
FourierPath choosePath(const PathShape& shape, const at::Device& device);

}  // namespace fw::adapters
