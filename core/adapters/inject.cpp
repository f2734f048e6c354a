#include "adapters/inject.h"

#include "util/error.h"

#include <iomanip>
#include <sstream>

namespace fw::adapters {

std::vector<std::pair<std::string, AdaptedLinear>> adaptedLinears(torch::nn::Module& model) {
  std::vector<std::pair<std::string, AdaptedLinear>> out;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    if (auto lin = std::dynamic_pointer_cast<AdaptedLinearImpl>(item.value()))
      out.emplace_back(item.key(), AdaptedLinear(lin));
  }
  return out;
}

void mergeAdapters(torch::nn::Module& model) {
  for (auto& [name, lin] : adaptedLinears(model))
    if (lin->adapter()) lin->merge(false);
}

AdapterSummary injectAdapters(torch::nn::Module& model, const AdapterConfig& config,
                              const std::map<std::string, at::Tensor>& positions, const std::string& outputLayer) {
  auto linears = adaptedLinears(model);
  int matched = 0;
  for (auto& [name, lin] : linears) {
    if (!config.targets(name, name == outputLayer)) continue;
    ++matched;
    const int64_t out = lin->outFeatures(), in = lin->inFeatures();
    // fan_in_fan_out follows the layer's own layout (PEFT warns and does the same): ΔW is [out, in].
    std::shared_ptr<Adapter> adapter;
    if (config.peft_type == PeftType::FourierFT) {
      auto it = positions.find(name);
      const int64_t n = it != positions.end() ? it->second.size(1) : config.nFrequencyFor(name);
      checkFrequencyCount(out, in, n, name);  // PEFT's bounds, naming the layer
      adapter = std::make_shared<FourierFTAdapter>(out, in, n, config.fourierft,
                                                   it != positions.end() ? it->second : at::Tensor());
    } else {
      adapter = std::make_shared<LoRAAdapter>(out, in, config.rankFor(name), config.alphaFor(name), config.lora);
    }
    lin->setAdapter(adapter);
  }
  if (matched == 0) {
    std::ostringstream known;
    int shown = 0;
    for (auto& [name, lin] : linears)
      if (shown++ < 6) known << (shown > 1 ? ", " : "") << name;
    if (linears.size() > 6) known << ", ...";
    std::string targets = config.raw.contains("target_modules") ? config.raw["target_modules"].dump()
                                                                 : config.toJson()["target_modules"].dump();
    throw Error("target_modules match no linear module of the model").field("target_modules").got(targets)
        .hint(linears.empty() ? "the model has no adaptable linear layers" : "its linear modules are: " + known.str());
  }
  freezeForAdapterTraining(model, config);
  return summarize(model, config);
}

void freezeForAdapterTraining(torch::nn::Module& model, const AdapterConfig& config) {
  for (auto& p : model.parameters()) p.set_requires_grad(false);
  for (const auto& item : model.named_modules("", false)) {
    if (auto lin = std::dynamic_pointer_cast<AdaptedLinearImpl>(item.value()); lin && lin->adapter())
      for (auto& [n, p] : lin->adapter()->namedParameters()) p.set_requires_grad(true);
    if (config.savesModule(item.key()))
      for (auto& p : item.value()->parameters()) p.set_requires_grad(true);
  }
}

AdapterSummary summarize(torch::nn::Module& model, const AdapterConfig& config) {
  AdapterSummary s;
  s.method = config.peft_type == PeftType::FourierFT ? "fourierft" : "lora";
  for (auto& [name, lin] : adaptedLinears(model)) {
    if (!lin->adapter()) continue;
    AdaptedLayer l{name, lin->outFeatures(), lin->inFeatures(), lin->adapter()->trainableParameters(),
                   lin->adapter()->describe()};
    s.adapterParameters += l.trainable;
    s.layers.push_back(std::move(l));
  }
  for (const auto& item : model.named_modules("", false))
    if (config.savesModule(item.key()))
      for (auto& p : item.value()->parameters()) s.savedModuleParameters += p.numel();
  for (auto& p : model.parameters()) s.totalParameters += p.numel();
  // Adapter parameters are registered on the model too; the base is what is left.
  return s;
}

std::string AdapterSummary::table() const {
  std::ostringstream o;
  size_t w = 5;
  for (const auto& l : layers) w = std::max(w, l.name.size());
  o << std::left << std::setw(int(w)) << "layer" << "  " << std::setw(12) << "shape" << std::right << std::setw(10)
    << "trainable" << "  settings\n";
  for (const auto& l : layers) {
    std::string shape = std::to_string(l.dOut) + "x" + std::to_string(l.dIn);
    o << std::left << std::setw(int(w)) << l.name << "  " << std::setw(12) << shape << std::right << std::setw(10)
      << l.trainable << "  " << l.settings << "\n";
  }
  const int64_t base = totalParameters - adapterParameters;
  o << method << ": " << layers.size() << " layers, " << adapterParameters << " adapter parameters";
  if (savedModuleParameters) o << " + " << savedModuleParameters << " in modules trained in full";
  o << " (" << std::fixed << std::setprecision(4)
    << (base > 0 ? 100.0 * double(trainableParameters()) / double(base) : 0.0) << "% of " << base << " base parameters)\n";
  return o.str();
}

}  // namespace fw::adapters
