#include "models/presets.h"

#include "models/architectures.h"
#include "util/error.h"

#include <sstream>

namespace fw::models {

using nlohmann::json;

const std::vector<Preset>& presets() {
  static const std::vector<Preset> table = {
      {"bert-base", "BERT-base uncased shape (110M), sequence classification",
       {{"model_type", "bert"}, {"vocab_size", 30522}, {"hidden_size", 768}, {"num_hidden_layers", 12},
        {"num_attention_heads", 12}, {"intermediate_size", 3072}, {"max_position_embeddings", 512},
        {"type_vocab_size", 2}, {"pad_token_id", 0}, {"layer_norm_eps", 1e-12}, {"num_labels", 2}}},
      {"roberta-base", "RoBERTa-base shape (125M), sequence classification (the paper's GLUE model)",
       {{"model_type", "roberta"}, {"vocab_size", 50265}, {"hidden_size", 768}, {"num_hidden_layers", 12},
        {"num_attention_heads", 12}, {"intermediate_size", 3072}, {"max_position_embeddings", 514},
        {"type_vocab_size", 1}, {"pad_token_id", 1}, {"bos_token_id", 0}, {"eos_token_id", 2},
        {"layer_norm_eps", 1e-5}, {"num_labels", 2}}},
      {"roberta-large", "RoBERTa-large shape (355M), sequence classification",
       {{"model_type", "roberta"}, {"vocab_size", 50265}, {"hidden_size", 1024}, {"num_hidden_layers", 24},
        {"num_attention_heads", 16}, {"intermediate_size", 4096}, {"max_position_embeddings", 514},
        {"type_vocab_size", 1}, {"pad_token_id", 1}, {"bos_token_id", 0}, {"eos_token_id", 2},
        {"layer_norm_eps", 1e-5}, {"num_labels", 2}}},
      {"gpt2", "GPT-2 small shape (124M), causal LM",
       {{"model_type", "gpt2"}, {"vocab_size", 50257}, {"n_embd", 768}, {"n_layer", 12}, {"n_head", 12},
        {"n_positions", 1024}, {"activation_function", "gelu_new"}}},
      {"vit-base", "ViT-base/16 at 224 pixels (86M), image classification (the paper's image model)",
       {{"model_type", "vit"}, {"hidden_size", 768}, {"num_hidden_layers", 12}, {"num_attention_heads", 12},
        {"intermediate_size", 3072}, {"image_size", 224}, {"patch_size", 16}, {"num_channels", 3},
        {"hidden_dropout_prob", 0.0}, {"attention_probs_dropout_prob", 0.0}, {"num_labels", 10}}},
      {"vit-fmnist", "A small ViT for 28x28 grey images (0.14M): the default experiment's base model",
       {{"model_type", "vit"}, {"hidden_size", 64}, {"num_hidden_layers", 4}, {"num_attention_heads", 4},
        {"intermediate_size", 128}, {"image_size", 28}, {"patch_size", 4}, {"num_channels", 1},
        {"hidden_dropout_prob", 0.0}, {"attention_probs_dropout_prob", 0.0}, {"num_labels", 5}}},
      {"llama-7b", "LLaMA-2-7B shape (6.7B with 32 layers; choose fewer with layers), causal LM",
       {{"model_type", "llama"}, {"vocab_size", 32000}, {"hidden_size", 4096}, {"intermediate_size", 11008},
        {"num_hidden_layers", 32}, {"num_attention_heads", 32}, {"num_key_value_heads", 32},
        {"max_position_embeddings", 4096}, {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0},
        {"tie_word_embeddings", false}}},
  };
  return table;
}

bool isPreset(const std::string& name) {
  for (const auto& p : presets())
    if (p.name == name) return true;
  return false;
}

json presetConfig(const std::string& name, int64_t layers, int64_t numLabels) {
  for (const auto& p : presets()) {
    if (p.name != name) continue;
    json c = p.config;
    if (layers > 0) c[c["model_type"] == "gpt2" ? "n_layer" : "num_hidden_layers"] = layers;
    if (numLabels > 0) c["num_labels"] = numLabels;
    return c;
  }
  std::ostringstream known;
  for (const auto& p : presets()) known << (known.tellp() > 0 ? ", " : "") << p.name;
  throw Error("unknown model preset '" + name + "'").field("model").expected(known.str())
      .hint("or give a Hugging Face checkpoint folder");
}

std::shared_ptr<PretrainedModel> buildPreset(const std::string& name, int64_t layers, int64_t numLabels,
                                             const at::TensorOptions& options) {
  auto model = buildModel(presetConfig(name, layers, numLabels), "preset '" + name + "'", options);
  initWeights(*model);
  return model;
}

LoadedModel openModel(const std::string& spec, const at::TensorOptions& options, const nlohmann::json& overrides) {
  if (!isPreset(spec)) return loadPretrained(spec, options, overrides);
  LoadedModel out;
  auto config = presetConfig(spec);
  for (auto it = overrides.begin(); it != overrides.end(); ++it) config[it.key()] = it.value();
  out.model = buildModel(config, "preset '" + spec + "'", options);
  initWeights(*out.model);
  out.arch = &architectureFor(out.model->modelType());
  out.model->eval();
  return out;
}

}  // namespace fw::models
