#include "train/label_alignment.h"

#include "models/presets.h"
#include "util/files.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

namespace fw::train {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::string alignLabelsToConfig(const std::vector<data::Dataset*>& datasets, const nlohmann::json& config) {
  if (datasets.empty() || !datasets.front()) return "";
  const data::Dataset& first = *datasets.front();
  if (first.kind != data::TaskKind::Classification && first.kind != data::TaskKind::ImageClassification) return "";
  const std::vector<std::string> names = first.labelNames;  // a copy: the loop below renames them
  const int64_t n = first.numLabels;
  if (n < 2 || int64_t(names.size()) != n) return "";
  const auto it = config.find("label2id");
  if (it == config.end() || !it->is_object() || int64_t(it->size()) != n) return "";
  // The checkpoint's classes by lower-case name; ids must be 0..n-1, each once.
  std::map<std::string, int64_t> byName;
  std::vector<std::string> configNames(static_cast<size_t>(n));
  bool defaults = true;
  for (const auto& [name, id] : it->items()) {
    if (!id.is_number_integer()) return "";
    const int64_t i = id.get<int64_t>();
    if (i < 0 || i >= n || !configNames[size_t(i)].empty() || name.empty()) return "";
    configNames[size_t(i)] = name;
    byName[lower(name)] = i;
    defaults = defaults && name == "LABEL_" + std::to_string(i);
  }
  if (defaults || int64_t(byName.size()) != n) return "";
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::map<std::string, int64_t> dataNames;
  for (int64_t i = 0; i < n; ++i) dataNames[lower(names[size_t(i)])] = i;
  bool same = int64_t(dataNames.size()) == n;
  for (int64_t i = 0; same && i < n; ++i) {
    auto found = byName.find(lower(names[size_t(i)]));
    same = found != byName.end();
    if (same) perm[size_t(i)] = found->second;
  }
  if (!same)
    return "note: the checkpoint's head was trained on other classes (" + joined(configNames) + ") than the data's (" +
           joined(names) + "): its rows take the data's names in the data's order";
  bool identity = true;
  for (int64_t i = 0; i < n; ++i) identity = identity && perm[size_t(i)] == i;
  if (identity) return "";
  std::vector<std::string> reordered(static_cast<size_t>(n));
  std::string moves;
  for (int64_t i = 0; i < n; ++i) {
    reordered[size_t(perm[size_t(i)])] = names[size_t(i)];
    if (perm[size_t(i)] != i)
      moves += (moves.empty() ? "" : ", ") + names[size_t(i)] + " " + std::to_string(i) + "→" + std::to_string(perm[size_t(i)]);
  }
  for (data::Dataset* ds : datasets) {
    if (!ds || ds->labelNames != names) continue;  // an eval set takes the training set's classes
    for (auto& ex : ds->examples)
      if (ex.hasLabel && ex.label >= 0 && ex.label < n) ex.label = perm[size_t(ex.label)];
    ds->labelNames = reordered;
  }
  return "labels renumbered to the checkpoint's ids, as run_glue.py does: " + moves;
}

nlohmann::json baseConfigWith(const std::string& base, const nlohmann::json& overrides) {
  nlohmann::json config = nlohmann::json::object();
  const auto file = std::filesystem::path(base) / "config.json";
  std::error_code ec;
  if (!base.empty() && !models::isPreset(base) && std::filesystem::is_regular_file(file, ec)) config = readJsonFile(file.string());
  if (!config.is_object()) config = nlohmann::json::object();
  if (overrides.is_object())
    for (const auto& [k, v] : overrides.items()) config[k] = v;
  return config;
}

}  // namespace fw::train
