#include "models/vit.h"

#include "models/config_reader.h"
#include "models/layers.h"
#include "util/error.h"

#include <cmath>

namespace fw::models {

ViTConfig ViTConfig::fromJson(const nlohmann::json& j, const std::string& file) {
  ConfigReader r(j, file);
  ViTConfig c;
  c.hidden_size = r.integer("hidden_size", 768);
  c.num_hidden_layers = r.integer("num_hidden_layers", 12, 1, 1024);
  c.num_attention_heads = r.integer("num_attention_heads", 12, 1, 4096);
  c.intermediate_size = r.integer("intermediate_size", 3072);
  c.image_size = r.integer("image_size", 224, 1, 1 << 16);
  c.patch_size = r.integer("patch_size", 16, 1, 1 << 16);
  c.num_channels = r.integer("num_channels", 3, 1, 64);
  c.hidden_act = r.text("hidden_act", "gelu");
  checkActivation(c.hidden_act, file, "hidden_act");
  c.hidden_dropout_prob = r.number("hidden_dropout_prob", 0.0, 0, 1);
  c.attention_probs_dropout_prob = r.number("attention_probs_dropout_prob", 0.0, 0, 1);
  c.layer_norm_eps = r.number("layer_norm_eps", 1e-12);
  c.qkv_bias = r.flag("qkv_bias", true);
  c.num_labels = r.numLabels(2);
  if (c.hidden_size % c.num_attention_heads != 0)
    throw Error("hidden_size is not a multiple of num_attention_heads").file(file).field("hidden_size");
  if (c.image_size % c.patch_size != 0)
    throw Error("image_size is not a multiple of patch_size").file(file).field("image_size")
        .got(std::to_string(c.image_size) + " / " + std::to_string(c.patch_size));
  return c;
}

ViTPatchEmbeddingsImpl::ViTPatchEmbeddingsImpl(const ViTConfig& c, const at::TensorOptions& o)
    : imageSize_(c.image_size), channels_(c.num_channels) {
  projection = register_module("projection", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.num_channels, c.hidden_size, c.patch_size)
                                                                   .stride(c.patch_size)));
  placeOn(*projection, o);
}

at::Tensor ViTPatchEmbeddingsImpl::forward(const at::Tensor& pixels) {
  if (!pixels.defined() || pixels.dim() != 4 || pixels.size(1) != channels_ || pixels.size(2) != imageSize_ ||
      pixels.size(3) != imageSize_)
    throw Error("pixel_values do not match the model's image size").field("pixel_values")
        .expected("[batch, " + std::to_string(channels_) + ", " + std::to_string(imageSize_) + ", " + std::to_string(imageSize_) + "]")
        .got(pixels.defined() ? pixels.sizes().vec() : std::vector<int64_t>{});
  return projection(pixels.to(projection->weight.scalar_type())).flatten(2).transpose(1, 2);
}

ViTEmbeddingsImpl::ViTEmbeddingsImpl(const ViTConfig& c, const at::TensorOptions& o) : dropout_(c.hidden_dropout_prob) {
  cls_token = register_parameter("cls_token", at::zeros({1, 1, c.hidden_size}, o));
  position_embeddings = register_parameter("position_embeddings", at::zeros({1, c.numPatches() + 1, c.hidden_size}, o));
  patch_embeddings = register_module("patch_embeddings", ViTPatchEmbeddings(c, o));
}

at::Tensor ViTEmbeddingsImpl::forward(const at::Tensor& pixels) {
  auto patches = patch_embeddings(pixels);
  auto cls = cls_token.expand({patches.size(0), -1, -1});
  return at::dropout(at::cat({cls, patches}, 1) + position_embeddings, dropout_, is_training());
}

ViTSelfAttentionImpl::ViTSelfAttentionImpl(const ViTConfig& c, const at::TensorOptions& o)
    : heads_(c.num_attention_heads), dropout_(c.attention_probs_dropout_prob) {
  query = register_module("query", AdaptedLinear(c.hidden_size, c.hidden_size, c.qkv_bias, false, o));
  key = register_module("key", AdaptedLinear(c.hidden_size, c.hidden_size, c.qkv_bias, false, o));
  value = register_module("value", AdaptedLinear(c.hidden_size, c.hidden_size, c.qkv_bias, false, o));
}

at::Tensor ViTSelfAttentionImpl::forward(const at::Tensor& x) {
  auto q = splitHeads(query(x), heads_), k = splitHeads(key(x), heads_), v = splitHeads(value(x), heads_);
  return mergeHeads(eagerAttention(q, k, v, {}, 1.0 / std::sqrt(double(q.size(-1))), dropout_, is_training()));
}

ViTDenseImpl::ViTDenseImpl(int64_t in, int64_t out, const std::string& act, double dropout, const at::TensorOptions& o)
    : act_(act), dropout_(dropout) {
  dense = register_module("dense", AdaptedLinear(in, out, true, false, o));
}

at::Tensor ViTDenseImpl::forward(const at::Tensor& x) {
  auto y = dense(x);
  return act_.empty() ? at::dropout(y, dropout_, is_training()) : activation(act_, y);
}

ViTAttentionImpl::ViTAttentionImpl(const ViTConfig& c, const at::TensorOptions& o) {
  attention = register_module("attention", ViTSelfAttention(c, o));
  output = register_module("output", ViTDense(c.hidden_size, c.hidden_size, "", c.hidden_dropout_prob, o));
}

at::Tensor ViTAttentionImpl::forward(const at::Tensor& x) { return output(attention(x)); }

ViTLayerImpl::ViTLayerImpl(const ViTConfig& c, const at::TensorOptions& o) {
  attention = register_module("attention", ViTAttention(c, o));
  intermediate = register_module("intermediate", ViTDense(c.hidden_size, c.intermediate_size, c.hidden_act, 0.0, o));
  output = register_module("output", ViTDense(c.intermediate_size, c.hidden_size, "", c.hidden_dropout_prob, o));
  auto ln = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)); };
  layernorm_before = register_module("layernorm_before", ln());
  layernorm_after = register_module("layernorm_after", ln());
  placeOn(*layernorm_before, o);
  placeOn(*layernorm_after, o);
}

at::Tensor ViTLayerImpl::forward(const at::Tensor& x) {
  auto h = attention(layernorm_before(x)) + x;
  return output(intermediate(layernorm_after(h))) + h;
}

ViTEncoderImpl::ViTEncoderImpl(const ViTConfig& c, const at::TensorOptions& o) {
  layer = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer->push_back(ViTLayer(c, o));
}

at::Tensor ViTEncoderImpl::forward(at::Tensor x) {
  for (const auto& l : *layer) x = l->as<ViTLayerImpl>()->forward(x);
  return x;
}

ViTModelImpl::ViTModelImpl(const ViTConfig& c, const at::TensorOptions& o) {
  embeddings = register_module("embeddings", ViTEmbeddings(c, o));
  encoder = register_module("encoder", ViTEncoder(c, o));
  layernorm = register_module("layernorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
  placeOn(*layernorm, o);
}

at::Tensor ViTModelImpl::forward(const at::Tensor& pixels) { return layernorm(encoder(embeddings(pixels))); }

ViTForImageClassification::ViTForImageClassification(const ViTConfig& c, const nlohmann::json& raw, const at::TensorOptions& o) {
  config_ = raw;
  numLabels_ = c.num_labels;
  vit = register_module("vit", ViTModel(c, o));
  classifier = register_module("classifier", AdaptedLinear(c.hidden_size, c.num_labels, true, false, o));
}

at::Tensor ViTForImageClassification::forward(const ModelInputs& in) {
  return classifier(vit(in.pixel_values).select(1, 0)).to(at::kFloat);
}

}  // namespace fw::models
