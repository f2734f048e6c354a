#pragma once
// The architectures as one table (llama.cpp's LLM_ARCH names): config.json's model_type picks
// the row; each row knows how to build its task model and the checkpoint quirks the loader
// reads, so that forward passes stay free of them. Adding a model: one file, one row.
#include "models/model.h"

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fw::models {

// A linear layer of a model, by full module name, as [out, in].
struct LinearShape {
  std::string name;
  int64_t out = 0, in = 0;
};

struct ArchitectureInfo {
  std::string modelType;  // config.json model_type
  std::string className;  // the transformers task class built
  std::function<std::shared_ptr<PretrainedModel>(const nlohmann::json&, const std::string&, const at::TensorOptions&)> build;
  // The number of parameters the built model will have (exact, head included), computed from
  // the config and checked before anything is allocated.
  std::function<double(const nlohmann::json&, const std::string&)> parameterCount;
  // The linear layers the config describes, without building the model (for parameter counts
  // in the GUI before anything is allocated).
  std::function<std::vector<LinearShape>(const nlohmann::json&, const std::string&)> linearShapes;
  // Checkpoint keys that may be left unused (regexes, full match): buffers and other heads.
  std::vector<std::string> ignoredKeys;
  // Adapter module names from other transformers versions -> ours (regex, replacement), and the
  // same renames backwards: such an adapter's config (alpha_pattern, target_modules) speaks its
  // own names, and is asked about our modules under them.
  std::vector<std::pair<std::string, std::string>> adapterAliases, adapterAliasesBack;
  // Modules outside the task head that transformers initialises afresh when a checkpoint lacks
  // them, as it does the head (BERT's pooler: checkpoints saved from BertForMaskedLM or
  // BertForTokenClassification have none).
  std::vector<std::string> freshWhenMissing;
};

const std::vector<ArchitectureInfo>& architectures();
// The row for a model_type; throws naming the file and listing the known types.
const ArchitectureInfo& architectureFor(const std::string& modelType, const std::string& file = "config.json");

// linearShapes of the config's architecture.
std::vector<LinearShape> linearShapesOf(const nlohmann::json& config, const std::string& file = "config.json");

// Builds the task model of a config (random weights as LibTorch initialises them; see
// initWeights for transformers' initialisation). Refuses absurd sizes before allocating.
std::shared_ptr<PretrainedModel> buildModel(const nlohmann::json& config, const std::string& file,
                                            const at::TensorOptions& options);

// transformers' _init_weights: Linear and Conv weights ~ N(0, std), biases 0, embeddings
// ~ N(0, std), LayerNorm 1 / 0, ViT's class token and position embeddings ~ N(0, std).
void initWeights(PretrainedModel& model, double std = 0.02);

// The largest model we agree to build.
inline constexpr double kMaxParameters = 2e11;

}  // namespace fw::models
