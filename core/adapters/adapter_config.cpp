#include "adapters/adapter_config.h"

#include "util/error.h"
#include "util/regex.h"

#include <algorithm>
#include <limits>
#include <map>
#include <type_traits>

namespace fw::adapters {

// The file's key order matters for the pattern maps (PEFT takes the first key that matches).
using json = nlohmann::ordered_json;

const char* peftTypeName(PeftType t) { return t == PeftType::FourierFT ? "FOURIERFT" : "LORA"; }

namespace {

// Whether T holds the JSON value. nlohmann converts a float to an integer with a plain cast
// (undefined behaviour out of range: n_frequency 4.9e91, found by fuzzing), so integers are
// checked before get<T>(); lists element by element. A negative random_loc_seed wraps
// into uint64_t, as torch's manual_seed does it.
template <typename T>
bool holds(const json& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v.is_boolean();
  } else if constexpr (std::is_integral_v<T>) {
    return v.is_number_integer() && (!v.is_number_unsigned() || v.get<uint64_t>() <= uint64_t(std::numeric_limits<T>::max()));
  } else if constexpr (std::is_floating_point_v<T>) {
    return v.is_number();
  } else if constexpr (std::is_same_v<T, std::string>) {
    return v.is_string();
  } else {
    return v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return holds<typename T::value_type>(e); });
  }
}

// Reads an optional field of a given JSON type; null counts as absent, as in PEFT.
template <typename T>
bool read(const json& j, const char* key, T& out, const std::string& file) {
  if (!j.contains(key) || j[key].is_null()) return false;
  if (!holds<T>(j[key]))
    throw Error(std::is_integral_v<T> && j[key].is_number_integer() ? "integer out of range" : "wrong type").file(file)
        .field(key).got(std::string(j[key].type_name()) + " " + j[key].dump());
  out = j[key].get<T>();
  return true;
}

// LoRA's rank_pattern and alpha_pattern: peft.utils.other.get_pattern_key.
std::string loraPatternRegex(const std::string& key) { return "(.*\\.)?(" + key + ")$"; }
// FourierFT's n_frequency_pattern: FourierFTModel._create_and_replace, no group around the key.
std::string fourierPatternRegex(const std::string& key) { return ".*\\." + key + "$"; }

// A pattern map ({"module pattern": value}) in the file's order; null counts as absent. Each key
// is compiled as the regex `regexFor` makes of it, so that a bad one is told here, with the file.
template <typename V>
void readPatterns(const json& j, const char* key, PatternList<V>& out, const std::string& file,
                  std::string (*regexFor)(const std::string&)) {
  if (!j.contains(key) || j[key].is_null()) return;
  const auto& v = j[key];
  if (!v.is_object() || !std::all_of(v.begin(), v.end(), [](const json& e) { return holds<V>(e); }))
    throw Error("wrong type").file(file).field(key).got(std::string(v.type_name()) + " " + v.dump())
        .expected(std::string("an object of module-name patterns to ") + (std::is_integral_v<V> ? "integers" : "numbers"));
  out.clear();
  for (auto it = v.begin(); it != v.end(); ++it) {
    try {
      Regex check(regexFor(it.key()));
    } catch (Error& e) {
      throw e.file(file).field(std::string(key) + "." + it.key()).hint("a key is a module name or a regular expression");
    }
    out.emplace_back(it.key(), it.value().template get<V>());
  }
}

template <typename V>
json patternsToJson(const PatternList<V>& patterns) {
  json o = json::object();
  for (const auto& [k, v] : patterns) o[k] = v;
  return o;
}

TargetModules readTargets(const json& j, const char* key, const std::string& file) {
  TargetModules t;
  if (!j.contains(key) || j[key].is_null()) return t;
  const auto& v = j[key];
  if (v.is_string()) {
    auto s = v.get<std::string>();
    if (s == "all-linear") t.allLinear = true;
    else {
      try {
        Regex check(s);
      } catch (Error& e) {
        throw e.file(file).field(key);
      }
      t.regex = s;
    }
  } else if (v.is_array()) {
    for (const auto& e : v) {
      if (!e.is_string()) throw Error("entries must be strings").file(file).field(key).got(e.dump());
      t.names.push_back(e.get<std::string>());
    }
  } else {
    throw Error("must be a list of module names or a regular expression").file(file).field(key).got(v.dump());
  }
  return t;
}

json targetsToJson(const TargetModules& t) {
  if (t.allLinear) return "all-linear";
  if (t.regex) return *t.regex;
  if (t.names.empty()) return nullptr;
  return t.names;
}

bool endsWithName(const std::string& key, const std::string& target) {
  return key == target ||
         (key.size() > target.size() && key.compare(key.size() - target.size(), target.size(), target) == 0 &&
          key[key.size() - target.size() - 1] == '.');
}

bool matchesTargets(const TargetModules& t, const std::string& key, bool isOutputLayer) {
  if (t.allLinear) return !isOutputLayer;
  if (t.regex) return Regex(*t.regex).fullMatch(key);
  for (const auto& n : t.names)
    if (endsWithName(key, n)) return true;
  return false;
}

// PEFT's pattern lookup: the first key, in file order, whose regular expression (built by
// `regexFor`) re.match-es the name; failing that, patterns.get(name), the key equal to the name.
template <typename V, typename RegexFor>
const V* patternValue(const PatternList<V>& patterns, const std::string& name, RegexFor regexFor) {
  for (const auto& [pattern, value] : patterns)
    if (Regex(regexFor(pattern)).matchAtStart(name)) return &value;
  for (const auto& [pattern, value] : patterns)
    if (pattern == name) return &value;
  return nullptr;
}

}  // namespace

AdapterConfig AdapterConfig::fromJson(const nlohmann::json& j, const std::string& file) {
  return fromJson(json(j), file);
}

AdapterConfig AdapterConfig::fromJson(const json& j, const std::string& file) {
  if (!j.is_object()) throw Error("adapter config is not a JSON object").file(file);
  AdapterConfig c;
  c.raw = j;
  std::string type;
  if (!read(j, "peft_type", type, file)) throw Error("missing peft_type").file(file).field("peft_type")
      .hint("this is not a PEFT adapter_config.json");
  if (type == "FOURIERFT") c.peft_type = PeftType::FourierFT;
  else if (type == "LORA") c.peft_type = PeftType::LoRA;
  else throw Error("unknown PEFT type '" + type + "'").file(file).field("peft_type").expected("FOURIERFT or LORA");

  c.target_modules = readTargets(j, "target_modules", file);
  if (!c.target_modules.allLinear && !c.target_modules.regex && c.target_modules.names.empty())
    throw Error("no target modules").file(file).field("target_modules")
        .hint("list the module names to adapt, e.g. [\"query\", \"value\"]");
  c.exclude_modules = readTargets(j, "exclude_modules", file);
  if (j.contains("layers_to_transform") && !j["layers_to_transform"].is_null()) {
    int64_t layer = 0;
    if (j["layers_to_transform"].is_number_integer() && read(j, "layers_to_transform", layer, file)) c.layers_to_transform = {layer};
    else read(j, "layers_to_transform", c.layers_to_transform, file);
  }
  // An empty layers_pattern ("" or []) is none, as in PEFT.
  if (j.contains("layers_pattern") && j["layers_pattern"].is_string()) {
    if (auto p = j["layers_pattern"].get<std::string>(); !p.empty()) c.layers_pattern = {p};
  } else {
    read(j, "layers_pattern", c.layers_pattern, file);
  }
  // PEFT's config refuses these too.
  const bool stringTargets = c.target_modules.allLinear || c.target_modules.regex;
  if (stringTargets && !c.layers_to_transform.empty())
    throw Error("layers_to_transform cannot be used when target_modules is a string").file(file).field("layers_to_transform")
        .hint("list the module names in target_modules instead");
  if (stringTargets && !c.layers_pattern.empty())
    throw Error("layers_pattern cannot be used when target_modules is a string").file(file).field("layers_pattern");
  if (!c.layers_pattern.empty() && c.layers_to_transform.empty())
    throw Error("layers_pattern needs layers_to_transform").file(file).field("layers_pattern")
        .hint("give the layer indices in layers_to_transform, or leave layers_pattern out");
  read(j, "modules_to_save", c.modules_to_save, file);
  // PEFT's "all" and "lora_only"/"fourier_only" train and save the layers' biases too.
  if (std::string bias = "none"; read(j, "bias", bias, file) && bias != "none")
    throw Error("adapters that train biases are not supported").file(file).field("bias").got(bias)
        .expected("\"none\"");

  if (c.peft_type == PeftType::FourierFT) {
    auto& f = c.fourierft;
    read(j, "n_frequency", f.n_frequency, file);
    read(j, "scaling", f.scaling, file);
    read(j, "random_loc_seed", f.random_loc_seed, file);
    read(j, "fan_in_fan_out", f.fan_in_fan_out, file);
    read(j, "ifft2_norm", f.ifft2_norm, file);
    readPatterns(j, "n_frequency_pattern", f.n_frequency_pattern, file, fourierPatternRegex);
    if (j.contains("init_weights") && !j["init_weights"].is_null()) {
      if (!j["init_weights"].is_boolean())
        throw Error("must be true or false").file(file).field("init_weights").got(j["init_weights"].dump());
      f.init_weights = j["init_weights"].get<bool>();
    }
    if (f.n_frequency <= 0) throw Error("must be positive").file(file).field("n_frequency").got(std::to_string(f.n_frequency));
    for (const auto& [k, n] : f.n_frequency_pattern)
      if (n <= 0) throw Error("must be positive").file(file).field("n_frequency_pattern." + k).got(std::to_string(n));
    if (j.contains("alpha") && !j["alpha"].is_null())
      throw Error("FourierFT 'alpha' (n as a fraction of the layer) is not supported").file(file).field("alpha")
          .hint("give n_frequency instead");
    ifft2NormFactor(f.ifft2_norm, 1, 1);
  } else {
    auto& l = c.lora;
    read(j, "r", l.r, file);
    read(j, "lora_alpha", l.lora_alpha, file);
    read(j, "lora_dropout", l.lora_dropout, file);
    read(j, "use_rslora", l.use_rslora, file);
    read(j, "fan_in_fan_out", l.fan_in_fan_out, file);
    readPatterns(j, "rank_pattern", l.rank_pattern, file, loraPatternRegex);
    readPatterns(j, "alpha_pattern", l.alpha_pattern, file, loraPatternRegex);
    if (j.contains("init_lora_weights") && !j["init_lora_weights"].is_null()) {
      const auto& v = j["init_lora_weights"];
      if (v.is_boolean()) l.init_lora_weights = v.get<bool>() ? "true" : "false";
      else if (v.is_string() && v.get<std::string>() == "gaussian") l.init_lora_weights = "gaussian";
      else throw Error("unsupported initialisation").file(file).field("init_lora_weights").got(v.dump())
          .expected("true, false or \"gaussian\"");
    }
    if (l.r <= 0) throw Error("must be positive").file(file).field("r").got(std::to_string(l.r));
    for (const auto& [k, r] : l.rank_pattern)
      if (r <= 0) throw Error("must be positive").file(file).field("rank_pattern." + k).got(std::to_string(r));
    if (!(l.lora_dropout >= 0 && l.lora_dropout < 1))
      throw Error("must be in [0, 1)").file(file).field("lora_dropout").got(std::to_string(l.lora_dropout));
    // Adapters that add tensors or layers of their own: refused by name rather than as an
    // unexpected tensor (or, for layer_replication, a model of another depth).
    bool loraBias = false;
    if (read(j, "lora_bias", loraBias, file) && loraBias)
      throw Error("LoRA with a bias on lora_B (lora_bias) is not supported").file(file).field("lora_bias");
    if (j.contains("layer_replication") && !j["layer_replication"].is_null() &&
        !(j["layer_replication"].is_array() && j["layer_replication"].empty()))
      throw Error("layer_replication (a model with repeated layers) is not supported").file(file).field("layer_replication");
    bool dora = false;
    if (read(j, "use_dora", dora, file) && dora)
      throw Error("DoRA adapters are not supported").file(file).field("use_dora");
  }
  return c;
}

nlohmann::json AdapterConfig::toJson() const { return nlohmann::json(toOrderedJson()); }

json AdapterConfig::toOrderedJson() const {
  json j = raw.is_object() ? raw : json::object();
  j["peft_type"] = peftTypeName(peft_type);
  j["target_modules"] = targetsToJson(target_modules);
  if (!exclude_modules.names.empty() || exclude_modules.regex) j["exclude_modules"] = targetsToJson(exclude_modules);
  if (!layers_to_transform.empty()) j["layers_to_transform"] = layers_to_transform;
  if (!modules_to_save.empty()) j["modules_to_save"] = modules_to_save;
  else if (!j.contains("modules_to_save")) j["modules_to_save"] = nullptr;
  if (peft_type == PeftType::FourierFT) {
    const auto& f = fourierft;
    j["n_frequency"] = f.n_frequency;
    j["scaling"] = f.scaling;
    j["random_loc_seed"] = f.random_loc_seed;
    j["init_weights"] = f.init_weights;
    j["fan_in_fan_out"] = f.fan_in_fan_out;
    j["n_frequency_pattern"] = patternsToJson(f.n_frequency_pattern);
    if (f.ifft2_norm != "backward" || j.contains("ifft2_norm")) j["ifft2_norm"] = f.ifft2_norm;
  } else {
    const auto& l = lora;
    j["r"] = l.r;
    j["lora_alpha"] = l.lora_alpha;
    j["lora_dropout"] = l.lora_dropout;
    j["use_rslora"] = l.use_rslora;
    j["fan_in_fan_out"] = l.fan_in_fan_out;
    j["rank_pattern"] = patternsToJson(l.rank_pattern);
    j["alpha_pattern"] = patternsToJson(l.alpha_pattern);
    if (l.init_lora_weights == "gaussian") j["init_lora_weights"] = "gaussian";
    else j["init_lora_weights"] = l.init_lora_weights == "true";
  }
  if (!j.contains("bias")) j["bias"] = "none";
  return j;
}

bool AdapterConfig::targets(const std::string& key, bool isOutputLayer) const {
  if ((exclude_modules.regex || !exclude_modules.names.empty()) && matchesTargets(exclude_modules, key, false))
    return false;
  // PEFT (check_target_module_exists): a module trained in full, or inside one, is never adapted
  // (its adapter tensors would also be the saved module's parameters).
  if (savesModuleOrParent(key)) return false;
  if (!matchesTargets(target_modules, key, isOutputLayer)) return false;
  // A full name in the list is taken as it is; layers_to_transform filters the suffix matches.
  if (std::find(target_modules.names.begin(), target_modules.names.end(), key) != target_modules.names.end()) return true;
  if (layers_to_transform.empty()) return true;
  // PEFT: the layer index is the number after the layer container ("layer.3.", "h.11.").
  std::optional<std::string> index;
  if (layers_pattern.empty()) index = Regex(R"(.*\.[^.]*\.(\d+)\.)").matchGroup(key, 1);
  for (const auto& p : layers_pattern)
    if ((index = Regex(".*\\." + p + "\\.(\\d+)\\.").matchGroup(key, 1))) break;
  if (!index) return false;
  const int64_t layer = std::stoll(*index);
  return std::find(layers_to_transform.begin(), layers_to_transform.end(), layer) != layers_to_transform.end();
}

bool AdapterConfig::savesModule(const std::string& key) const {
  for (const auto& n : modules_to_save)
    if (endsWithName(key, n)) return true;
  return false;
}

bool AdapterConfig::savesModuleOrParent(const std::string& moduleName) const {
  if (savesModule(moduleName)) return true;
  for (size_t dot = moduleName.find('.'); dot != std::string::npos; dot = moduleName.find('.', dot + 1))
    if (savesModule(moduleName.substr(0, dot))) return true;
  return false;
}

int64_t AdapterConfig::nFrequencyFor(const std::string& name) const {
  auto* v = patternValue(fourierft.n_frequency_pattern, name, fourierPatternRegex);
  return v ? *v : fourierft.n_frequency;
}

int64_t AdapterConfig::rankFor(const std::string& name) const {
  auto* v = patternValue(lora.rank_pattern, name, loraPatternRegex);
  return v ? *v : lora.r;
}

double AdapterConfig::alphaFor(const std::string& name) const {
  auto* v = patternValue(lora.alpha_pattern, name, loraPatternRegex);
  return v ? *v : lora.lora_alpha;
}

}  // namespace fw::adapters
