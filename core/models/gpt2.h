#pragma once
// GPT-2 (transformers/models/gpt2/modeling_gpt2.py). Its Conv1D layers store weights [in, out]:
// AdaptedLinear keeps that layout (fan_in_fan_out), so checkpoint tensors load unchanged.
// The LM head is tied to the token embedding (transformer.wte) unless tie_word_embeddings is false
// (as transformers ties it), then it is its own lm_head.weight [vocab, n_embd].
#include "adapters/adapted_linear.h"
#include "models/model.h"

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

namespace fw::models {

using adapters::AdaptedLinear;

// transformers: GPT2Config
struct GPT2Config {
  int64_t vocab_size = 50257, n_positions = 1024, n_embd = 768, n_layer = 12, n_head = 12, n_inner = 0;
  std::string activation_function = "gelu_new";
  double resid_pdrop = 0.1, embd_pdrop = 0.1, attn_pdrop = 0.1, layer_norm_epsilon = 1e-5;
  bool scale_attn_weights = true, scale_attn_by_inverse_layer_idx = false, tie_word_embeddings = true;

  static GPT2Config fromJson(const nlohmann::json& j, const std::string& file);
};

// transformers: GPT2Attention. x: [batch, seq, n_embd]
class GPT2AttentionImpl : public torch::nn::Module {
public:
  GPT2AttentionImpl(const GPT2Config& c, int64_t layerIdx, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);
  AdaptedLinear c_attn{nullptr}, c_proj{nullptr};

private:
  int64_t heads_;
  double scale_, attnDrop_, residDrop_;
};
TORCH_MODULE(GPT2Attention);

// transformers: GPT2MLP
class GPT2MLPImpl : public torch::nn::Module {
public:
  GPT2MLPImpl(const GPT2Config& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& x);
  AdaptedLinear c_fc{nullptr}, c_proj{nullptr};

private:
  std::string act_;
  double drop_;
};
TORCH_MODULE(GPT2MLP);

// transformers: GPT2Block (pre-LayerNorm)
class GPT2BlockImpl : public torch::nn::Module {
public:
  GPT2BlockImpl(const GPT2Config& c, int64_t layerIdx, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);
  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  GPT2Attention attn{nullptr};
  GPT2MLP mlp{nullptr};
};
TORCH_MODULE(GPT2Block);

// transformers: GPT2Model. Returns hidden states after ln_f.
class GPT2ModelImpl : public torch::nn::Module {
public:
  GPT2ModelImpl(const GPT2Config& c, const at::TensorOptions& o);
  at::Tensor forward(const ModelInputs& in);
  torch::nn::Embedding wte{nullptr}, wpe{nullptr};
  torch::nn::ModuleList h{nullptr};
  torch::nn::LayerNorm ln_f{nullptr};

private:
  double drop_;
  int64_t positions_;
};
TORCH_MODULE(GPT2Model);

// transformers: GPT2LMHeadModel. logits [batch, seq, vocab].
class GPT2LMHeadModel : public PretrainedModel {
public:
  GPT2LMHeadModel(const GPT2Config& c, const nlohmann::json& raw, const at::TensorOptions& o);
  at::Tensor forward(const ModelInputs& in) override;
  std::string modelType() const override { return "gpt2"; }
  Task task() const override { return Task::CausalLM; }
  std::string className() const override { return "GPT2LMHeadModel"; }
  std::string basePrefix() const override { return "transformer."; }
  std::vector<std::string> headModules() const override;

  GPT2Model transformer{nullptr};
  AdaptedLinear lm_head{nullptr};  // null when tied to transformer.wte
};

}  // namespace fw::models
