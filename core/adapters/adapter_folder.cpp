#include "adapters/adapter_folder.h"

#include "io/atomic_file.h"
#include "util/error.h"
#include "util/files.h"
#include "util/json_depth.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

namespace fw::adapters {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kSpectrum = ".fourierft_spectrum";
constexpr const char* kLoraA = ".lora_A.weight";
constexpr const char* kLoraB = ".lora_B.weight";
constexpr const char* kIndices = ".fourierft_indices";
constexpr const char* kNativeFormat = "fourier-workbench-adapter";

// A JSON value for an error message: whole when short, else its first 60 characters.
std::string briefJson(const json& j) {
  const std::string text = j.dump();
  return text.size() <= 60 ? text : text.substr(0, 60) + "...";
}

bool endsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// A parameter of a module trained in full: some module on its path is in modules_to_save.
bool underSavedModule(const AdapterConfig& config, const std::string& param) {
  const auto dot = param.rfind('.');
  return dot != std::string::npos && config.savesModuleOrParent(param.substr(0, dot));
}

AdapterLayerTensors& layerFor(std::vector<AdapterLayerTensors>& layers, std::map<std::string, size_t>& index,
                              const std::string& module) {
  auto it = index.find(module);
  if (it != index.end()) return layers[it->second];
  index[module] = layers.size();
  layers.push_back({});
  layers.back().module = module;
  return layers.back();
}

}  // namespace

int64_t AdapterLayerTensors::trainable() const {
  return (spectrum.defined() ? spectrum.numel() : 0) + (A.defined() ? A.numel() + B.numel() : 0);
}

int64_t AdapterFolder::trainableParameters() const {
  int64_t n = 0;
  for (const auto& l : layers) n += l.trainable();
  for (const auto& [name, t] : savedModules) n += t.numel();
  return n;
}

AdapterFolder readAdapterFolder(const std::string& dir) {
  AdapterFolder f;
  f.path = dir;
  if (!fs::is_directory(dir))
    throw Error("adapter folder not found").file(dir).hint("give a folder with adapter_config.json and adapter_model.safetensors");
  const std::string configPath = (fs::path(dir) / "adapter_config.json").string();
  if (!fs::exists(configPath)) throw Error("no adapter_config.json in the adapter folder").file(dir);
  // Parsed keeping the file's key order: PEFT takes the first pattern key that matches.
  nlohmann::ordered_json configJson;
  try {
    configJson = nlohmann::ordered_json::parse(readTextFile(configPath));
  } catch (const nlohmann::json::exception&) {
    readJsonFile(configPath);  // throws the error with the line
    throw;
  }
  if (jsonDeeperThan(configJson)) throw Error(jsonTooDeepReason()).file(configPath).hint("the file is damaged");
  f.config = AdapterConfig::fromJson(configJson, configPath);

  const std::string weightsPath = (fs::path(dir) / "adapter_model.safetensors").string();
  if (!fs::exists(weightsPath)) {
    throw Error("no adapter_model.safetensors in the adapter folder").file(dir)
        .hint(fs::exists(fs::path(dir) / "adapter_model.bin")
                  ? "pickled adapter_model.bin is not read; save it again with safe_serialization=True"
                  : "the folder is incomplete");
  }
  auto st = io::SafetensorsFile::open(weightsPath);
  const bool fourier = f.config.peft_type == PeftType::FourierFT;
  std::map<std::string, size_t> index;
  for (const auto& info : st.tensors()) {
    const std::string& key = info.name;
    auto bad = [&](const std::string& what) { return Error(what).file(weightsPath).tensor(key); };
    if (key.rfind(kPeftPrefix, 0) != 0)
      throw bad("tensor name lacks PEFT's prefix").expected(std::string("'") + kPeftPrefix + "<module>...'");
    const std::string rest = key.substr(std::string(kPeftPrefix).size());
    auto t = st.tensor(key);
    if (underSavedModule(f.config, rest)) {
      f.savedModules.emplace_back(rest, t);  // a module trained in full (modules_to_save)
      continue;
    }
    if (!at::isFloatingType(t.scalar_type())) throw bad("adapter tensor is not floating point").got(c10::toString(t.scalar_type()));
    t = t.to(at::kFloat);
    if (fourier && endsWith(rest, kSpectrum)) {
      auto module = rest.substr(0, rest.size() - std::string(kSpectrum).size());
      const int64_t want = f.config.nFrequencyFor(module);
      if (t.dim() != 1 || t.size(0) != want)
        throw bad("spectrum length disagrees with n_frequency").expected({want}).got(t.sizes().vec())
            .hint(f.config.fourierft.n_frequency_pattern.empty() ? "adapter_config.json and the weights do not belong together"
                                                                 : "check n_frequency_pattern");
      layerFor(f.layers, index, module).spectrum = t;
    } else if (!fourier && (endsWith(rest, kLoraA) || endsWith(rest, kLoraB))) {
      const bool isA = endsWith(rest, kLoraA);
      auto module = rest.substr(0, rest.size() - std::string(isA ? kLoraA : kLoraB).size());
      const int64_t r = f.config.rankFor(module);
      if (t.dim() != 2 || t.size(isA ? 0 : 1) != r)
        throw bad(std::string("LoRA ") + (isA ? "A" : "B") + " does not have rank r")
            .expected(isA ? "[" + std::to_string(r) + ", in]" : "[out, " + std::to_string(r) + "]").got(t.sizes().vec());
      auto& layer = layerFor(f.layers, index, module);
      (isA ? layer.A : layer.B) = t;
    } else {
      throw bad(std::string("unexpected tensor for a ") + peftTypeName(f.config.peft_type) + " adapter")
          .expected(fourier ? "'<module>.fourierft_spectrum'" : "'<module>.lora_A.weight' or '<module>.lora_B.weight'");
    }
  }
  if (f.layers.empty()) throw Error("adapter file holds no adapter tensors").file(weightsPath);
  for (auto& l : f.layers) {
    if (fourier) continue;
    if (!l.A.defined() || !l.B.defined())
      throw Error(std::string("LoRA layer lacks its ") + (l.A.defined() ? "lora_B" : "lora_A") + " weight")
          .file(weightsPath).tensor(kPeftPrefix + l.module + (l.A.defined() ? kLoraB : kLoraA));
    l.shape = {l.B.size(0), l.A.size(1)};
  }

  // The native additions.
  const auto wbPath = (fs::path(dir) / "workbench.json").string();
  if (!fs::exists(wbPath)) return f;
  f.native = true;
  f.workbench = readJsonFile(wbPath);
  // Each field's type checked before reading it: nlohmann's value() throws its own type_error,
  // which names neither the file nor the field (fuzz_adapter_folder, "format": 0).
  const json format = f.workbench.is_object() ? f.workbench.value("format", json()) : json();
  if (!format.is_string() || format.get<std::string>() != kNativeFormat)
    throw Error("not a Fourier Workbench adapter description").file(wbPath).field("format").expected(kNativeFormat)
        .got(briefJson(format));
  const json version = f.workbench.value("version", json());
  if (!version.is_number_integer() || version.get<int64_t>() < 1 || version.get<int64_t>() > kNativeFormatVersion)
    throw Error("unsupported native adapter version").file(wbPath).field("version")
        .expected("1 to " + std::to_string(kNativeFormatVersion)).got(briefJson(version));
  if (f.workbench.contains("layers") && f.workbench["layers"].is_array()) {
    for (const auto& l : f.workbench["layers"]) {
      if (!l.is_object() || !l.contains("module") || !l["module"].is_string()) continue;
      auto it = index.find(l["module"].get<std::string>());
      if (it == index.end()) continue;
      // Two integers, checked before get(): nlohmann casts a float to int64 without a range check.
      const json shape = l.contains("shape") ? l["shape"] : json();
      auto isSize = [](const json& d) { return d.is_number_integer() && !(d.is_number_unsigned() && d.get<uint64_t>() > uint64_t(INT64_MAX)); };
      if (!shape.is_array() || shape.size() != 2 || !std::all_of(shape.begin(), shape.end(), isSize))
        throw Error("layer shape must be [out, in]").file(wbPath).field("layers." + it->first + ".shape").got(shape.dump());
      f.layers[it->second].shape = shape.get<std::vector<int64_t>>();
    }
  }
  const auto posPath = (fs::path(dir) / "workbench_positions.safetensors").string();
  if (fourier && fs::exists(posPath)) {
    auto ps = io::SafetensorsFile::open(posPath);
    for (auto& l : f.layers) {
      const std::string key = l.module + kIndices;
      if (!ps.contains(key)) throw Error("frequency positions missing for layer").file(posPath).tensor(key);
      auto p = ps.tensor(key).to(at::kLong).contiguous();
      if (p.dim() != 2 || p.size(0) != 2 || p.size(1) != l.spectrum.size(0))
        throw Error("positions do not match the spectrum").file(posPath).tensor(key)
            .expected({2, l.spectrum.size(0)}).got(p.sizes().vec());
      // PEFT writes the spectrum with index_put, which keeps one of repeated positions; our paths
      // would sum them. PEFT's own positions (a randperm) never repeat.
      {
        const int64_t n = p.size(1);
        const int64_t* u = p.data_ptr<int64_t>();
        const int64_t* v = u + n;
        std::map<std::pair<int64_t, int64_t>, int64_t> seen;
        for (int64_t i = 0; i < n; ++i) {
          auto [prev, fresh] = seen.emplace(std::make_pair(u[i], v[i]), i);
          if (!fresh)
            throw Error("frequency position repeated").file(posPath).tensor(key)
                .got("(" + std::to_string(u[i]) + ", " + std::to_string(v[i]) + ") at indices " +
                     std::to_string(prev->second) + " and " + std::to_string(i))
                .hint("each (u, v) may appear once per layer: PEFT would keep one of the repeated entries");
        }
      }
      if (l.shape.size() == 2) {
        try {
          SpectrumGeometry::make(l.shape[0], l.shape[1], p);
        } catch (Error& e) {
          throw e.file(posPath).tensor(key);
        }
      }
      l.positions = p;
    }
  }
  return f;
}

void writeAdapterFolder(const std::string& dir, const AdapterFolder& folder, bool native) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create adapter folder: " + ec.message()).file(dir);
  const bool fourier = folder.config.peft_type == PeftType::FourierFT;
  io::NamedTensors tensors, positions;
  for (const auto& [name, t] : folder.savedModules) tensors.emplace_back(kPeftPrefix + name, t);
  for (const auto& l : folder.layers) {
    if (fourier) {
      tensors.emplace_back(kPeftPrefix + l.module + kSpectrum, l.spectrum);
      if (l.positions.defined()) positions.emplace_back(l.module + kIndices, l.positions);
    } else {
      tensors.emplace_back(kPeftPrefix + l.module + kLoraA, l.A);
      tensors.emplace_back(kPeftPrefix + l.module + kLoraB, l.B);
    }
  }
  io::saveSafetensors((fs::path(dir) / "adapter_model.safetensors").string(), tensors, {{"format", "pt"}});
  io::writeFileAtomic((fs::path(dir) / "adapter_config.json").string(), folder.config.toOrderedJson().dump(2) + "\n");
  if (!native) return;
  json wb = folder.workbench.is_object() ? folder.workbench : json::object();
  wb["format"] = kNativeFormat;
  wb["version"] = kNativeFormatVersion;
  wb["method"] = fourier ? "fourierft" : "lora";
  wb["created_by"] = std::string("fourier-workbench ") + FW_VERSION;
  wb["layers"] = json::array();
  for (const auto& l : folder.layers) {
    json row = {{"module", l.module}, {"trainable", l.trainable()}};
    if (l.shape.size() == 2) row["shape"] = l.shape;
    if (fourier) row["n"] = l.spectrum.size(0);
    else row["r"] = l.A.size(0);
    wb["layers"].push_back(row);
  }
  if (!positions.empty()) io::saveSafetensors((fs::path(dir) / "workbench_positions.safetensors").string(), positions);
  io::writeFileAtomic((fs::path(dir) / "workbench.json").string(), wb.dump(2) + "\n");
}

AdapterFolder captureAdapters(torch::nn::Module& model, const AdapterConfig& config) {
  AdapterFolder f;
  f.config = config;
  for (auto& [name, lin] : adaptedLinears(model)) {
    auto* a = lin->adapter();
    if (!a) continue;
    AdapterLayerTensors l;
    l.module = name;
    l.shape = {lin->outFeatures(), lin->inFeatures()};
    if (auto* ff = dynamic_cast<FourierFTAdapter*>(a)) {
      l.spectrum = ff->spectrum().detach().to(at::kCPU).clone();
      l.positions = ff->positions().to(at::kCPU).clone();
    } else if (auto* lo = dynamic_cast<LoRAAdapter*>(a)) {
      l.A = lo->A().detach().to(at::kCPU).clone();
      l.B = lo->B().detach().to(at::kCPU).clone();
    }
    f.layers.push_back(std::move(l));
  }
  if (f.layers.empty()) throw Error("the model carries no adapters to save");
  for (const auto& item : model.named_modules("", false))
    if (config.savesModule(item.key()))
      for (const auto& p : item.value()->named_parameters(true))
        f.savedModules.emplace_back(item.key() + "." + p.key(), p.value().detach().to(at::kCPU).clone());
  return f;
}

AdapterSummary applyAdapterFolder(torch::nn::Module& model, const AdapterFolder& folder, const std::string& outputLayer,
                                  const std::function<std::string(const std::string&)>& configName) {
  std::map<std::string, AdaptedLinear> byName;
  for (auto& [name, lin] : adaptedLinears(model)) byName.emplace(name, lin);
  const auto& cfg = folder.config;
  auto asConfigSaysIt = [&](const std::string& ours) { return configName ? configName(ours) : ours; };
  const std::string weights = (fs::path(folder.path) / "adapter_model.safetensors").string();
  std::set<std::string> inFile;
  for (const auto& l : folder.layers) {
    inFile.insert(l.module);
    auto it = byName.find(l.module);
    if (it == byName.end())
      throw Error("adapter names a module the model does not have").file(weights).tensor(kPeftPrefix + l.module)
          .hint("the adapter was made for another architecture or model class");
    // PEFT would not build this layer's adapter and would drop its tensors (unexpected keys):
    // applying them would give other outputs than PEFT's.
    if (!cfg.targets(asConfigSaysIt(l.module), l.module == outputLayer))
      throw Error("adapter file has tensors for a module its config does not target").file(weights).tensor(kPeftPrefix + l.module)
          .hint("adapter_config.json's target_modules (or exclude_modules, modules_to_save, layers_to_transform) and the "
                "weights do not belong together");
    auto& lin = it->second;
    const int64_t out = lin->outFeatures(), in = lin->inFeatures();
    std::shared_ptr<Adapter> adapter;
    at::NoGradGuard noGrad;
    if (cfg.peft_type == PeftType::FourierFT) {
      if (l.shape.size() == 2 && (l.shape[0] != out || l.shape[1] != in))
        throw Error("adapter layer shape disagrees with the model").file(folder.path).tensor(l.module)
            .expected({out, in}).got(l.shape);
      try {
        checkFrequencyCount(out, in, l.spectrum.size(0), l.module);  // PEFT could not load it either
      } catch (Error& e) {
        throw e.file(weights).tensor(kPeftPrefix + l.module + kSpectrum);
      }
      auto ff = std::make_shared<FourierFTAdapter>(out, in, l.spectrum.size(0), cfg.fourierft, l.positions);
      ff->spectrum().copy_(l.spectrum);
      adapter = ff;
    } else {
      if (l.A.size(1) != in || l.B.size(0) != out)
        throw Error("LoRA weights do not fit the layer").file(weights).tensor(kPeftPrefix + l.module)
            .expected("A [r, " + std::to_string(in) + "], B [" + std::to_string(out) + ", r]")
            .got("A " + Error::shapeString(l.A.sizes().vec()) + ", B " + Error::shapeString(l.B.sizes().vec()));
      auto lo = std::make_shared<LoRAAdapter>(out, in, l.A.size(0), cfg.alphaFor(asConfigSaysIt(l.module)), cfg.lora);
      lo->A().copy_(l.A);
      lo->B().copy_(l.B);
      adapter = lo;
    }
    lin->setAdapter(adapter);
  }
  auto params = model.named_parameters(true);
  for (const auto& [name, t] : folder.savedModules) {
    auto* p = params.find(name);
    if (!p) throw Error("adapter saves a module parameter the model does not have").file(weights).tensor(kPeftPrefix + name);
    if (p->sizes() != t.sizes())
      throw Error("saved module parameter has another shape").file(weights).tensor(kPeftPrefix + name)
          .expected(p->sizes().vec()).got(t.sizes().vec()).hint("the number of labels differs from the model's");
    at::NoGradGuard noGrad;
    p->copy_(t);
  }
  std::vector<std::string> missing;
  for (auto& [name, lin] : byName)
    if (cfg.targets(asConfigSaysIt(name), name == outputLayer) && !inFile.count(name)) missing.push_back(name);
  if (!missing.empty())
    throw Error("adapter file lacks tensors for modules its config targets").file(weights).got(missing.front() +
        (missing.size() > 1 ? " and " + std::to_string(missing.size() - 1) + " more" : ""));
  freezeForAdapterTraining(model, cfg);
  return summarize(model, cfg);
}

std::string describeAdapterFolder(const AdapterFolder& f) {
  std::ostringstream o;
  const auto& c = f.config;
  const bool fourier = c.peft_type == PeftType::FourierFT;
  o << "adapter:    " << f.path << (f.native ? " (native: PEFT layout + workbench metadata)" : " (PEFT)") << "\n";
  o << "method:     " << (fourier ? "FourierFT" : "LoRA") << " (peft_type " << peftTypeName(c.peft_type) << ")\n";
  o << "targets:    " << c.toJson()["target_modules"].dump() << "\n";
  if (fourier) {
    const auto& ff = c.fourierft;
    o << "settings:   n_frequency=" << ff.n_frequency << " scaling=" << ff.scaling << " random_loc_seed=" << ff.random_loc_seed
      << " init_weights=" << (ff.init_weights ? "true" : "false") << " fan_in_fan_out=" << (ff.fan_in_fan_out ? "true" : "false")
      << " ifft2_norm=" << ff.ifft2_norm << "\n";
    o << "positions:  " << (f.native && f.layers.front().positions.defined() ? "stored in the folder" : "from random_loc_seed") << "\n";
  } else {
    const auto& l = c.lora;
    o << "settings:   r=" << l.r << " lora_alpha=" << l.lora_alpha << " lora_dropout=" << l.lora_dropout
      << " use_rslora=" << (l.use_rslora ? "true" : "false") << " fan_in_fan_out=" << (l.fan_in_fan_out ? "true" : "false") << "\n";
  }
  if (!c.modules_to_save.empty()) {
    int64_t saved = 0;
    for (const auto& [name, t] : f.savedModules) saved += t.numel();
    o << "trained in full: ";
    for (size_t i = 0; i < c.modules_to_save.size(); ++i) o << (i ? ", " : "") << c.modules_to_save[i];
    o << " (" << f.savedModules.size() << " tensors, " << saved << " parameters saved)\n";
  }
  o << "layers:     " << f.layers.size() << "\n";
  for (const auto& l : f.layers) {
    o << "  " << l.module;
    if (l.shape.size() == 2) o << "  [" << l.shape[0] << " x " << l.shape[1] << "]";
    o << "  " << (fourier ? "n=" + std::to_string(l.spectrum.size(0)) : "r=" + std::to_string(l.A.size(0)))
      << "  params=" << l.trainable() << "\n";
  }
  o << "trainable:  " << f.trainableParameters() << " parameters\n";
  return o.str();
}

}  // namespace fw::adapters
