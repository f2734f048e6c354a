#pragma once
// adapter_config.json as PEFT writes it, for peft_type FOURIERFT and LORA: which modules are
// adapted (PEFT's matching rules) and with what settings. Fields we do not model are kept and
// written back unchanged.
#include "adapters/fourierft.h"
#include "adapters/lora.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace fw::adapters {

enum class PeftType { FourierFT, LoRA };
const char* peftTypeName(PeftType t);  // "FOURIERFT", "LORA"

// PEFT's target_modules: a list of names (a module matches when its full name equals one or ends
// with "." + one), a regular expression (re.fullmatch on the full name), or "all-linear".
struct TargetModules {
  std::vector<std::string> names;
  std::optional<std::string> regex;
  bool allLinear = false;
};

struct AdapterConfig {
  PeftType peft_type = PeftType::FourierFT;
  TargetModules target_modules;
  TargetModules exclude_modules;
  std::vector<int64_t> layers_to_transform;  // empty: every layer
  std::vector<std::string> layers_pattern;
  std::vector<std::string> modules_to_save;  // trained in full beside the adapter (e.g. classifier)
  FourierFTConfig fourierft;
  LoRAConfig lora;
  // As read, in the file's key order; unknown fields survive a round trip.
  nlohmann::ordered_json raw = nlohmann::ordered_json::object();

  // Parses and checks; errors name `file` and the field. The ordered overload keeps the order of
  // rank_pattern, alpha_pattern and n_frequency_pattern (PEFT takes the first key that matches);
  // a plain nlohmann::json has sorted its keys already.
  static AdapterConfig fromJson(const nlohmann::ordered_json& j, const std::string& file = "adapter_config.json");
  static AdapterConfig fromJson(const nlohmann::json& j, const std::string& file = "adapter_config.json");
  // adapter_config.json's content; the ordered form keeps the patterns' order, for writing.
  nlohmann::ordered_json toOrderedJson() const;
  nlohmann::json toJson() const;

  bool fanInFanOut() const { return peft_type == PeftType::FourierFT ? fourierft.fan_in_fan_out : lora.fan_in_fan_out; }
  // PEFT's module-name matching; `isOutputLayer` marks the model's head, which "all-linear"
  // leaves out (injecting and loading must pass it alike).
  bool targets(const std::string& moduleName, bool isOutputLayer = false) const;
  bool savesModule(const std::string& moduleName) const;
  // The module, or a module above it, is trained in full (its parameters are saved whole).
  bool savesModuleOrParent(const std::string& moduleName) const;
  // Per-module overrides, the first matching key in file order, else the key equal to the name.
  // n_frequency_pattern: PEFT's FourierFT rule, re.match(r".*\.{key}$", name);
  // rank_pattern, alpha_pattern: PEFT's get_pattern_key, re.match(r"(.*\.)?({key})$", name).
  int64_t nFrequencyFor(const std::string& moduleName) const;
  int64_t rankFor(const std::string& moduleName) const;
  double alphaFor(const std::string& moduleName) const;
};

}  // namespace fw::adapters
