#include "models/model_adapters.h"

#include "models/architectures.h"
#include "util/regex.h"

#include <functional>
#include <optional>

namespace fw::models {

adapters::AdapterSummary attachAdapterFolder(PretrainedModel& model, adapters::AdapterFolder folder) {
  const auto& arch = architectureFor(model.modelType());
  // The first matching rename, or none.
  auto rename = [](const std::vector<std::pair<std::string, std::string>>& aliases,
                   const std::string& name) -> std::optional<std::string> {
    for (const auto& [pattern, replacement] : aliases)
      if (auto renamed = Regex(pattern).replaceFull(name, replacement)) return renamed;
    return std::nullopt;
  };
  bool renamedAny = false;
  for (auto& layer : folder.layers) {
    if (auto renamed = rename(arch.adapterAliases, layer.module)) {
      layer.module = *renamed;
      renamedAny = true;
    }
  }
  std::function<std::string(const std::string&)> configName;
  if (renamedAny)
    configName = [&](const std::string& ours) { return rename(arch.adapterAliasesBack, ours).value_or(ours); };
  // The head is left out of "all-linear" on load as it is on injection (PEFT does the same).
  const auto heads = model.headModules();
  return adapters::applyAdapterFolder(model, folder, heads.empty() ? std::string() : heads.front(), configName);
}

adapters::AdapterSummary attachNewAdapters(PretrainedModel& model, const adapters::AdapterConfig& config) {
  const auto heads = model.headModules();
  return adapters::injectAdapters(model, config, {}, heads.empty() ? std::string() : heads.front());
}

}  // namespace fw::models
