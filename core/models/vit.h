#pragma once
// ViT (transformers/models/vit/modeling_vit.py): patch embedding, class token, learned position
// embeddings, pre-LayerNorm encoder, classifier on the class token.
#include "adapters/adapted_linear.h"
#include "models/model.h"

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>

namespace fw::models {

using adapters::AdaptedLinear;

// transformers: ViTConfig
struct ViTConfig {
  int64_t hidden_size = 768, num_hidden_layers = 12, num_attention_heads = 12, intermediate_size = 3072;
  int64_t image_size = 224, patch_size = 16, num_channels = 3, num_labels = 2;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.0, attention_probs_dropout_prob = 0.0, layer_norm_eps = 1e-12;
  bool qkv_bias = true;

  int64_t numPatches() const { return (image_size / patch_size) * (image_size / patch_size); }
  static ViTConfig fromJson(const nlohmann::json& j, const std::string& file);
};

// transformers: ViTPatchEmbeddings. pixels [batch, channels, H, W] -> [batch, patches, hidden]
class ViTPatchEmbeddingsImpl : public torch::nn::Module {
public:
  ViTPatchEmbeddingsImpl(const ViTConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& pixels);
  torch::nn::Conv2d projection{nullptr};

private:
  int64_t imageSize_, channels_;
};
TORCH_MODULE(ViTPatchEmbeddings);

// transformers: ViTEmbeddings
class ViTEmbeddingsImpl : public torch::nn::Module {
public:
  ViTEmbeddingsImpl(const ViTConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& pixels);
  at::Tensor cls_token, position_embeddings;
  ViTPatchEmbeddings patch_embeddings{nullptr};

private:
  double dropout_;
};
TORCH_MODULE(ViTEmbeddings);

// transformers: ViTSelfAttention (named "attention" inside ViTAttention, hence attention.attention)
class ViTSelfAttentionImpl : public torch::nn::Module {
public:
  ViTSelfAttentionImpl(const ViTConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& x);
  AdaptedLinear query{nullptr}, key{nullptr}, value{nullptr};

private:
  int64_t heads_;
  double dropout_;
};
TORCH_MODULE(ViTSelfAttention);

// transformers: ViTSelfOutput / ViTOutput / ViTIntermediate share "dense"
class ViTDenseImpl : public torch::nn::Module {
public:
  ViTDenseImpl(int64_t in, int64_t out, const std::string& act, double dropout, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& x);
  AdaptedLinear dense{nullptr};

private:
  std::string act_;
  double dropout_;
};
TORCH_MODULE(ViTDense);

class ViTAttentionImpl : public torch::nn::Module {
public:
  ViTAttentionImpl(const ViTConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& x);
  ViTSelfAttention attention{nullptr};
  ViTDense output{nullptr};
};
TORCH_MODULE(ViTAttention);

// transformers: ViTLayer (pre-LayerNorm)
class ViTLayerImpl : public torch::nn::Module {
public:
  ViTLayerImpl(const ViTConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& x);
  ViTAttention attention{nullptr};
  ViTDense intermediate{nullptr}, output{nullptr};
  torch::nn::LayerNorm layernorm_before{nullptr}, layernorm_after{nullptr};
};
TORCH_MODULE(ViTLayer);

class ViTEncoderImpl : public torch::nn::Module {
public:
  ViTEncoderImpl(const ViTConfig& c, const at::TensorOptions& o);
  at::Tensor forward(at::Tensor x);
  torch::nn::ModuleList layer{nullptr};
};
TORCH_MODULE(ViTEncoder);

// transformers: ViTModel without pooler. Returns the final-LayerNorm sequence [batch, 1+patches, hidden].
class ViTModelImpl : public torch::nn::Module {
public:
  ViTModelImpl(const ViTConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& pixels);
  ViTEmbeddings embeddings{nullptr};
  ViTEncoder encoder{nullptr};
  torch::nn::LayerNorm layernorm{nullptr};
};
TORCH_MODULE(ViTModel);

// transformers: ViTForImageClassification. logits [batch, num_labels].
class ViTForImageClassification : public PretrainedModel {
public:
  ViTForImageClassification(const ViTConfig& c, const nlohmann::json& raw, const at::TensorOptions& o);
  at::Tensor forward(const ModelInputs& in) override;
  std::string modelType() const override { return "vit"; }
  Task task() const override { return Task::ImageClassification; }
  std::string className() const override { return "ViTForImageClassification"; }
  std::string basePrefix() const override { return "vit."; }
  std::vector<std::string> headModules() const override { return {"classifier"}; }

  ViTModel vit{nullptr};
  AdaptedLinear classifier{nullptr};
};

}  // namespace fw::models
