#pragma once
// The reference every FourierFT path is checked against (tests and `fourierft selftest`):
// DESIGN.md's cosine sum written out directly, in float64, differentiable by autograd.
//   ΔW[j,k] = scale · Σ_l c_l · cos(2π (u_l·j/d1 + v_l·k/d2))
// O(n·d1·d2) time and memory: for checking small layers, never for training.
#include <ATen/ATen.h>

namespace fw::adapters {

at::Tensor naiveDeltaWeight(const at::Tensor& spectrum, const at::Tensor& positions, int64_t d1, int64_t d2,
                            double scale);

}  // namespace fw::adapters
