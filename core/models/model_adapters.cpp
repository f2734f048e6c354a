#include "models/model_adapters.h"

#include "models/architectures.h"
#include "util/regex.h"

namespace fw::models {

adapters::AdapterSummary attachAdapterFolder(PretrainedModel& model, adapters::AdapterFolder folder) {
  const auto& arch = architectureFor(model.modelType());
  for (auto& layer : folder.layers) {
    for (const auto& [pattern, replacement] : arch.adapterAliases) {
      if (auto renamed = Regex(pattern).replaceFull(layer.module, replacement)) {
        layer.module = *renamed;
        break;
      }
    }
  }
  // The head is left out of "all-linear" on load as it is on injection (PEFT does the same).
  const auto heads = model.headModules();
  return adapters::applyAdapterFolder(model, folder, heads.empty() ? std::string() : heads.front());
}

adapters::AdapterSummary attachNewAdapters(PretrainedModel& model, const adapters::AdapterConfig& config) {
  const auto heads = model.headModules();
  return adapters::injectAdapters(model, config, {}, heads.empty() ? std::string() : heads.front());
}

}  // namespace fw::models
