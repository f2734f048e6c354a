#pragma once
// Named model shapes with random weights (transformers' initialisation), for benchmarks, demos
// and the default experiment: the same config.json a checkpoint of that shape would carry.
#include "models/checkpoint.h"
#include "models/model.h"

#include <memory>
#include <string>
#include <vector>

namespace fw::models {

struct Preset {
  std::string name, description;
  nlohmann::json config;  // config.json of the shape
};

const std::vector<Preset>& presets();
bool isPreset(const std::string& name);

// The preset's config with overrides: layers (0 keeps the preset's), labels (0 keeps).
nlohmann::json presetConfig(const std::string& name, int64_t layers = 0, int64_t numLabels = 0);

// Builds and initialises a preset model.
std::shared_ptr<PretrainedModel> buildPreset(const std::string& name, int64_t layers = 0, int64_t numLabels = 0,
                                             const at::TensorOptions& options = {});

// A preset name or a checkpoint folder: what the CLI and experiment files accept as "model".
// `overrides` are merged into the config (e.g. num_labels, or a preset's image_size).
LoadedModel openModel(const std::string& presetOrFolder, const at::TensorOptions& options = {},
                      const nlohmann::json& overrides = nlohmann::json::object());

}  // namespace fw::models
