#pragma once
// Pieces shared by the architectures: activations by config name, attention masks, eager
// attention with a float32 softmax, RMSNorm, rotary embeddings.
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <string>

namespace fw::models {

// Moves a module built by LibTorch's own constructors (float32 on the CPU) to the options'
// device and dtype. Our AdaptedLinear allocates in place; Embedding and LayerNorm cannot.
inline void placeOn(torch::nn::Module& m, const at::TensorOptions& o) {
  m.to(o.device(), o.dtype().toScalarType());
}

// transformers' ACT2FN names: "gelu" (erf), "gelu_new" / "gelu_pytorch_tanh" (tanh
// approximation), "relu", "silu" / "swish", "quick_gelu". Throws for others.
at::Tensor activation(const std::string& name, const at::Tensor& x);
void checkActivation(const std::string& name, const std::string& file, const char* field);

// Additive mask [batch, 1, 1, seq]: 0 where attention_mask is 1, the dtype's lowest value where 0.
at::Tensor paddingMask(const at::Tensor& attentionMask, at::ScalarType dtype);
// Additive causal mask [1, 1, seq, seq], combined with padding when attentionMask is defined.
at::Tensor causalMask(int64_t seq, const at::Tensor& attentionMask, at::ScalarType dtype, const at::Device& device);

// softmax(q·kᵀ·scale + mask)·v, q/k/v [batch, heads, seq, head_dim]; the softmax in float32.
// `causal` with no mask: each position sees itself and those before it. On a GPU with LibTorch 2.x
// this is scaled_dot_product_attention (flash or memory-efficient kernels), as transformers' "sdpa".
at::Tensor eagerAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                          double scale, double dropout, bool training, bool causal = false);

// [batch, seq, heads*dim] <-> [batch, heads, seq, dim]
at::Tensor splitHeads(const at::Tensor& x, int64_t heads);
at::Tensor mergeHeads(const at::Tensor& x);

// transformers: LlamaRMSNorm. Normalised in float32, scaled in the input's dtype.
class RMSNormImpl : public torch::nn::Module {
public:
  RMSNormImpl(int64_t size, double eps, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight;

private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

// Rotary position embedding (transformers: LlamaRotaryEmbedding, rope_type default / linear).
struct Rotary {
  at::Tensor invFreq;  // [head_dim / 2] float32
  double positionScale = 1.0;
  // cos, sin [seq, head_dim] float32 for positions 0..seq-1.
  std::pair<at::Tensor, at::Tensor> table(int64_t seq, const at::Device& device) const;
};
// x [batch, heads, seq, head_dim]
at::Tensor applyRotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace fw::models
