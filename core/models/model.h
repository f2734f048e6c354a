#pragma once
// What every model of core/models offers: the inputs of a Hugging Face task model, logits out,
// and the facts the loader and the adapter injection need (architecture, head, base prefix).
#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <nlohmann/json.hpp>

#include <string>

namespace fw::models {

// Batched inputs as transformers names them. Unused fields stay undefined.
struct ModelInputs {
  at::Tensor input_ids;       // [batch, seq] int64
  at::Tensor attention_mask;  // [batch, seq] 1 = token, 0 = padding
  at::Tensor token_type_ids;  // [batch, seq] (BERT-style pairs)
  at::Tensor pixel_values;    // [batch, channels, height, width] float
};

enum class Task { SequenceClassification, CausalLM, ImageClassification };
const char* taskName(Task t);

class PretrainedModel : public torch::nn::Module {
public:
  using torch::nn::Module::Module;
  // Logits: [batch, labels] for classification, [batch, seq, vocab] for causal LMs, float32.
  virtual at::Tensor forward(const ModelInputs& inputs) = 0;

  virtual std::string modelType() const = 0;  // config.json model_type: "bert", "gpt2", ...
  virtual Task task() const = 0;
  // The transformers class this mirrors, e.g. "BertForSequenceClassification".
  virtual std::string className() const = 0;
  // The prefix of the base model's parameters ("bert."); checkpoints saved from the bare base
  // model lack it.
  virtual std::string basePrefix() const = 0;
  // Module names of the task head: fresh (randomly initialised) when a checkpoint lacks them,
  // trained in full beside an adapter, and left out of PEFT's "all-linear".
  virtual std::vector<std::string> headModules() const = 0;
  // The config as read (config.json), for saving merged checkpoints.
  const nlohmann::json& config() const { return config_; }
  int64_t numLabels() const { return numLabels_; }

protected:
  nlohmann::json config_;
  int64_t numLabels_ = 0;
};

}  // namespace fw::models
