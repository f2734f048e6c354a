#pragma once
// Hugging Face checkpoint folders: config.json plus model.safetensors, or shards listed in
// model.safetensors.index.json. Loading is a name-for-name copy into the model's parameters,
// with the architecture's quirks (ignored keys, the missing base prefix) from its table row;
// every missing, unexpected or mis-shaped tensor is reported at once.
#include "io/safetensors.h"
#include "models/architectures.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fw::models {

class CheckpointTensors {
public:
  // A folder (model.safetensors or model.safetensors.index.json) or one .safetensors file.
  static CheckpointTensors open(const std::string& path);

  bool contains(const std::string& name) const { return where_.count(name) > 0; }
  at::Tensor tensor(const std::string& name) const;
  const std::string& fileOf(const std::string& name) const;
  std::vector<std::string> names() const;
  size_t size() const { return where_.size(); }

private:
  std::vector<std::shared_ptr<io::SafetensorsFile>> shards_;
  std::map<std::string, size_t> where_;  // tensor -> shard
};

struct LoadReport {
  int64_t loaded = 0;
  std::vector<std::string> fresh;    // head parameters the checkpoint lacks, initialised anew
  std::vector<std::string> ignored;  // checkpoint tensors the architecture does not use
  std::string summary() const;
};

// Copies the checkpoint into the model (converting dtype). Throws one fw::Error listing every
// missing and unexpected name and every shape that disagrees.
LoadReport loadWeights(PretrainedModel& model, const CheckpointTensors& ckpt, const std::string& where);

struct LoadedModel {
  std::shared_ptr<PretrainedModel> model;
  LoadReport report;
  std::string folder;
  const ArchitectureInfo* arch = nullptr;
};

// config.json (with `overrides` merged in, e.g. num_labels) -> model -> weights. dtype and device
// from `options`. A task head whose shape no longer fits (another number of labels) starts
// fresh, as transformers' ignore_mismatched_sizes does; it is listed in the report.
LoadedModel loadPretrained(const std::string& folder, const at::TensorOptions& options = {},
                           const nlohmann::json& overrides = nlohmann::json::object());

// Writes a Hugging Face checkpoint folder (config.json + model.safetensors) of the model's own
// parameters, adapters left out (merge them first to export W0 + ΔW). Atomic per file.
void saveCheckpointFolder(PretrainedModel& model, const std::string& folder);

}  // namespace fw::models
