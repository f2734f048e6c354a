#pragma once
// The one Linear of every model: registers `weight` and `bias` under the checkpoint's names and
// routes forward through its adapter, if any (llama.cpp's build_lora_mm). The base weight only
// changes on an explicit merge().
#include "adapters/adapter.h"

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>

namespace fw::adapters {

class AdaptedLinearImpl : public torch::nn::Module {
public:
  // fanInFanOut: the weight is stored [in, out], as GPT-2's Conv1D stores it.
  AdaptedLinearImpl(int64_t inFeatures, int64_t outFeatures, bool bias = true, bool fanInFanOut = false,
                    const at::TensorOptions& options = {});

  at::Tensor forward(const at::Tensor& x);

  // [out, in], a view when stored transposed.
  at::Tensor baseWeight() const { return fanInFanOut_ ? weight.t() : weight; }

  void setAdapter(std::shared_ptr<Adapter> adapter);
  Adapter* adapter() const { return adapter_.get(); }
  std::shared_ptr<Adapter> adapterPtr() const { return adapter_; }

  // W0 + ΔW written into `weight`. With keepOriginal, unmerge() restores W0 bit for bit;
  // without, it subtracts ΔW again (exact up to float rounding) and saves a weight's memory.
  void merge(bool keepOriginal = true);
  void unmerge();
  bool merged() const { return merged_; }

  int64_t inFeatures() const { return in_; }
  int64_t outFeatures() const { return out_; }
  bool fanInFanOut() const { return fanInFanOut_; }

  at::Tensor weight, bias;

private:
  int64_t in_, out_;
  bool fanInFanOut_;
  std::shared_ptr<Adapter> adapter_;
  bool merged_ = false;
  at::Tensor original_;
};

TORCH_MODULE(AdaptedLinear);

}  // namespace fw::adapters
