#include "train/experiment.h"

#include "util/error.h"
#include "util/files.h"
#include "util/json_depth.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <filesystem>
#include <iomanip>
#include <sstream>
#include <vector>
#include <set>

namespace fw::train {

using nlohmann::json;

namespace {

// A number as it appears in an error message: 0, -5, 0.3, 1e-05 (std::to_string gave 0.000000).
std::string number(double v) {
  std::ostringstream o;
  o << std::setprecision(10) << v;
  return o.str();
}

// Edits (insert, delete, replace a character) from a to b, for "did you mean".
size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// How many edits still make a typo: one for a name of up to 3 letters ("r", "lr"), else two.
size_t typoLimit(const std::string& name) { return name.size() <= 3 ? 1 : 2; }

// A value as it appears in an error message. Invalid UTF-8 (a --set value is not checked by any
// parser) is replaced: nlohmann's dump() would throw its own type_error instead (found by fuzzing).
std::string shown(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

// Reads one JSON object strictly: typed getters, and finish() fails on any key not read.
class Fields {
public:
  Fields(const json& j, std::string path, const std::string& file) : j_(j), path_(std::move(path)), file_(file) {
    if (!j_.is_object()) throw Error("must be an object").file(file_).field(path_.empty() ? "(top level)" : path_).got(shown(j_));
  }

  template <typename T>
  void get(const char* key, T& out) {
    seen_.insert(key);
    if (!j_.contains(key) || j_[key].is_null()) return;
    const auto& v = j_[key];
    bool ok;
    if constexpr (std::is_same_v<T, bool>) ok = v.is_boolean();
    else if constexpr (std::is_integral_v<T>) ok = fitsInteger<T>(v);
    else if constexpr (std::is_floating_point_v<T>) ok = v.is_number();
    else if constexpr (std::is_same_v<T, std::string>) ok = v.is_string();
    else ok = v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return fitsElement<T>(e); });
    if (!ok) throw Error("wrong type").file(file_).field(name(key)).expected(typeName<T>()).got(shown(v));
    try {
      out = v.get<T>();
    } catch (const json::exception&) {
      throw Error("wrong type").file(file_).field(name(key)).expected(typeName<T>()).got(shown(v));
    }
  }

  const json* object(const char* key) {
    seen_.insert(key);
    if (!j_.contains(key) || j_[key].is_null()) return nullptr;
    return &j_[key];
  }

  void finish() const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (seen_.count(it.key())) continue;
      // The fields read here are the ones this level has: name the nearest (a typo), or all.
      // A known field already in the file is not suggested ({"epochs": 3, "epoch": 3}).
      std::string nearest, all;
      size_t best = typoLimit(it.key()) + 1;
      for (const auto& known : seen_) {
        all += (all.empty() ? "" : ", ") + known;
        if (j_.contains(known)) continue;
        const size_t d = editDistance(it.key().size() > 64 ? it.key().substr(0, 64) : it.key(), known);
        if (d < best) best = d, nearest = known;
      }
      auto err = Error("unknown field").file(file_).field(name(it.key().c_str()));
      if (!nearest.empty()) err.hint("did you mean '" + name(nearest.c_str()) + "'?");
      else err.expected(all.empty() ? "no fields here" : all);
      throw err;
    }
  }

  std::string name(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

  // A required field that is absent; when the object holds a key a typo away ("modle"), the
  // hint names it (that key's own "unknown field" would come only after this error).
  Error missing(const char* key, const std::string& what = "missing field") const {
    auto err = Error(what).file(file_).field(name(key));
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!seen_.count(it.key()) && it.key().size() <= 64 && editDistance(it.key(), key) <= typoLimit(key))
        return err.hint("the file has '" + name(it.key().c_str()) + "': misspelt?");
    return err;
  }

private:
  // An integer JSON value that T holds. A float is refused (converting 7.9e19 to int64 is
  // undefined behaviour: found by fuzzing), and so is an unsigned value past T's range.
  template <typename T>
  static bool fitsInteger(const json& v) {
    if (!v.is_number_integer()) return false;
    if (v.is_number_unsigned()) return v.get<uint64_t>() <= uint64_t(std::numeric_limits<T>::max());
    const int64_t x = v.get<int64_t>();
    return x >= int64_t(std::numeric_limits<T>::min()) && uint64_t(std::max<int64_t>(x, 0)) <= uint64_t(std::numeric_limits<T>::max());
  }
  // An element of a list field of type T (std::vector<U>).
  template <typename T>
  static bool fitsElement(const json& e) {
    using U = typename T::value_type;
    if constexpr (std::is_same_v<U, bool>) return e.is_boolean();
    else if constexpr (std::is_integral_v<U>) return fitsInteger<U>(e);
    else if constexpr (std::is_floating_point_v<U>) return e.is_number();
    else if constexpr (std::is_same_v<U, std::string>) return e.is_string();
    else return true;
  }
  template <typename T>
  static std::string typeName() {
    if constexpr (std::is_same_v<T, bool>) return "true or false";
    else if constexpr (std::is_integral_v<T>) return "an integer";
    else if constexpr (std::is_floating_point_v<T>) return "a number";
    else if constexpr (std::is_same_v<T, std::string>) return "a string";
    else {
      using U = typename T::value_type;
      if constexpr (std::is_same_v<U, bool>) return "a list of true or false";
      else if constexpr (std::is_integral_v<U>) return "a list of integers";
      else if constexpr (std::is_floating_point_v<U>) return "a list of numbers";
      else if constexpr (std::is_same_v<U, std::string>) return "a list of strings";
      else return "a list";
    }
  }
  const json& j_;
  std::string path_;
  const std::string& file_;
  std::set<std::string> seen_;
};

void oneOf(const std::string& value, std::initializer_list<const char*> allowed, const std::string& file, const std::string& field) {
  std::string list;
  for (const char* a : allowed) {
    if (value == a) return;
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  throw Error("unknown value '" + value + "'").file(file).field(field).expected(list);
}

void positive(double v, const std::string& file, const std::string& field, bool allowZero = false) {
  if (v < 0 || (!allowZero && v == 0))
    throw Error(allowZero ? "must not be negative" : "must be positive").file(file).field(field).got(number(v));
}

DatasetSpec readDataset(const json& j, const std::string& path, const std::string& file) {
  DatasetSpec d;
  Fields f(j, path, file);
  f.get("kind", d.kind);
  f.get("task", d.task);
  f.get("train", d.train);
  f.get("eval", d.eval);
  f.get("text", d.text);
  f.get("text_pair", d.text_pair);
  f.get("label", d.label);
  f.get("labels", d.labels);
  f.get("regression", d.regression);
  f.get("max_length", d.max_length);
  f.get("bad_rows", d.bad_rows);
  f.get("classes", d.classes);
  f.get("train_limit", d.train_limit);
  f.get("eval_limit", d.eval_limit);
  f.get("image_size", d.image_size);
  f.get("channels", d.channels);
  f.get("mean", d.mean);
  f.get("std", d.std);
  f.get("prompt_template", d.prompt_template);
  f.finish();
  oneOf(d.kind, {"glue", "table", "instructions", "idx_images", "image_folder"}, file, f.name("kind"));
  oneOf(d.bad_rows, {"fail", "skip"}, file, f.name("bad_rows"));
  if (d.train.empty()) throw f.missing("train");
  if (d.kind == "glue" && d.task.empty()) throw f.missing("task", "missing field (the GLUE task)");
  if (d.kind == "table" && (d.text.empty() || d.label.empty()))
    throw Error("a table dataset needs the text and label columns").file(file).field(f.name(d.text.empty() ? "text" : "label"));
  positive(double(d.max_length), file, f.name("max_length"));
  positive(d.std, file, f.name("std"));
  return d;
}

json datasetJson(const DatasetSpec& d) {
  return {{"kind", d.kind}, {"task", d.task}, {"train", d.train}, {"eval", d.eval}, {"text", d.text},
          {"text_pair", d.text_pair}, {"label", d.label}, {"labels", d.labels}, {"regression", d.regression},
          {"max_length", d.max_length}, {"bad_rows", d.bad_rows}, {"classes", d.classes},
          {"train_limit", d.train_limit}, {"eval_limit", d.eval_limit}, {"image_size", d.image_size},
          {"channels", d.channels}, {"mean", d.mean}, {"std", d.std}, {"prompt_template", d.prompt_template}};
}

MethodSpec readMethod(const json& j, const std::string& path, const std::string& file) {
  MethodSpec m;
  Fields f(j, path, file);
  f.get("type", m.type);
  f.get("name", m.name);
  f.get("lr", m.lr);
  f.get("target_modules", m.target_modules);
  f.get("n_frequency", m.n_frequency);
  f.get("scaling", m.scaling);
  f.get("random_loc_seed", m.random_loc_seed);
  f.get("init_weights", m.init_weights);
  f.get("path", m.path);
  f.get("r", m.r);
  f.get("alpha", m.alpha);
  f.get("dropout", m.dropout);
  f.get("rslora", m.rslora);
  f.finish();
  oneOf(m.type, {"fourierft", "lora", "full", "head-only"}, file, f.name("type"));
  if (m.name.empty()) m.name = m.type;
  oneOf(m.path, {"auto", "dense", "merged", "spectral"}, file, f.name("path"));
  const bool adapter = m.type == "fourierft" || m.type == "lora";
  if (adapter && m.target_modules.empty()) throw f.missing("target_modules", "missing field (modules to adapt)");
  if (m.type != "head-only") positive(m.lr, file, f.name("lr"));
  positive(double(m.n_frequency), file, f.name("n_frequency"));
  positive(double(m.r), file, f.name("r"));
  if (m.dropout < 0 || m.dropout >= 1) throw Error("must be in [0, 1)").file(file).field(f.name("dropout")).got(number(m.dropout));
  return m;
}

json methodJson(const MethodSpec& m) {
  json j = {{"name", m.name}, {"type", m.type}, {"lr", m.lr}};
  if (m.type == "fourierft" || m.type == "lora") j["target_modules"] = m.target_modules;
  if (m.type == "fourierft") {
    j["n_frequency"] = m.n_frequency;
    j["scaling"] = m.scaling;
    j["random_loc_seed"] = m.random_loc_seed;
    j["init_weights"] = m.init_weights;
    j["path"] = m.path;
  }
  if (m.type == "lora") {
    j["r"] = m.r;
    j["alpha"] = m.alpha;
    j["dropout"] = m.dropout;
    j["rslora"] = m.rslora;
  }
  return j;
}

}  // namespace

Experiment Experiment::fromJson(const json& j, const std::string& file) {
  Experiment e;
  Fields f(j, "", file);
  f.get("schema_version", e.schema_version);
  if (e.schema_version != kExperimentSchemaVersion)
    throw Error("unsupported experiment schema version").file(file).field("schema_version")
        .expected(std::to_string(kExperimentSchemaVersion)).got(std::to_string(e.schema_version));
  f.get("name", e.name);
  if (const json* m = f.object("model")) {
    Fields mf(*m, "model", file);
    mf.get("preset", e.model.preset);
    mf.get("checkpoint", e.model.checkpoint);
    mf.get("tokenizer", e.model.tokenizer);
    mf.get("dtype", e.model.dtype);
    mf.get("fresh_head", e.model.fresh_head);
    if (const json* c = mf.object("config")) {
      if (!c->is_object()) throw Error("must be an object").file(file).field("model.config");
      e.model.config = *c;
    }
    if (const json* p = mf.object("pretrain")) {
      Fields pf(*p, "model.pretrain", file);
      auto& pt = e.model.pretrain;
      pt.enabled = true;
      if (const json* d = pf.object("dataset")) pt.dataset = readDataset(*d, "model.pretrain.dataset", file);
      else throw pf.missing("dataset");
      pf.get("epochs", pt.epochs);
      pf.get("batch_size", pt.batch_size);
      pf.get("lr", pt.lr);
      pf.get("weight_decay", pt.weight_decay);
      pf.get("warmup_ratio", pt.warmup_ratio);
      pf.get("cache", pt.cache);
      pf.finish();
      if (pt.cache.empty()) throw pf.missing("cache", "missing field (folder for the trained base model)");
      positive(double(pt.epochs), file, pf.name("epochs"));
      positive(double(pt.batch_size), file, pf.name("batch_size"));
      positive(pt.lr, file, pf.name("lr"));
      positive(pt.weight_decay, file, pf.name("weight_decay"), true);
      if (!(pt.warmup_ratio >= 0 && pt.warmup_ratio < 1))
        throw Error("must be in [0, 1)").file(file).field(pf.name("warmup_ratio")).got(number(pt.warmup_ratio));
    }
    mf.finish();
    if (e.model.pretrain.enabled && (e.model.preset.empty() || !e.model.checkpoint.empty()))
      throw Error("a pretrained base is built from a preset").file(file).field("model.preset")
          .hint("give model.preset (the shape to train) and no model.checkpoint");
    if (e.model.preset.empty() == e.model.checkpoint.empty())
      throw Error("give exactly one of model.preset and model.checkpoint").file(file).field("model");
    oneOf(e.model.dtype, {"fp32", "bf16", "fp16"}, file, "model.dtype");
  } else {
    throw f.missing("model");
  }
  if (const json* d = f.object("dataset")) e.dataset = readDataset(*d, "dataset", file);
  else throw f.missing("dataset");
  if (const json* ms = f.object("methods")) {
    if (!ms->is_array() || ms->empty()) throw Error("must be a non-empty list").file(file).field("methods");
    std::set<std::string> names;
    for (size_t i = 0; i < ms->size(); ++i) {
      e.methods.push_back(readMethod((*ms)[i], "methods." + std::to_string(i), file));
      if (!names.insert(e.methods.back().name).second)
        throw Error("two methods share the name '" + e.methods.back().name + "'").file(file)
            .field("methods." + std::to_string(i) + ".name").hint("give each method its own name");
    }
  } else {
    throw f.missing("methods");
  }
  f.get("trainable_modules", e.trainable_modules);
  f.get("head_lr", e.head_lr);
  f.get("weight_decay", e.weight_decay);
  f.get("adam_beta1", e.adam_beta1);
  f.get("adam_beta2", e.adam_beta2);
  f.get("adam_eps", e.adam_eps);
  f.get("warmup_ratio", e.warmup_ratio);
  f.get("grad_clip", e.grad_clip);
  f.get("batch_size", e.batch_size);
  f.get("eval_batch_size", e.eval_batch_size);
  f.get("epochs", e.epochs);
  f.get("max_steps", e.max_steps);
  f.get("eval_every", e.eval_every);
  f.get("checkpoint_every", e.checkpoint_every);
  f.get("keep_checkpoints", e.keep_checkpoints);
  f.get("log_every", e.log_every);
  f.get("seed", e.seed);
  f.get("device", e.device);
  f.get("precision", e.precision);
  f.get("analysis_layers", e.analysis_layers);
  f.get("analysis_budget", e.analysis_budget);
  f.finish();
  if (e.analysis_budget < 0 || e.analysis_budget > 0.5)
    throw Error("must be between 0 and 0.5").file(file).field("analysis_budget").got(number(e.analysis_budget));
  positive(double(e.batch_size), file, "batch_size");
  positive(double(e.eval_batch_size), file, "eval_batch_size");
  positive(double(e.epochs), file, "epochs");
  positive(double(e.max_steps), file, "max_steps", true);
  positive(e.head_lr, file, "head_lr", true);
  positive(e.grad_clip, file, "grad_clip", true);
  positive(double(e.keep_checkpoints), file, "keep_checkpoints");
  positive(double(e.log_every), file, "log_every");
  positive(double(e.eval_every), file, "eval_every", true);
  positive(double(e.checkpoint_every), file, "checkpoint_every", true);
  positive(e.weight_decay, file, "weight_decay", true);
  positive(e.adam_eps, file, "adam_eps");
  for (const auto& [name, beta] : {std::pair{"adam_beta1", e.adam_beta1}, std::pair{"adam_beta2", e.adam_beta2}})
    if (!(beta >= 0 && beta < 1)) throw Error("must be in [0, 1)").file(file).field(name).got(number(beta));
  if (e.warmup_ratio < 0 || e.warmup_ratio >= 1) throw Error("must be in [0, 1)").file(file).field("warmup_ratio");
  oneOf(e.precision, {"fp32", "bf16"}, file, "precision");
  if (e.device != "auto" && e.device != "cpu" && e.device.rfind("cuda", 0) != 0)
    throw Error("unknown device '" + e.device + "'").file(file).field("device").expected("auto, cpu, cuda or cuda:N");
  return e;
}

json Experiment::toJson() const {
  json m = {{"preset", model.preset}, {"checkpoint", model.checkpoint}, {"config", model.config},
            {"tokenizer", model.tokenizer}, {"dtype", model.dtype}, {"fresh_head", model.fresh_head}};
  if (model.pretrain.enabled) {
    const auto& p = model.pretrain;
    m["pretrain"] = {{"dataset", datasetJson(p.dataset)}, {"epochs", p.epochs}, {"batch_size", p.batch_size},
                         {"lr", p.lr}, {"weight_decay", p.weight_decay}, {"warmup_ratio", p.warmup_ratio},
                         {"cache", p.cache}};
  }
  json methodsJson = json::array();
  for (const auto& m : methods) methodsJson.push_back(methodJson(m));
  return {{"schema_version", schema_version}, {"name", name}, {"model", m}, {"dataset", datasetJson(dataset)},
          {"methods", methodsJson}, {"trainable_modules", trainable_modules}, {"head_lr", head_lr},
          {"weight_decay", weight_decay}, {"adam_beta1", adam_beta1}, {"adam_beta2", adam_beta2}, {"adam_eps", adam_eps},
          {"warmup_ratio", warmup_ratio}, {"grad_clip", grad_clip}, {"batch_size", batch_size},
          {"eval_batch_size", eval_batch_size}, {"epochs", epochs}, {"max_steps", max_steps},
          {"eval_every", eval_every}, {"checkpoint_every", checkpoint_every}, {"keep_checkpoints", keep_checkpoints},
          {"log_every", log_every}, {"seed", seed}, {"device", device}, {"precision", precision},
          {"analysis_layers", analysis_layers}, {"analysis_budget", analysis_budget}};
}

std::string resolvePath(const std::string& path, const std::string& baseDir) {
  if (path.empty()) return path;
  std::filesystem::path p = path;
  if (path == "~" || path.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    p = std::filesystem::path(home && *home ? home : "/") / path.substr(path.size() > 1 ? 2 : 1);
  } else if (p.is_relative()) {
    p = std::filesystem::path(baseDir.empty() ? "." : baseDir) / p;
  }
  return std::filesystem::absolute(p).lexically_normal().string();
}

void Experiment::resolvePaths(const std::string& baseDir) {
  auto fix = [&](std::string& p) { p = resolvePath(p, baseDir); };
  auto fixData = [&](DatasetSpec& d) {
    fix(d.train);
    fix(d.eval);
  };
  fix(model.checkpoint);
  fix(model.tokenizer);
  if (model.pretrain.enabled) {
    fix(model.pretrain.cache);
    fixData(model.pretrain.dataset);
  }
  fixData(dataset);
}

json applyOverrides(json resolved, const std::vector<std::string>& overrides, const std::string& file) {
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error("override must be key=value").field("--set").got(o).hint("e.g. --set methods.0.lr=0.1");
    const std::string key = o.substr(0, eq), text = o.substr(eq + 1);
    json value;
    try {
      value = json::parse(text);
    } catch (const json::exception&) {
      value = text;  // a bare word is a string
    }
    if (jsonDeeperThan(value)) throw Error(jsonTooDeepReason()).field("--set " + key);
    try {
      (void)value.dump();
    } catch (const json::exception&) {
      throw Error("the value is not valid UTF-8").field("--set " + key).got(shown(value));
    }
    json* node = &resolved;
    size_t start = 0;
    while (true) {
      const auto dot = key.find('.', start);
      const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      const bool last = dot == std::string::npos;
      if (node->is_array()) {
        size_t index = 0;
        const bool digits = !part.empty() && part.size() < 10 &&
                            std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!digits) throw Error("not a list index").field("--set " + key).got(part);
        index = std::stoul(part);
        if (index > node->size())
          throw Error("list index out of range").field("--set " + key).expected("at most " + std::to_string(node->size()));
        if (index == node->size()) node->push_back(json::object());
        node = &(*node)[index];
      } else if (node->is_object()) {
        if (!node->contains(part))
          throw Error("unknown field").file(file).field(key).hint("--set can only change fields the experiment has");
        node = &(*node)[part];
      } else {
        throw Error("cannot set a field inside a value").field("--set " + key);
      }
      if (last) break;
      start = dot + 1;
    }
    *node = value;
  }
  return resolved;
}

Experiment loadExperiment(const std::string& path, const std::vector<std::string>& overrides) {
  auto e = Experiment::fromJson(readJsonFile(path), path);
  // Overrides apply to the resolved form (every field present), then the result is checked again.
  if (!overrides.empty()) e = Experiment::fromJson(applyOverrides(e.toJson(), overrides, path), path);
  e.resolvePaths(std::filesystem::path(path).parent_path().string());
  return e;
}

}  // namespace fw::train
