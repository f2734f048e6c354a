#include "models/bert.h"

#include "models/layers.h"
#include "util/error.h"

#include <cmath>

namespace fw::models {

BertConfig BertConfig::fromJson(const nlohmann::json& j, const std::string& file) {
  ConfigReader r(j, file);
  BertConfig c;
  c.vocab_size = r.integer("vocab_size", 30522);
  c.hidden_size = r.integer("hidden_size", 768);
  c.num_hidden_layers = r.integer("num_hidden_layers", 12, 1, 1024);
  c.num_attention_heads = r.integer("num_attention_heads", 12, 1, 4096);
  c.intermediate_size = r.integer("intermediate_size", 3072);
  c.max_position_embeddings = r.integer("max_position_embeddings", 512);
  c.type_vocab_size = r.integer("type_vocab_size", 2, 0);
  c.pad_token_id = r.integer("pad_token_id", 0, 0);
  c.hidden_act = r.text("hidden_act", "gelu");
  checkActivation(c.hidden_act, file, "hidden_act");
  c.hidden_dropout_prob = r.number("hidden_dropout_prob", 0.1, 0, 1);
  c.attention_probs_dropout_prob = r.number("attention_probs_dropout_prob", 0.1, 0, 1);
  c.layer_norm_eps = r.number("layer_norm_eps", 1e-12);
  c.classifier_dropout = r.has("classifier_dropout") ? r.number("classifier_dropout", std::nullopt, 0, 1) : -1.0;
  c.num_labels = r.numLabels(2);
  c.is_decoder = r.flag("is_decoder", false);
  if (c.hidden_size % c.num_attention_heads != 0)
    throw Error("hidden_size is not a multiple of num_attention_heads").file(file).field("hidden_size")
        .got(std::to_string(c.hidden_size) + " / " + std::to_string(c.num_attention_heads));
  return c;
}

BertSelfAttentionImpl::BertSelfAttentionImpl(const BertConfig& c, const at::TensorOptions& o)
    : heads_(c.num_attention_heads), dropout_(c.attention_probs_dropout_prob) {
  query = register_module("query", AdaptedLinear(c.hidden_size, c.hidden_size, true, false, o));
  key = register_module("key", AdaptedLinear(c.hidden_size, c.hidden_size, true, false, o));
  value = register_module("value", AdaptedLinear(c.hidden_size, c.hidden_size, true, false, o));
}

at::Tensor BertSelfAttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  auto q = splitHeads(query(x), heads_), k = splitHeads(key(x), heads_), v = splitHeads(value(x), heads_);
  auto context = eagerAttention(q, k, v, mask, 1.0 / std::sqrt(double(q.size(-1))), dropout_, is_training());
  return mergeHeads(context);
}

BertSelfOutputImpl::BertSelfOutputImpl(int64_t in, const BertConfig& c, const at::TensorOptions& o)
    : dropout_(c.hidden_dropout_prob) {
  dense = register_module("dense", AdaptedLinear(in, c.hidden_size, true, false, o));
  LayerNorm = register_module("LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
  placeOn(*LayerNorm, o);
}

at::Tensor BertSelfOutputImpl::forward(const at::Tensor& x, const at::Tensor& residual) {
  return LayerNorm(at::dropout(dense(x), dropout_, is_training()) + residual);
}

BertAttentionImpl::BertAttentionImpl(const BertConfig& c, const at::TensorOptions& o) {
  self = register_module("self", BertSelfAttention(c, o));
  output = register_module("output", BertSelfOutput(c.hidden_size, c, o));
}

at::Tensor BertAttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  return output(self(x, mask), x);
}

BertIntermediateImpl::BertIntermediateImpl(const BertConfig& c, const at::TensorOptions& o) : act_(c.hidden_act) {
  dense = register_module("dense", AdaptedLinear(c.hidden_size, c.intermediate_size, true, false, o));
}

at::Tensor BertIntermediateImpl::forward(const at::Tensor& x) { return activation(act_, dense(x)); }

BertLayerImpl::BertLayerImpl(const BertConfig& c, const at::TensorOptions& o) {
  attention = register_module("attention", BertAttention(c, o));
  intermediate = register_module("intermediate", BertIntermediate(c, o));
  output = register_module("output", BertSelfOutput(c.intermediate_size, c, o));
}

at::Tensor BertLayerImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  auto a = attention(x, mask);
  return output(intermediate(a), a);
}

BertEncoderImpl::BertEncoderImpl(const BertConfig& c, const at::TensorOptions& o) {
  layer = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer->push_back(BertLayer(c, o));
}

at::Tensor BertEncoderImpl::forward(at::Tensor x, const at::Tensor& mask) {
  for (const auto& l : *layer) x = l->as<BertLayerImpl>()->forward(x, mask);
  return x;
}

BertEmbeddingsImpl::BertEmbeddingsImpl(const BertConfig& c, const at::TensorOptions& o)
    : dropout_(c.hidden_dropout_prob), maxPositions_(c.max_position_embeddings) {
  using torch::nn::Embedding;
  using torch::nn::EmbeddingOptions;
  word_embeddings = register_module("word_embeddings", Embedding(EmbeddingOptions(c.vocab_size, c.hidden_size)));
  position_embeddings = register_module("position_embeddings", Embedding(EmbeddingOptions(c.max_position_embeddings, c.hidden_size)));
  token_type_embeddings = register_module("token_type_embeddings", Embedding(EmbeddingOptions(std::max<int64_t>(1, c.type_vocab_size), c.hidden_size)));
  LayerNorm = register_module("LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
  placeOn(*this, o);
}

at::Tensor BertEmbeddingsImpl::forward(const at::Tensor& ids, const at::Tensor& types, const at::Tensor& positions) {
  checkTokenIds(ids, word_embeddings->weight.size(0), "input_ids");
  if (positions.max().item<int64_t>() >= maxPositions_)
    throw Error("sequence longer than the model's position table").field("input_ids")
        .expected("at most " + std::to_string(maxPositions_) + " positions").got(std::to_string(positions.max().item<int64_t>() + 1))
        .hint("truncate the inputs (max_position_embeddings in config.json)");
  auto tt = types.defined() ? types : at::zeros_like(ids);
  checkTokenIds(tt, token_type_embeddings->weight.size(0), "token_type_ids");
  auto x = word_embeddings(ids) + token_type_embeddings(tt) + position_embeddings(positions);
  return at::dropout(LayerNorm(x), dropout_, is_training());
}

BertPoolerImpl::BertPoolerImpl(const BertConfig& c, const at::TensorOptions& o) {
  dense = register_module("dense", AdaptedLinear(c.hidden_size, c.hidden_size, true, false, o));
}

at::Tensor BertPoolerImpl::forward(const at::Tensor& hidden) { return at::tanh(dense(hidden.select(1, 0))); }

BertModelImpl::BertModelImpl(const BertConfig& c, const at::TensorOptions& o, bool addPooler) : isDecoder_(c.is_decoder) {
  embeddings = register_module("embeddings", BertEmbeddings(c, o));
  encoder = register_module("encoder", BertEncoder(c, o));
  if (addPooler) pooler = register_module("pooler", BertPooler(c, o));
}

at::Tensor BertModelImpl::forward(const ModelInputs& in, const at::Tensor& positionIds) {
  if (!in.input_ids.defined() || in.input_ids.dim() != 2)
    throw Error("input_ids must be [batch, seq]").field("input_ids");
  const auto seq = in.input_ids.size(1);
  auto pos = positionIds.defined() ? positionIds : at::arange(seq, in.input_ids.options()).unsqueeze(0).expand_as(in.input_ids);
  auto x = embeddings(in.input_ids, in.token_type_ids, pos);
  at::Tensor mask;
  // transformers' get_extended_attention_mask: a decoder attends to earlier tokens only (and not
  // to padding); an encoder to every token that is not padding.
  if (isDecoder_) mask = causalMask(seq, in.attention_mask, x.scalar_type(), x.device());
  else if (in.attention_mask.defined()) mask = paddingMask(in.attention_mask, x.scalar_type());
  return encoder(x, mask);
}

BertForSequenceClassification::BertForSequenceClassification(const BertConfig& c, const nlohmann::json& raw,
                                                             const at::TensorOptions& o)
    : dropout_(c.classifier_dropout >= 0 ? c.classifier_dropout : c.hidden_dropout_prob) {
  config_ = raw;
  numLabels_ = c.num_labels;
  bert = register_module("bert", BertModel(c, o, /*addPooler=*/true));
  classifier = register_module("classifier", AdaptedLinear(c.hidden_size, c.num_labels, true, false, o));
}

at::Tensor BertForSequenceClassification::forward(const ModelInputs& in) {
  auto pooled = bert->pooler(bert(in));
  return classifier(at::dropout(pooled, dropout_, is_training())).to(at::kFloat);
}

void checkTokenIds(const at::Tensor& ids, int64_t vocab, const char* what) {
  if (ids.numel() == 0) return;
  const auto lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
  if (lo < 0 || hi >= vocab)
    throw Error("token id outside the embedding table").field(what)
        .expected("0 to " + std::to_string(vocab - 1)).got(std::to_string(lo < 0 ? lo : hi))
        .hint("the tokenizer does not belong to this model");
}

}  // namespace fw::models
