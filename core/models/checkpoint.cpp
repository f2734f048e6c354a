#include "models/checkpoint.h"

#include "adapters/adapted_linear.h"
#include "io/atomic_file.h"
#include "util/error.h"
#include "util/files.h"
#include "util/regex.h"

#include <filesystem>
#include <set>
#include <sstream>

namespace fw::models {

namespace fs = std::filesystem;

CheckpointTensors CheckpointTensors::open(const std::string& path) {
  CheckpointTensors c;
  auto addShard = [&](const std::string& file) {
    c.shards_.push_back(std::make_shared<io::SafetensorsFile>(io::SafetensorsFile::open(file)));
    for (const auto& name : c.shards_.back()->names()) {
      auto [it, added] = c.where_.emplace(name, c.shards_.size() - 1);
      if (!added)  // which copy transformers would take depends on the order the shards are read
        throw Error("tensor found in two shards: " + c.shards_[it->second]->path() + " and " + file).file(file).tensor(name)
            .hint("the checkpoint's shards overlap; re-save it or remove the duplicate");
    }
  };
  if (!fs::is_directory(path)) {
    if (!fs::exists(path)) throw Error("checkpoint not found").file(path);
    addShard(path);
    return c;
  }
  const auto single = fs::path(path) / "model.safetensors", index = fs::path(path) / "model.safetensors.index.json";
  if (fs::exists(single)) {
    addShard(single.string());
  } else if (fs::exists(index)) {
    auto j = readJsonFile(index.string());
    if (!j.contains("weight_map") || !j["weight_map"].is_object())
      throw Error("sharded index has no weight_map object").file(index.string()).field("weight_map");
    std::map<std::string, std::string> wanted;  // tensor -> shard file
    std::set<std::string> files;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it.value().is_string()) throw Error("shard names must be strings").file(index.string()).field("weight_map." + it.key());
      auto shard = it.value().get<std::string>();
      if (shard.find('/') != std::string::npos || shard == "..")
        throw Error("shard must be a file in the checkpoint folder").file(index.string()).field("weight_map." + it.key()).got(shard);
      wanted[it.key()] = shard;
      files.insert(shard);
    }
    for (const auto& f : files) {
      auto p = fs::path(path) / f;
      // The error_code form: the throwing one raised std::filesystem_error past every handler for
      // a name the system refuses (longer than 255 bytes: ENAMETOOLONG; fuzz_checkpoint_folder).
      std::error_code ec;
      const bool there = fs::exists(p, ec);
      if (ec)
        throw Error("cannot look for a shard listed in the index: " + ec.message()).file(index.string())
            .field("weight_map").got(f.size() > 80 ? f.substr(0, 80) + "..." : f);
      if (!there) throw Error("shard listed in the index is missing").file(p.string()).hint("the download is incomplete");
      addShard(p.string());
    }
    for (const auto& [name, shard] : wanted) {
      auto it = c.where_.find(name);
      if (it == c.where_.end() || fs::path(c.shards_[it->second]->path()).filename() != shard)
        throw Error("tensor listed in the index is not in its shard").file((fs::path(path) / shard).string()).tensor(name);
    }
  } else {
    throw Error("no model.safetensors or model.safetensors.index.json in the checkpoint folder").file(path)
        .hint(fs::exists(fs::path(path) / "pytorch_model.bin") ? "pickled pytorch_model.bin is not read; save the model with safe_serialization=True"
                                                                : "give a Hugging Face checkpoint folder");
  }
  return c;
}

at::Tensor CheckpointTensors::tensor(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw Error("no such tensor in the checkpoint").tensor(name);
  return shards_[it->second]->tensor(name);
}

const std::string& CheckpointTensors::fileOf(const std::string& name) const {
  return shards_.at(where_.at(name))->path();
}

std::vector<std::string> CheckpointTensors::names() const {
  std::vector<std::string> out;
  for (const auto& [name, shard] : where_) out.push_back(name);
  return out;
}

std::string LoadReport::summary() const {
  std::ostringstream o;
  o << loaded << " tensors loaded";
  if (!fresh.empty()) {
    o << "; newly initialised (not in the checkpoint): ";
    for (size_t i = 0; i < fresh.size(); ++i) o << (i ? ", " : "") << fresh[i];
  }
  if (!ignored.empty()) o << "; " << ignored.size() << " checkpoint tensors not used by this task";
  return o.str();
}

namespace {

bool inHead(const std::string& key, const std::vector<std::string>& heads) {
  for (const auto& h : heads)
    if (key.rfind(h + ".", 0) == 0) return true;
  return false;
}

// transformers' _fix_state_dict_key_on_load: early checkpoints ported from TensorFlow (e.g.
// bert-base-cased) name LayerNorm's parameters gamma and beta. The checkpoint name a parameter
// may have instead of its own; empty when none.
std::string legacyName(const std::string& key) {
  static const std::pair<std::string, std::string> renames[] = {{"LayerNorm.weight", "LayerNorm.gamma"},
                                                                {"LayerNorm.bias", "LayerNorm.beta"}};
  for (const auto& [now, old] : renames)
    if (key.size() >= now.size() && key.compare(key.size() - now.size(), now.size(), now) == 0)
      return key.substr(0, key.size() - now.size()) + old;
  return {};
}

std::string listOf(const std::vector<std::string>& names, size_t most = 8) {
  std::ostringstream o;
  for (size_t i = 0; i < names.size() && i < most; ++i) o << (i ? ", " : "") << names[i];
  if (names.size() > most) o << " and " << names.size() - most << " more";
  return o.str();
}

// Whether the config's id2label and label2id (where present) name exactly `numLabels` labels.
bool labelNamesFit(const nlohmann::json& config, int64_t numLabels) {
  for (const char* key : {"id2label", "label2id"})
    if (config.contains(key) && !(config[key].is_object() && int64_t(config[key].size()) == numLabels)) return false;
  return true;
}

// Removes id2label and label2id unless they name exactly `numLabels` labels; keys in `keep` (names
// a caller gave with the count) stay.
void dropLabelNamesUnlessFit(nlohmann::json& config, int64_t numLabels, const nlohmann::json& keep = nlohmann::json::object()) {
  if (labelNamesFit(config, numLabels)) return;
  for (const char* key : {"id2label", "label2id"})
    if (!keep.contains(key)) config.erase(key);
}

}  // namespace

LoadReport loadWeights(PretrainedModel& model, const CheckpointTensors& ckpt, const std::string& where) {
  const auto& arch = architectureFor(model.modelType(), where);
  const std::string prefix = model.basePrefix();
  LoadReport report;
  std::set<std::string> used;
  std::vector<std::string> missing;
  struct Mismatch { std::string key, file; std::vector<int64_t> want, got; };
  std::vector<Mismatch> mismatched;
  std::vector<std::pair<std::string, at::Tensor>> toCopy;

  for (const auto& item : model.named_parameters(true)) {
    const std::string& key = item.key();
    // The name as saved: our own, without the base prefix (saved as the base model), or either
    // with the legacy LayerNorm names.
    std::vector<std::string> candidates{key};
    if (key.rfind(prefix, 0) == 0) candidates.push_back(key.substr(prefix.size()));
    for (size_t i = 0, n = candidates.size(); i < n; ++i)
      if (auto legacy = legacyName(candidates[i]); !legacy.empty()) candidates.push_back(legacy);
    std::string source = key;
    for (const auto& c : candidates)
      if (ckpt.contains(c)) {
        source = c;
        break;
      }
    if (!ckpt.contains(source)) {
      if (inHead(key, model.headModules()) || inHead(key, arch.freshWhenMissing)) report.fresh.push_back(key);
      else missing.push_back(key);
      continue;
    }
    used.insert(source);
    auto t = ckpt.tensor(source);
    if (t.sizes() != item.value().sizes() && inHead(key, model.headModules())) {
      report.fresh.push_back(key);  // a head for another number of labels
      continue;
    }
    if (t.sizes() != item.value().sizes()) {
      mismatched.push_back({key, ckpt.fileOf(source), item.value().sizes().vec(), t.sizes().vec()});
      continue;
    }
    toCopy.emplace_back(key, t);
  }
  std::vector<std::string> unexpected;
  std::vector<Regex> ignore;
  for (const auto& p : arch.ignoredKeys) ignore.emplace_back(p);
  for (const auto& name : ckpt.names()) {
    if (used.count(name)) continue;
    bool ok = false;
    for (const auto& r : ignore) ok = ok || r.fullMatch(name);
    (ok ? report.ignored : unexpected).push_back(name);
  }
  if (mismatched.size() == 1 && missing.empty() && unexpected.empty()) {
    const auto& m = mismatched.front();
    throw Error("tensor has the wrong shape").file(m.file).tensor(m.key).expected(m.want).got(m.got)
        .hint("config.json disagrees with the checkpoint");
  }
  if (!mismatched.empty() || !missing.empty() || !unexpected.empty()) {
    std::ostringstream got;
    if (!missing.empty()) got << "missing " << missing.size() << ": " << listOf(missing);
    if (!unexpected.empty()) got << (got.tellp() > 0 ? "; " : "") << "unexpected " << unexpected.size() << ": " << listOf(unexpected);
    for (size_t i = 0; i < mismatched.size() && i < 4; ++i)
      got << (got.tellp() > 0 ? "; " : "") << "'" << mismatched[i].key << "' expected " << Error::shapeString(mismatched[i].want)
          << ", got " << Error::shapeString(mismatched[i].got);
    throw Error("checkpoint does not match the " + model.className() + " built from config.json").file(where)
        .got(got.str()).hint("is config.json from the same model as the weights?");
  }
  at::NoGradGuard noGrad;
  auto params = model.named_parameters(true);
  for (auto& [key, t] : toCopy) params[key].copy_(t);
  report.loaded = int64_t(toCopy.size());
  if (!report.fresh.empty()) {
    // transformers' initialisation for a new head: N(0, initializer_range), zero bias.
    const double std = model.config().value("initializer_range", 0.02);
    for (const auto& key : report.fresh) {
      auto& p = params[key];
      if (key.size() > 5 && key.compare(key.size() - 5, 5, ".bias") == 0) p.zero_();
      else p.normal_(0.0, std);
    }
  }
  return report;
}

LoadedModel loadPretrained(const std::string& folder, const at::TensorOptions& options, const nlohmann::json& overrides) {
  if (!fs::is_directory(folder)) throw Error("checkpoint folder not found").file(folder);
  const auto configPath = (fs::path(folder) / "config.json").string();
  if (!fs::exists(configPath)) throw Error("no config.json in the checkpoint folder").file(folder);
  auto config = readJsonFile(configPath);
  if (!config.is_object()) throw Error("model config is not a JSON object").file(configPath);
  for (auto it = overrides.begin(); it != overrides.end(); ++it) config[it.key()] = it.value();
  // A new number of labels keeps the checkpoint's names only where they still fit (as
  // transformers' PretrainedConfig does); names given with it are kept.
  if (overrides.contains("num_labels") && overrides["num_labels"].is_number_integer())
    dropLabelNamesUnlessFit(config, overrides["num_labels"].get<int64_t>(), overrides);
  LoadedModel out;
  out.folder = folder;
  out.model = buildModel(config, configPath, options);
  out.arch = &architectureFor(out.model->modelType(), configPath);
  auto ckpt = CheckpointTensors::open(folder);
  out.report = loadWeights(*out.model, ckpt, folder);
  out.model->eval();
  return out;
}

void saveCheckpointFolder(PretrainedModel& model, const std::string& folder) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw Error("cannot create checkpoint folder: " + ec.message()).file(folder);
  std::set<const void*> adapterParams;
  for (const auto& item : model.named_modules("", false))
    if (auto lin = std::dynamic_pointer_cast<adapters::AdaptedLinearImpl>(item.value()); lin && lin->adapter())
      for (const auto& [name, p] : lin->adapter()->namedParameters()) adapterParams.insert(p.unsafeGetTensorImpl());
  io::NamedTensors tensors;
  for (const auto& item : model.named_parameters(true))
    if (!adapterParams.count(item.value().unsafeGetTensorImpl())) tensors.emplace_back(item.key(), item.value().detach());
  io::saveSafetensors((fs::path(folder) / "model.safetensors").string(), tensors, {{"format", "pt"}});
  auto config = model.config();
  if (model.numLabels() > 0) {
    config["num_labels"] = model.numLabels();
    // Label names stay unless the head no longer has as many labels as they name.
    dropLabelNamesUnlessFit(config, model.numLabels());
  }
  config["architectures"] = {model.className()};
  config["model_type"] = model.modelType();
  // What was trained, not what the source checkpoint said: our classification heads are trained
  // single-label (cross entropy) or as a regression (one output); a Hub checkpoint fine-tuned
  // multi-label would otherwise make transformers' pipeline score ours with a sigmoid.
  if (model.numLabels() > 0) config["problem_type"] = model.numLabels() == 1 ? "regression" : "single_label_classification";
  // The dtype of the tensors written (transformers 5 loads with dtype "auto": a stale float16
  // from the source checkpoint would cast our float32 weights down).
  if (!tensors.empty()) {
    const auto type = tensors.front().second.scalar_type();
    const char* name = type == at::kBFloat16 ? "bfloat16" : type == at::kHalf ? "float16" : "float32";
    const bool v5 = config.contains("dtype") && !config.contains("torch_dtype");
    config[v5 ? "dtype" : "torch_dtype"] = name;
  }
  io::writeFileAtomic((fs::path(folder) / "config.json").string(), config.dump(2) + "\n");
}

}  // namespace fw::models
