#pragma once
// FourierFT on one linear layer (transformers/PEFT: peft.tuners.fourierft.layer.FourierFTLinear).
// Trainable: the spectrum c [n]; frozen: the positions (u, v) drawn from the seed as PEFT does.
#include "adapters/adapter.h"
#include "adapters/fourierft_ops.h"

#include <map>
#include <string>

namespace fw::adapters {

// The settings of adapter_config.json for peft_type FOURIERFT, with PEFT's names and defaults.
struct FourierFTConfig {
  int64_t n_frequency = 1000;
  double scaling = 150.0;
  uint64_t random_loc_seed = 777;
  bool init_weights = false;  // false: spectrum ~ N(0, 1) (PEFT's default); true: zeros
  bool fan_in_fan_out = false;
  std::string ifft2_norm = "backward";
  PatternList<int64_t> n_frequency_pattern;  // module-name pattern -> n, in file order
  FourierPath path = FourierPath::Auto;  // the workbench's choice of computation
};

class FourierFTAdapter : public Adapter {
public:
  // d_out x d_in layer; positions from the seed unless given ([2, n] int64).
  FourierFTAdapter(int64_t dOut, int64_t dIn, int64_t n, const FourierFTConfig& config,
                   at::Tensor positions = {});

  std::string method() const override { return "fourierft"; }
  void attach(torch::nn::Module& host) override;
  at::Tensor forward(const at::Tensor& x, const at::Tensor& w0, const at::Tensor& bias, bool training) override;
  at::Tensor deltaWeight() const override;
  int64_t trainableParameters() const override { return geometry_.n; }
  std::vector<std::pair<std::string, at::Tensor>> namedParameters() const override;
  std::string describe() const override;

  at::Tensor& spectrum() { return spectrum_; }
  const at::Tensor& positions() const { return geometry_.positions; }
  double scale() const { return scale_; }  // scaling · norm(d1, d2)
  const FourierFTConfig& config() const { return config_; }
  void setPath(FourierPath p) { config_.path = p; }
  // The path the last forward used (auto resolved), for reports and benchmarks.
  FourierPath lastPath() const { return lastPath_; }

private:
  const SpectrumGeometry& geometryOn(const at::Device& device);

  FourierFTConfig config_;
  SpectrumGeometry geometry_;  // on the CPU
  SpectrumGeometry onDevice_;  // cached copy on the device of the last forward
  at::Tensor spectrum_;
  double scale_ = 0;
  FourierPath lastPath_ = FourierPath::Auto;
};

}  // namespace fw::adapters
