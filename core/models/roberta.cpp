#include "models/roberta.h"

namespace fw::models {

BertConfig robertaConfigFromJson(const nlohmann::json& j, const std::string& file) {
  auto c = BertConfig::fromJson(j, file);
  ConfigReader r(j, file);
  c.pad_token_id = r.integer("pad_token_id", 1, 0);
  return c;
}

at::Tensor robertaPositionIds(const at::Tensor& inputIds, int64_t paddingIdx) {
  auto mask = inputIds.ne(paddingIdx).to(at::kLong);
  return at::cumsum(mask, 1) * mask + paddingIdx;
}

RobertaClassificationHeadImpl::RobertaClassificationHeadImpl(const BertConfig& c, const at::TensorOptions& o)
    : dropout_(c.classifier_dropout >= 0 ? c.classifier_dropout : c.hidden_dropout_prob) {
  dense = register_module("dense", AdaptedLinear(c.hidden_size, c.hidden_size, true, false, o));
  out_proj = register_module("out_proj", AdaptedLinear(c.hidden_size, c.num_labels, true, false, o));
}

at::Tensor RobertaClassificationHeadImpl::forward(const at::Tensor& hidden) {
  auto x = at::dropout(hidden.select(1, 0), dropout_, is_training());
  x = at::dropout(at::tanh(dense(x)), dropout_, is_training());
  return out_proj(x);
}

RobertaForSequenceClassification::RobertaForSequenceClassification(const BertConfig& c, const nlohmann::json& raw,
                                                                   const at::TensorOptions& o)
    : paddingIdx_(c.pad_token_id) {
  config_ = raw;
  numLabels_ = c.num_labels;
  roberta = register_module("roberta", BertModel(c, o, /*addPooler=*/false));
  classifier = register_module("classifier", RobertaClassificationHead(c, o));
}

at::Tensor RobertaForSequenceClassification::forward(const ModelInputs& in) {
  return classifier(roberta(in, robertaPositionIds(in.input_ids, paddingIdx_))).to(at::kFloat);
}

}  // namespace fw::models
