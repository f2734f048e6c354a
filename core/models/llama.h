#pragma once
// LLaMA (transformers/models/llama/modeling_llama.py): RMSNorm, rotary embeddings, grouped-query
// attention, SwiGLU MLP, tied or untied head.
#include "adapters/adapted_linear.h"
#include "models/layers.h"
#include "models/model.h"

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>

namespace fw::models {

using adapters::AdaptedLinear;

// transformers: LlamaConfig. rope_theta is read from rope_parameters (transformers 5) or the
// top level (transformers 4); num_key_value_heads defaults to the head count.
struct LlamaConfig {
  int64_t vocab_size = 32000, hidden_size = 4096, intermediate_size = 11008, num_hidden_layers = 32;
  int64_t num_attention_heads = 32, num_key_value_heads = 32, head_dim = 128, max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6, rope_theta = 10000.0, rope_linear_factor = 1.0, attention_dropout = 0.0;
  std::string hidden_act = "silu";
  bool attention_bias = false, mlp_bias = false, tie_word_embeddings = false;

  static LlamaConfig fromJson(const nlohmann::json& j, const std::string& file);
};

// transformers: LlamaAttention. x: [batch, seq, hidden]
class LlamaAttentionImpl : public torch::nn::Module {
public:
  LlamaAttentionImpl(const LlamaConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& mask);
  AdaptedLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

private:
  int64_t heads_, kvHeads_, headDim_;
  double dropout_;
};
TORCH_MODULE(LlamaAttention);

// transformers: LlamaMLP (SwiGLU)
class LlamaMLPImpl : public torch::nn::Module {
public:
  LlamaMLPImpl(const LlamaConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& x);
  AdaptedLinear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};

private:
  std::string act_;
};
TORCH_MODULE(LlamaMLP);

// transformers: LlamaDecoderLayer
class LlamaDecoderLayerImpl : public torch::nn::Module {
public:
  LlamaDecoderLayerImpl(const LlamaConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& mask);
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  LlamaAttention self_attn{nullptr};
  LlamaMLP mlp{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

// transformers: LlamaModel. Returns hidden states after the final norm.
class LlamaModelImpl : public torch::nn::Module {
public:
  LlamaModelImpl(const LlamaConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const ModelInputs& in);
  // The layers and the final norm on hidden states [batch, seq, hidden] (transformers' inputs_embeds).
  at::Tensor forwardEmbeddings(at::Tensor x, const at::Tensor& attentionMask);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};

private:
  Rotary rotary_;
};
TORCH_MODULE(LlamaModel);

// transformers: LlamaForCausalLM. logits [batch, seq, vocab].
class LlamaForCausalLM : public PretrainedModel {
public:
  LlamaForCausalLM(const LlamaConfig& c, const nlohmann::json& raw, const at::TensorOptions& o);
  at::Tensor forward(const ModelInputs& in) override;
  std::string modelType() const override { return "llama"; }
  Task task() const override { return Task::CausalLM; }
  std::string className() const override { return "LlamaForCausalLM"; }
  std::string basePrefix() const override { return "model."; }
  std::vector<std::string> headModules() const override;

  LlamaModel model{nullptr};
  AdaptedLinear lm_head{nullptr};  // null when tied to model.embed_tokens
};

}  // namespace fw::models
