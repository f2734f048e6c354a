#include "adapters/adapted_linear.h"

#include "util/error.h"

#include <torch/nn/init.h>

#include <cmath>

namespace fw::adapters {

AdaptedLinearImpl::AdaptedLinearImpl(int64_t inFeatures, int64_t outFeatures, bool withBias, bool fanInFanOut,
                                     const at::TensorOptions& options)
    : in_(inFeatures), out_(outFeatures), fanInFanOut_(fanInFanOut) {
  if (inFeatures <= 0 || outFeatures <= 0)
    throw Error("linear layer sizes must be positive").got("in " + std::to_string(inFeatures) + ", out " + std::to_string(outFeatures));
  auto opts = options.has_dtype() ? options : options.dtype(at::kFloat);
  weight = register_parameter("weight", fanInFanOut ? at::empty({in_, out_}, opts) : at::empty({out_, in_}, opts));
  // torch.nn.Linear's initialisation: Kaiming-uniform weight, bias in ±1/sqrt(in).
  {
    at::NoGradGuard noGrad;
    auto w = baseWeight();
    auto tmp = at::empty({out_, in_}, opts.dtype(at::kFloat));
    torch::nn::init::kaiming_uniform_(tmp, std::sqrt(5.0));
    w.copy_(tmp);
  }
  if (withBias) {
    bias = register_parameter("bias", at::empty({out_}, opts));
    at::NoGradGuard noGrad;
    const double bound = 1.0 / std::sqrt(double(in_));
    bias.uniform_(-bound, bound);
  }
}

at::Tensor AdaptedLinearImpl::forward(const at::Tensor& x) {
  if (!adapter_ || merged_) return at::linear(x, baseWeight(), bias);
  return adapter_->forward(x, baseWeight(), bias, is_training());
}

void AdaptedLinearImpl::setAdapter(std::shared_ptr<Adapter> adapter) {
  if (adapter_) throw Error("layer already has an adapter").hint("build the model again to change the method");
  adapter_ = std::move(adapter);
  adapter_->attach(*this);
}

void AdaptedLinearImpl::merge(bool keepOriginal) {
  if (!adapter_) throw Error("merge: the layer has no adapter");
  if (merged_) return;
  at::NoGradGuard noGrad;
  if (keepOriginal) original_ = weight.clone();
  auto delta = adapter_->deltaWeight().to(weight.device());
  // Added in float32, then rounded once to the weight's dtype.
  auto w = baseWeight();
  w.copy_(w.to(at::kFloat) + delta);
  merged_ = true;
}

void AdaptedLinearImpl::unmerge() {
  if (!merged_) return;
  at::NoGradGuard noGrad;
  if (original_.defined()) {
    weight.copy_(original_);
    original_ = at::Tensor();
  } else {
    auto w = baseWeight();
    w.copy_(w.to(at::kFloat) - adapter_->deltaWeight().to(weight.device()));
  }
  merged_ = false;
}

}  // namespace fw::adapters
