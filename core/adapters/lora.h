#pragma once
// LoRA on one linear layer (PEFT: peft.tuners.lora.layer.Linear):
// y = x·W0ᵀ + b + dropout(x)·Aᵀ·Bᵀ·s,  A [r, in], B [out, r], s = alpha/r (alpha/sqrt(r) with rsLoRA).
#include "adapters/adapter.h"

#include <map>
#include <string>

namespace fw::adapters {

// The settings of adapter_config.json for peft_type LORA, with PEFT's names and defaults.
struct LoRAConfig {
  int64_t r = 8;
  double lora_alpha = 8;
  double lora_dropout = 0.0;
  // "true": A Kaiming-uniform, B zeros (PEFT's default); "false": both Kaiming-uniform, as
  // nn.Linear initialises them; "gaussian": A ~ N(0, 1/r), B zeros.
  std::string init_lora_weights = "true";
  bool use_rslora = false;
  bool fan_in_fan_out = false;
  PatternList<int64_t> rank_pattern;  // in file order
  PatternList<double> alpha_pattern;
};

class LoRAAdapter : public Adapter {
public:
  LoRAAdapter(int64_t dOut, int64_t dIn, int64_t r, double alpha, const LoRAConfig& config);

  std::string method() const override { return "lora"; }
  void attach(torch::nn::Module& host) override;
  at::Tensor forward(const at::Tensor& x, const at::Tensor& w0, const at::Tensor& bias, bool training) override;
  at::Tensor deltaWeight() const override;
  int64_t trainableParameters() const override { return A_.numel() + B_.numel(); }
  std::vector<std::pair<std::string, at::Tensor>> namedParameters() const override;
  std::string describe() const override;

  at::Tensor& A() { return A_; }
  at::Tensor& B() { return B_; }
  double scaling() const { return scaling_; }
  int64_t rank() const { return A_.size(0); }

private:
  LoRAConfig config_;
  at::Tensor A_, B_;
  double alpha_ = 0, scaling_ = 0;
};

}  // namespace fw::adapters
