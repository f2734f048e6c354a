#include "models/llama.h"

#include "models/bert.h"
#include "models/config_reader.h"
#include "util/error.h"

#include <cmath>

namespace fw::models {

LlamaConfig LlamaConfig::fromJson(const nlohmann::json& j, const std::string& file) {
  ConfigReader r(j, file);
  LlamaConfig c;
  c.vocab_size = r.integer("vocab_size", 32000);
  c.hidden_size = r.integer("hidden_size", 4096);
  c.intermediate_size = r.integer("intermediate_size", 11008);
  c.num_hidden_layers = r.integer("num_hidden_layers", 32, 1, 1024);
  c.num_attention_heads = r.integer("num_attention_heads", 32, 1, 4096);
  c.num_key_value_heads = r.integer("num_key_value_heads", c.num_attention_heads, 1, 4096);
  c.head_dim = r.integer("head_dim", c.hidden_size / c.num_attention_heads);
  c.max_position_embeddings = r.integer("max_position_embeddings", 2048);
  c.rms_norm_eps = r.number("rms_norm_eps", 1e-6);
  c.hidden_act = r.text("hidden_act", "silu");
  checkActivation(c.hidden_act, file, "hidden_act");
  c.attention_bias = r.flag("attention_bias", false);
  c.mlp_bias = r.flag("mlp_bias", false);
  c.tie_word_embeddings = r.flag("tie_word_embeddings", false);
  c.attention_dropout = r.number("attention_dropout", 0.0, 0, 1);
  // Rotary settings: transformers 5 nests them in rope_parameters, 4 keeps rope_theta and
  // rope_scaling at the top.
  c.rope_theta = r.number("rope_theta", 10000.0);
  const nlohmann::json* rope = nullptr;
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) rope = &j["rope_parameters"];
  else if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) rope = &j["rope_scaling"];
  if (rope) {
    ConfigReader rr(*rope, file);
    c.rope_theta = rr.number("rope_theta", c.rope_theta);
    const auto type = rr.text("rope_type", rr.text("type", "default"));
    if (type == "linear") c.rope_linear_factor = rr.number("factor");
    else if (type != "default")
      throw Error("unsupported rope_type '" + type + "'").file(file).field("rope_parameters.rope_type")
          .expected("default or linear");
  }
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    throw Error("num_attention_heads is not a multiple of num_key_value_heads").file(file).field("num_key_value_heads")
        .got(std::to_string(c.num_attention_heads) + " / " + std::to_string(c.num_key_value_heads));
  if (c.head_dim % 2 != 0) throw Error("head_dim must be even for rotary embeddings").file(file).field("head_dim");
  return c;
}

LlamaAttentionImpl::LlamaAttentionImpl(const LlamaConfig& c, const at::TensorOptions& o)
    : heads_(c.num_attention_heads), kvHeads_(c.num_key_value_heads), headDim_(c.head_dim), dropout_(c.attention_dropout) {
  const bool b = c.attention_bias;
  q_proj = register_module("q_proj", AdaptedLinear(c.hidden_size, heads_ * headDim_, b, false, o));
  k_proj = register_module("k_proj", AdaptedLinear(c.hidden_size, kvHeads_ * headDim_, b, false, o));
  v_proj = register_module("v_proj", AdaptedLinear(c.hidden_size, kvHeads_ * headDim_, b, false, o));
  o_proj = register_module("o_proj", AdaptedLinear(heads_ * headDim_, c.hidden_size, b, false, o));
}

at::Tensor LlamaAttentionImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                       const at::Tensor& mask) {
  auto q = applyRotary(splitHeads(q_proj(x), heads_), cos, sin);
  auto k = applyRotary(splitHeads(k_proj(x), kvHeads_), cos, sin);
  auto v = splitHeads(v_proj(x), kvHeads_);
  if (kvHeads_ != heads_) {  // grouped-query attention: each key/value head serves a group
    k = k.repeat_interleave(heads_ / kvHeads_, 1);
    v = v.repeat_interleave(heads_ / kvHeads_, 1);
  }
  auto context = eagerAttention(q, k, v, mask, 1.0 / std::sqrt(double(headDim_)), dropout_, is_training(), /*causal=*/true);
  return o_proj(mergeHeads(context));
}

LlamaMLPImpl::LlamaMLPImpl(const LlamaConfig& c, const at::TensorOptions& o) : act_(c.hidden_act) {
  gate_proj = register_module("gate_proj", AdaptedLinear(c.hidden_size, c.intermediate_size, c.mlp_bias, false, o));
  up_proj = register_module("up_proj", AdaptedLinear(c.hidden_size, c.intermediate_size, c.mlp_bias, false, o));
  down_proj = register_module("down_proj", AdaptedLinear(c.intermediate_size, c.hidden_size, c.mlp_bias, false, o));
}

at::Tensor LlamaMLPImpl::forward(const at::Tensor& x) { return down_proj(activation(act_, gate_proj(x)) * up_proj(x)); }

LlamaDecoderLayerImpl::LlamaDecoderLayerImpl(const LlamaConfig& c, const at::TensorOptions& o) {
  self_attn = register_module("self_attn", LlamaAttention(c, o));
  mlp = register_module("mlp", LlamaMLP(c, o));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, o));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, o));
}

at::Tensor LlamaDecoderLayerImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                          const at::Tensor& mask) {
  auto h = x + self_attn(input_layernorm(x), cos, sin, mask);
  return h + mlp(post_attention_layernorm(h));
}

LlamaModelImpl::LlamaModelImpl(const LlamaConfig& c, const at::TensorOptions& o) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  placeOn(*embed_tokens, o);
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(LlamaDecoderLayer(c, o));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps, o));
  auto steps = at::arange(0, c.head_dim, 2, at::kFloat) / double(c.head_dim);
  rotary_.invFreq = 1.0 / at::pow(c.rope_theta, steps);
  rotary_.positionScale = c.rope_linear_factor;
}

at::Tensor LlamaModelImpl::forward(const ModelInputs& in) {
  const auto& ids = in.input_ids;
  if (!ids.defined() || ids.dim() != 2) throw Error("input_ids must be [batch, seq]").field("input_ids");
  checkTokenIds(ids, embed_tokens->weight.size(0), "input_ids");
  return forwardEmbeddings(embed_tokens(ids), in.attention_mask);
}

at::Tensor LlamaModelImpl::forwardEmbeddings(at::Tensor x, const at::Tensor& attentionMask) {
  const int64_t seq = x.size(1);
  auto [cos, sin] = rotary_.table(seq, x.device());
  // Without padding the layers' attention is causal by itself (no [seq, seq] mask to build or read).
  auto mask = attentionMask.defined() ? causalMask(seq, attentionMask, x.scalar_type(), x.device()) : at::Tensor();
  for (const auto& layer : *layers) x = layer->as<LlamaDecoderLayerImpl>()->forward(x, cos, sin, mask);
  return norm(x);
}

LlamaForCausalLM::LlamaForCausalLM(const LlamaConfig& c, const nlohmann::json& raw, const at::TensorOptions& o) {
  config_ = raw;
  model = register_module("model", LlamaModel(c, o));
  if (!c.tie_word_embeddings) lm_head = register_module("lm_head", AdaptedLinear(c.hidden_size, c.vocab_size, false, false, o));
}

std::vector<std::string> LlamaForCausalLM::headModules() const {
  return lm_head ? std::vector<std::string>{"lm_head"} : std::vector<std::string>{};
}

at::Tensor LlamaForCausalLM::forward(const ModelInputs& in) {
  auto h = model(in);
  return (lm_head ? lm_head(h) : at::linear(h, model->embed_tokens->weight)).to(at::kFloat);
}

}  // namespace fw::models
