#include "adapters/fourierft.h"

#include "util/error.h"

#include <torch/nn/module.h>

#include <ATen/core/grad_mode.h>

#include <sstream>

namespace fw::adapters {

FourierFTAdapter::FourierFTAdapter(int64_t dOut, int64_t dIn, int64_t n, const FourierFTConfig& config,
                                   at::Tensor positions)
    : config_(config) {
  checkFrequencyCount(dOut, dIn, n);
  if (!positions.defined()) positions = frequencyPositions(dOut, dIn, n, config.random_loc_seed);
  else if (positions.dim() != 2 || positions.size(0) != 2 || positions.size(1) != n)
    throw Error("frequency positions do not match n_frequency").expected({2, n}).got(positions.sizes().vec());
  geometry_ = SpectrumGeometry::make(dOut, dIn, positions);
  onDevice_ = geometry_;
  scale_ = config.scaling * ifft2NormFactor(config.ifft2_norm, dOut, dIn);
  spectrum_ = config.init_weights ? at::zeros({n}, at::kFloat) : at::randn({n}, at::kFloat);
}

void FourierFTAdapter::attach(torch::nn::Module& host) {
  // Float32 whatever the host's dtype: the spectrum math is float32 (DESIGN.md).
  auto device = host.parameters().empty() ? at::Device(at::kCPU) : host.parameters().front().device();
  spectrum_ = host.register_parameter("fourierft_spectrum", spectrum_.to(device), /*requires_grad=*/true);
}

const SpectrumGeometry& FourierFTAdapter::geometryOn(const at::Device& device) {
  if (onDevice_.uFold.device() != device) onDevice_ = geometry_.to(device);
  return onDevice_;
}

at::Tensor FourierFTAdapter::forward(const at::Tensor& x, const at::Tensor& w0, const at::Tensor& bias, bool /*training*/) {
  const auto& g = geometryOn(x.device());
  FourierPath path = config_.path;
  if (path == FourierPath::Auto) path = choosePath(pathShapeOf(x, g, spectrum_.requires_grad()), x.device());
  lastPath_ = path;
  switch (path) {
    case FourierPath::Dense: return fourierLinearDense(x, w0, bias, spectrum_, g, scale_);
    case FourierPath::Merged: return fourierLinearMerged(x, w0, bias, spectrum_, g, scale_);
    default: return fourierLinearSpectral(x, w0, bias, spectrum_, g, scale_);
  }
}

at::Tensor FourierFTAdapter::deltaWeight() const {
  at::NoGradGuard noGrad;
  auto g = geometry_.to(spectrum_.device());
  return adapters::deltaWeight(spectrum_.detach(), g, scale_);
}

std::vector<std::pair<std::string, at::Tensor>> FourierFTAdapter::namedParameters() const {
  return {{"fourierft_spectrum", spectrum_}};
}

std::string FourierFTAdapter::describe() const {
  std::ostringstream s;
  s << "n=" << geometry_.n << " scaling=" << config_.scaling << " seed=" << config_.random_loc_seed
    << " path=" << pathName(config_.path);
  if (config_.path == FourierPath::Auto && lastPath_ != FourierPath::Auto) s << "(" << pathName(lastPath_) << ")";
  return s.str();
}

}  // namespace fw::adapters
