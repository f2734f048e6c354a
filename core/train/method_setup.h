#pragma once
// Turns a fresh base model into what one method trains: adapters injected (FourierFT, LoRA) or
// not (full, head-only), everything else frozen, and the trainable parameters in groups with
// their own learning rates (the paper trains the head with its own rate).
#include "adapters/adapter_config.h"
#include "models/model.h"
#include "train/experiment.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fw::train {

struct ParamGroup {
  std::string name;  // "adapter", "head", "all"; "... (no decay)"
  double lr = 0;
  std::vector<std::pair<std::string, at::Tensor>> params;  // by full parameter name
  // false: no weight decay. HF's Trainer leaves out biases and layer norms (noDecayTensors in method_setup.cpp).
  bool decay = true;
};

struct PreparedMethod {
  std::shared_ptr<models::PretrainedModel> model;
  std::vector<ParamGroup> groups;
  std::optional<adapters::AdapterConfig> adapterConfig;  // FourierFT and LoRA
  int64_t adapterParameters = 0, trainableParameters = 0;
  std::string summary;  // the adapter table, or a line for full / head-only
};

PreparedMethod prepareMethod(std::shared_ptr<models::PretrainedModel> model, const MethodSpec& method,
                             const Experiment& experiment);

// The adapter config a method spec stands for (also written as the PEFT adapter_config.json).
adapters::AdapterConfig adapterConfigFor(const MethodSpec& method, const Experiment& experiment);

}  // namespace fw::train
