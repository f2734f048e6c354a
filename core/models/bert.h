#pragma once
// BERT (transformers/models/bert/modeling_bert.py), module and parameter names as the checkpoints.
// RoBERTa (roberta.h) reuses the encoder: its layers are BERT's.
#include "adapters/adapted_linear.h"
#include "models/config_reader.h"
#include "models/model.h"

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

namespace fw::models {

using adapters::AdaptedLinear;

// transformers: BertConfig (the fields the forward pass uses).
struct BertConfig {
  int64_t vocab_size = 30522, hidden_size = 768, num_hidden_layers = 12, num_attention_heads = 12;
  int64_t intermediate_size = 3072, max_position_embeddings = 512, type_vocab_size = 2, pad_token_id = 0;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1, attention_probs_dropout_prob = 0.1, layer_norm_eps = 1e-12;
  double classifier_dropout = -1;  // null: hidden_dropout_prob
  int64_t num_labels = 2;
  bool is_decoder = false;  // causal self-attention (transformers' get_extended_attention_mask)

  static BertConfig fromJson(const nlohmann::json& j, const std::string& file);
};

// transformers: BertSelfAttention + BertSelfOutput + BertAttention. x: [batch, seq, hidden]
class BertSelfAttentionImpl : public torch::nn::Module {
public:
  BertSelfAttentionImpl(const BertConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);
  AdaptedLinear query{nullptr}, key{nullptr}, value{nullptr};

private:
  int64_t heads_;
  double dropout_;
};
TORCH_MODULE(BertSelfAttention);

class BertSelfOutputImpl : public torch::nn::Module {  // also BertOutput: dense, dropout, LayerNorm(x + residual)
public:
  BertSelfOutputImpl(int64_t in, const BertConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& residual);
  AdaptedLinear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};

private:
  double dropout_;
};
TORCH_MODULE(BertSelfOutput);

class BertAttentionImpl : public torch::nn::Module {
public:
  BertAttentionImpl(const BertConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);
  BertSelfAttention self{nullptr};
  BertSelfOutput output{nullptr};
};
TORCH_MODULE(BertAttention);

class BertIntermediateImpl : public torch::nn::Module {
public:
  BertIntermediateImpl(const BertConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& x);
  AdaptedLinear dense{nullptr};

private:
  std::string act_;
};
TORCH_MODULE(BertIntermediate);

// transformers: BertLayer
class BertLayerImpl : public torch::nn::Module {
public:
  BertLayerImpl(const BertConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);
  BertAttention attention{nullptr};
  BertIntermediate intermediate{nullptr};
  BertSelfOutput output{nullptr};
};
TORCH_MODULE(BertLayer);

// transformers: BertEncoder
class BertEncoderImpl : public torch::nn::Module {
public:
  BertEncoderImpl(const BertConfig& c, const at::TensorOptions& o);
  at::Tensor forward(at::Tensor x, const at::Tensor& mask);
  torch::nn::ModuleList layer{nullptr};
};
TORCH_MODULE(BertEncoder);

// transformers: BertEmbeddings. RoBERTa passes position ids counted from padding_idx + 1.
class BertEmbeddingsImpl : public torch::nn::Module {
public:
  BertEmbeddingsImpl(const BertConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& inputIds, const at::Tensor& tokenTypeIds, const at::Tensor& positionIds);
  torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};

private:
  double dropout_;
  int64_t maxPositions_;
};
TORCH_MODULE(BertEmbeddings);

// transformers: BertPooler (dense + tanh on the first token)
class BertPoolerImpl : public torch::nn::Module {
public:
  BertPoolerImpl(const BertConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& hidden);
  AdaptedLinear dense{nullptr};
};
TORCH_MODULE(BertPooler);

// transformers: BertModel. Returns the last hidden states [batch, seq, hidden].
class BertModelImpl : public torch::nn::Module {
public:
  BertModelImpl(const BertConfig& c, const at::TensorOptions& o, bool addPooler);
  at::Tensor forward(const ModelInputs& in, const at::Tensor& positionIds = {});
  BertEmbeddings embeddings{nullptr};
  BertEncoder encoder{nullptr};
  BertPooler pooler{nullptr};

private:
  bool isDecoder_;
};
TORCH_MODULE(BertModel);

// transformers: BertForSequenceClassification. logits [batch, num_labels].
class BertForSequenceClassification : public PretrainedModel {
public:
  BertForSequenceClassification(const BertConfig& c, const nlohmann::json& raw, const at::TensorOptions& o);
  at::Tensor forward(const ModelInputs& in) override;
  std::string modelType() const override { return "bert"; }
  Task task() const override { return Task::SequenceClassification; }
  std::string className() const override { return "BertForSequenceClassification"; }
  std::string basePrefix() const override { return "bert."; }
  std::vector<std::string> headModules() const override { return {"classifier"}; }

  BertModel bert{nullptr};
  AdaptedLinear classifier{nullptr};

private:
  double dropout_;
};

// Checks token ids and types against the embedding tables (an out-of-range id would crash).
void checkTokenIds(const at::Tensor& ids, int64_t vocab, const char* what);

}  // namespace fw::models
