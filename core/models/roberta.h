#pragma once
// RoBERTa (transformers/models/roberta/modeling_roberta.py): BERT's encoder, position ids that
// count real tokens from padding_idx + 1, no pooler in the classifier, and its own head.
#include "models/bert.h"

namespace fw::models {

// RoBERTa's config is BERT's (pad_token_id defaults to 1).
BertConfig robertaConfigFromJson(const nlohmann::json& j, const std::string& file);

// transformers: create_position_ids_from_input_ids. [batch, seq] int64.
at::Tensor robertaPositionIds(const at::Tensor& inputIds, int64_t paddingIdx);

// transformers: RobertaClassificationHead (dense + tanh on <s>, then out_proj).
class RobertaClassificationHeadImpl : public torch::nn::Module {
public:
  RobertaClassificationHeadImpl(const BertConfig& c, const at::TensorOptions& o);
  at::Tensor forward(const at::Tensor& hidden);
  AdaptedLinear dense{nullptr}, out_proj{nullptr};

private:
  double dropout_;
};
TORCH_MODULE(RobertaClassificationHead);

// transformers: RobertaForSequenceClassification. logits [batch, num_labels].
class RobertaForSequenceClassification : public PretrainedModel {
public:
  RobertaForSequenceClassification(const BertConfig& c, const nlohmann::json& raw, const at::TensorOptions& o);
  at::Tensor forward(const ModelInputs& in) override;
  std::string modelType() const override { return "roberta"; }
  Task task() const override { return Task::SequenceClassification; }
  std::string className() const override { return "RobertaForSequenceClassification"; }
  std::string basePrefix() const override { return "roberta."; }
  std::vector<std::string> headModules() const override { return {"classifier"}; }

  BertModel roberta{nullptr};
  RobertaClassificationHead classifier{nullptr};

private:
  int64_t paddingIdx_;
};

}  // namespace fw::models
