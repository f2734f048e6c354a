#pragma once
// Puts adapters into a model by module name, as PEFT's inject_adapter does, freezes everything
// else except the modules to save, and summarises what is trainable.
#include "adapters/adapted_linear.h"
#include "adapters/adapter_config.h"

#include <map>
#include <string>
#include <vector>

namespace fw::adapters {

struct AdaptedLayer {
  std::string name;  // full module name, e.g. "bert.encoder.layer.0.attention.self.query"
  int64_t dOut = 0, dIn = 0;
  int64_t trainable = 0;
  std::string settings;  // Adapter::describe()
};

struct AdapterSummary {
  std::string method;
  std::vector<AdaptedLayer> layers;
  int64_t adapterParameters = 0;  // trained in the adapters
  int64_t savedModuleParameters = 0;  // trained in full (modules_to_save)
  int64_t totalParameters = 0;
  int64_t trainableParameters() const { return adapterParameters + savedModuleParameters; }
  std::string table() const;  // a printable summary, one line per adapted layer
};

// Every AdaptedLinear of the model, by full module name, in module order.
std::vector<std::pair<std::string, AdaptedLinear>> adaptedLinears(torch::nn::Module& model);

// Folds every attached adapter into its layer's weight for good, keeping no copy of W0: what a
// merged export and PEFT's merge_and_unload do.
void mergeAdapters(torch::nn::Module& model);

// Attaches one adapter per targeted AdaptedLinear. `positions` (module name -> [2, n]) overrides
// the seeded FourierFT positions, for native adapter folders. Throws when nothing matches,
// naming the targets and a few of the model's linear modules.
// `outputLayer` names the model's head, which "all-linear" leaves out (PEFT does the same).
AdapterSummary injectAdapters(torch::nn::Module& model, const AdapterConfig& config,
                              const std::map<std::string, at::Tensor>& positions = {},
                              const std::string& outputLayer = "");

// requires_grad off for all parameters except adapters and the config's modules_to_save.
void freezeForAdapterTraining(torch::nn::Module& model, const AdapterConfig& config);

// The summary of a model that already carries adapters.
AdapterSummary summarize(torch::nn::Module& model, const AdapterConfig& config);

}  // namespace fw::adapters
