#pragma once
// Adapter folders. The PEFT layout is adapter_config.json + adapter_model.safetensors with keys
// "base_model.model.<module>.fourierft_spectrum" or "...lora_A.weight" / "...lora_B.weight".
// The native layout adds, beside them (so PEFT still loads the folder):
//   workbench.json                    format version, method, per-layer shapes, provenance
//   workbench_positions.safetensors   "<module>.fourierft_indices" [2, n] int64, FourierFT only
// so that positions chosen other than by seed survive. A position may appear once per layer
// (PEFT's index_put would keep one of repeated positions; our paths would sum them).
#include "adapters/adapter_config.h"
#include "adapters/inject.h"
#include "io/safetensors.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace fw::adapters {

inline constexpr const char* kPeftPrefix = "base_model.model.";
inline constexpr int kNativeFormatVersion = 1;

struct AdapterLayerTensors {
  std::string module;  // "bert.encoder.layer.0.attention.self.query"
  at::Tensor spectrum;  // FourierFT [n]
  at::Tensor A, B;      // LoRA [r, in], [out, r]
  at::Tensor positions;  // native FourierFT [2, n]; undefined: from the seed
  std::vector<int64_t> shape;  // [out, in] when known (LoRA, native)
  int64_t trainable() const;
};

struct AdapterFolder {
  std::string path;
  AdapterConfig config;
  std::vector<AdapterLayerTensors> layers;  // in file order
  // Parameters of the modules trained in full (config.modules_to_save), by their model names
  // ("classifier.weight"); PEFT saves them beside the adapter tensors.
  io::NamedTensors savedModules;
  bool native = false;
  nlohmann::json workbench;  // workbench.json, native only

  int64_t trainableParameters() const;  // adapters and saved modules
};

// Reads and checks a PEFT or native folder: the config, every tensor's name and shape against
// the config (spectrum length = n_frequency or its pattern, LoRA rank = r), complete LoRA pairs.
AdapterFolder readAdapterFolder(const std::string& dir);

// Writes the PEFT layout (and, with native, the workbench files), creating the folder.
void writeAdapterFolder(const std::string& dir, const AdapterFolder& folder, bool native);

// The adapters of a model that carries them, as a folder to write.
AdapterFolder captureAdapters(torch::nn::Module& model, const AdapterConfig& config);

// Injects the folder's adapters into the model and copies their tensors; checks every module
// exists, every shape fits and every module the config targets has its tensors. `outputLayer`
// names the model's head, which "all-linear" leaves out: pass what injectAdapters was given.
// Returns the summary.
// `configName` gives the name the folder's config knows a module of ours by, where the folder's
// modules were renamed to ours (transformers 5's ViT names): alpha_pattern and target_modules
// speak the folder's names. Empty: the same names.
AdapterSummary applyAdapterFolder(torch::nn::Module& model, const AdapterFolder& folder,
                                  const std::string& outputLayer = "",
                                  const std::function<std::string(const std::string&)>& configName = {});

// A printable description for `fourierft adapter info`.
std::string describeAdapterFolder(const AdapterFolder& folder);

}  // namespace fw::adapters
