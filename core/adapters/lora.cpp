#include "adapters/lora.h"

#include "util/error.h"

#include <torch/nn/init.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <cmath>
#include <sstream>

namespace fw::adapters {

LoRAAdapter::LoRAAdapter(int64_t dOut, int64_t dIn, int64_t r, double alpha, const LoRAConfig& config)
    : config_(config), alpha_(alpha) {
  if (r <= 0) throw Error("LoRA rank must be positive").field("r").got(std::to_string(r));
  if (config.lora_dropout < 0 || config.lora_dropout >= 1)
    throw Error("lora_dropout must be in [0, 1)").field("lora_dropout").got(std::to_string(config.lora_dropout));
  scaling_ = config.use_rslora ? alpha / std::sqrt(double(r)) : alpha / double(r);
  at::NoGradGuard noGrad;
  A_ = at::empty({r, dIn}, at::kFloat);
  B_ = at::empty({dOut, r}, at::kFloat);
  const auto& init = config.init_lora_weights;
  if (init == "true" || init == "false") torch::nn::init::kaiming_uniform_(A_, std::sqrt(5.0));
  else if (init == "gaussian") A_.normal_(0.0, 1.0 / double(r));
  else throw Error("unknown init_lora_weights '" + init + "'").field("init_lora_weights").expected("true, false or gaussian");
  if (init == "false") torch::nn::init::kaiming_uniform_(B_, std::sqrt(5.0));
  else B_.zero_();
}

void LoRAAdapter::attach(torch::nn::Module& host) {
  // Float32 on the host's device, as PEFT keeps adapter weights (autocast_adapter_dtype).
  auto device = host.parameters().empty() ? at::Device(at::kCPU) : host.parameters().front().device();
  auto opts = at::TensorOptions(at::kFloat).device(device);
  // lora_A / lora_B as child Linear modules, so their keys are "lora_A.weight", "lora_B.weight".
  auto a = torch::nn::Linear(torch::nn::LinearOptions(A_.size(1), A_.size(0)).bias(false));
  auto b = torch::nn::Linear(torch::nn::LinearOptions(B_.size(1), B_.size(0)).bias(false));
  {
    at::NoGradGuard noGrad;
    a->weight.set_data(A_.to(opts));
    b->weight.set_data(B_.to(opts));
  }
  host.register_module("lora_A", a);
  host.register_module("lora_B", b);
  A_ = a->weight;
  B_ = b->weight;
}

at::Tensor LoRAAdapter::forward(const at::Tensor& x, const at::Tensor& w0, const at::Tensor& bias, bool training) {
  auto base = at::linear(x, w0, bias);
  auto h = config_.lora_dropout > 0 ? at::dropout(x, config_.lora_dropout, training) : x;
  return base + at::linear(at::linear(h.to(A_.scalar_type()), A_), B_).mul(scaling_).to(base.scalar_type());
}

at::Tensor LoRAAdapter::deltaWeight() const {
  at::NoGradGuard noGrad;
  return at::mm(B_.to(at::kFloat), A_.to(at::kFloat)).mul_(scaling_);
}

std::vector<std::pair<std::string, at::Tensor>> LoRAAdapter::namedParameters() const {
  return {{"lora_A.weight", A_}, {"lora_B.weight", B_}};
}

std::string LoRAAdapter::describe() const {
  std::ostringstream s;
  s << "r=" << rank() << " alpha=" << alpha_ << (config_.use_rslora ? " rslora" : "");
  if (config_.lora_dropout > 0) s << " dropout=" << config_.lora_dropout;
  return s.str();
}

}  // namespace fw::adapters
