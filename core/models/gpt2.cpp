#include "models/gpt2.h"

#include "models/bert.h"
#include "models/config_reader.h"
#include "models/layers.h"
#include "util/error.h"

#include <cmath>

namespace fw::models {

GPT2Config GPT2Config::fromJson(const nlohmann::json& j, const std::string& file) {
  ConfigReader r(j, file);
  GPT2Config c;
  c.vocab_size = r.integer("vocab_size", 50257);
  c.n_positions = r.integer("n_positions", 1024);
  c.n_embd = r.integer("n_embd", 768);
  c.n_layer = r.integer("n_layer", 12, 1, 1024);
  c.n_head = r.integer("n_head", 12, 1, 4096);
  c.n_inner = r.integer("n_inner", 4 * c.n_embd);
  c.activation_function = r.text("activation_function", "gelu_new");
  checkActivation(c.activation_function, file, "activation_function");
  c.resid_pdrop = r.number("resid_pdrop", 0.1, 0, 1);
  c.embd_pdrop = r.number("embd_pdrop", 0.1, 0, 1);
  c.attn_pdrop = r.number("attn_pdrop", 0.1, 0, 1);
  c.layer_norm_epsilon = r.number("layer_norm_epsilon", 1e-5);
  c.scale_attn_weights = r.flag("scale_attn_weights", true);
  c.scale_attn_by_inverse_layer_idx = r.flag("scale_attn_by_inverse_layer_idx", false);
  c.tie_word_embeddings = r.flag("tie_word_embeddings", true);
  if (r.flag("reorder_and_upcast_attn", false))
    throw Error("reorder_and_upcast_attn is not supported").file(file).field("reorder_and_upcast_attn");
  if (c.n_embd % c.n_head != 0)
    throw Error("n_embd is not a multiple of n_head").file(file).field("n_embd")
        .got(std::to_string(c.n_embd) + " / " + std::to_string(c.n_head));
  return c;
}

GPT2AttentionImpl::GPT2AttentionImpl(const GPT2Config& c, int64_t layerIdx, const at::TensorOptions& o)
    : heads_(c.n_head), attnDrop_(c.attn_pdrop), residDrop_(c.resid_pdrop) {
  // Conv1D: weights stored [in, out] (fanInFanOut).
  c_attn = register_module("c_attn", AdaptedLinear(c.n_embd, 3 * c.n_embd, true, true, o));
  c_proj = register_module("c_proj", AdaptedLinear(c.n_embd, c.n_embd, true, true, o));
  scale_ = c.scale_attn_weights ? 1.0 / std::sqrt(double(c.n_embd / c.n_head)) : 1.0;
  if (c.scale_attn_by_inverse_layer_idx) scale_ /= double(layerIdx + 1);
}

at::Tensor GPT2AttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  auto qkv = c_attn(x).chunk(3, -1);
  auto q = splitHeads(qkv[0], heads_), k = splitHeads(qkv[1], heads_), v = splitHeads(qkv[2], heads_);
  auto context = mergeHeads(eagerAttention(q, k, v, mask, scale_, attnDrop_, is_training()));
  return at::dropout(c_proj(context), residDrop_, is_training());
}

GPT2MLPImpl::GPT2MLPImpl(const GPT2Config& c, const at::TensorOptions& o) : act_(c.activation_function), drop_(c.resid_pdrop) {
  c_fc = register_module("c_fc", AdaptedLinear(c.n_embd, c.n_inner, true, true, o));
  c_proj = register_module("c_proj", AdaptedLinear(c.n_inner, c.n_embd, true, true, o));
}

at::Tensor GPT2MLPImpl::forward(const at::Tensor& x) {
  return at::dropout(c_proj(activation(act_, c_fc(x))), drop_, is_training());
}

GPT2BlockImpl::GPT2BlockImpl(const GPT2Config& c, int64_t layerIdx, const at::TensorOptions& o) {
  auto ln = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.n_embd}).eps(c.layer_norm_epsilon)); };
  ln_1 = register_module("ln_1", ln());
  attn = register_module("attn", GPT2Attention(c, layerIdx, o));
  ln_2 = register_module("ln_2", ln());
  mlp = register_module("mlp", GPT2MLP(c, o));
  placeOn(*ln_1, o);
  placeOn(*ln_2, o);
}

at::Tensor GPT2BlockImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  auto h = x + attn(ln_1(x), mask);
  return h + mlp(ln_2(h));
}

GPT2ModelImpl::GPT2ModelImpl(const GPT2Config& c, const at::TensorOptions& o) : drop_(c.embd_pdrop), positions_(c.n_positions) {
  wte = register_module("wte", torch::nn::Embedding(c.vocab_size, c.n_embd));
  wpe = register_module("wpe", torch::nn::Embedding(c.n_positions, c.n_embd));
  placeOn(*wte, o);
  placeOn(*wpe, o);
  h = register_module("h", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.n_layer; ++i) h->push_back(GPT2Block(c, i, o));
  ln_f = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.n_embd}).eps(c.layer_norm_epsilon)));
  placeOn(*ln_f, o);
}

at::Tensor GPT2ModelImpl::forward(const ModelInputs& in) {
  const auto& ids = in.input_ids;
  if (!ids.defined() || ids.dim() != 2) throw Error("input_ids must be [batch, seq]").field("input_ids");
  const int64_t seq = ids.size(1);
  if (seq > positions_)
    throw Error("sequence longer than the model's position table").field("input_ids")
        .expected("at most " + std::to_string(positions_)).got(std::to_string(seq)).hint("truncate the inputs (n_positions)");
  checkTokenIds(ids, wte->weight.size(0), "input_ids");
  auto x = at::dropout(wte(ids) + wpe(at::arange(seq, ids.options()).unsqueeze(0)), drop_, is_training());
  auto mask = causalMask(seq, in.attention_mask, x.scalar_type(), x.device());
  for (const auto& block : *h) x = block->as<GPT2BlockImpl>()->forward(x, mask);
  return ln_f(x);
}

GPT2LMHeadModel::GPT2LMHeadModel(const GPT2Config& c, const nlohmann::json& raw, const at::TensorOptions& o) {
  config_ = raw;
  transformer = register_module("transformer", GPT2Model(c, o));
  // transformers: nn.Linear(n_embd, vocab_size, bias=False), tied to wte only when tie_word_embeddings.
  if (!c.tie_word_embeddings) lm_head = register_module("lm_head", AdaptedLinear(c.n_embd, c.vocab_size, false, false, o));
}

std::vector<std::string> GPT2LMHeadModel::headModules() const {
  return lm_head ? std::vector<std::string>{"lm_head"} : std::vector<std::string>{};
}

at::Tensor GPT2LMHeadModel::forward(const ModelInputs& in) {
  auto h = transformer(in);
  return (lm_head ? lm_head(h) : at::linear(h, transformer->wte->weight)).to(at::kFloat);
}

}  // namespace fw::models
