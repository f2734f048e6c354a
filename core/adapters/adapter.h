#pragma once
// The interface every adapter method implements. An adapter lives inside an AdaptedLinear
// (its host), registers its trainable parameters on the host under PEFT's names
// ("fourierft_spectrum", "lora_A.weight", ...) and adds its update in the host's forward.
// LibTorch cannot unregister a parameter, so an adapter stays for the life of its host:
// to try another method, build the model again (loading the base is a cheap mmap).
#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

namespace torch::nn { class Module; }

namespace fw::adapters {

// A config's module-name pattern -> value map (rank_pattern, alpha_pattern, n_frequency_pattern)
// in the order of the file: PEFT takes the first key that matches, so the order is part of it.
template <typename V>
using PatternList = std::vector<std::pair<std::string, V>>;

class Adapter {
public:
  virtual ~Adapter() = default;

  virtual std::string method() const = 0;  // "fourierft", "lora"
  // Registers the parameters on the host module under PEFT's names.
  virtual void attach(torch::nn::Module& host) = 0;
  // y = x·W0ᵀ + b + the adapter's update. w0 is [out, in] (a view when stored transposed).
  virtual at::Tensor forward(const at::Tensor& x, const at::Tensor& w0, const at::Tensor& bias, bool training) = 0;
  // ΔW as [out, in], float32, without gradient.
  virtual at::Tensor deltaWeight() const = 0;
  virtual int64_t trainableParameters() const = 0;
  // Parameters by their names relative to the host, as PEFT saves them.
  virtual std::vector<std::pair<std::string, at::Tensor>> namedParameters() const = 0;
  // One line of settings for summaries: "n=1000 scaling=150 path=auto".
  virtual std::string describe() const = 0;
};

}  // namespace fw::adapters
