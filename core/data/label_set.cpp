#include "data/label_set.h"

#include "data/text_fields.h"
#include "util/error.h"

#include <algorithm>
#include <unordered_map>

namespace fw::data {

LabelSet::LabelSet(std::vector<std::string> names) : names_(std::move(names)) {
  for (size_t i = 0; i < names_.size() && plainIndices_; ++i) plainIndices_ = names_[i] == std::to_string(i);
  // Plain indices need no map: a field equal to a name is that index, which find() parses.
  if (plainIndices_) return;
  index_.reserve(names_.size());
  for (size_t i = 0; i < names_.size(); ++i) {
    index_.emplace(names_[i], static_cast<int64_t>(i));  // keeps the first of equal names
    if (const auto value = parseIntegral(names_[i])) byValue_.emplace(*value, static_cast<int64_t>(i));
  }
}

std::optional<int64_t> LabelSet::find(std::string_view field) const {
  field = trim(field);
  if (const auto it = index_.find(std::string(field)); it != index_.end()) return it->second;
  const auto index = parseIntegral(field);
  if (!index) return std::nullopt;
  // With names such as "1" to "5", position 1 is "2": an integer is matched by its value only.
  if (!byValue_.empty()) {
    const auto it = byValue_.find(*index);
    return it == byValue_.end() ? std::nullopt : std::optional<int64_t>(it->second);
  }
  if (*index >= 0 && *index < size()) return index;
  return std::nullopt;
}

std::string LabelSet::describe() const {
  constexpr size_t kShown = 10;
  std::vector<std::string> shown(names_.begin(), names_.begin() + static_cast<long>(std::min(kShown, names_.size())));
  if (names_.size() > kShown) shown.push_back("...");
  if (!byValue_.empty()) return "one of " + joinNames(shown);
  const int64_t n = size();
  std::string out = n == 0 ? std::string("no labels")
                  : n == 1 ? std::string("0")
                  : n == 2 ? std::string("0 or 1")
                           : "0 to " + std::to_string(n - 1);
  // Names that are just the indices add nothing.
  if (n > 0 && !plainIndices_) out += ", or a name: " + joinNames(shown);
  return out;
}

namespace {

std::string someNames(const std::vector<std::string>& names) {
  constexpr size_t kShown = 20;
  if (names.empty()) return "none";
  std::vector<std::string> shown(names.begin(), names.begin() + static_cast<long>(std::min(kShown, names.size())));
  if (names.size() > kShown) shown.push_back("... (" + std::to_string(names.size()) + " in all)");
  return joinNames(shown);
}

}  // namespace

void adoptTrainingLabels(Dataset& eval, const Dataset& train, const std::string& noun, const std::string& hint) {
  const auto classified = [](TaskKind k) { return k == TaskKind::Classification || k == TaskKind::ImageClassification; };
  if (!classified(eval.kind) || !classified(train.kind)) return;
  auto unknown = [&](const std::string& label) {
    return Error("evaluation " + noun + " not in the training set").file(eval.source)
        .expected("one of " + someNames(train.labelNames) + " (from " + train.source + ")")
        .got("'" + label + "'").hint(hint);
  };
  if (eval.labelNames.empty() || train.labelNames.empty()) {
    for (const Example& ex : eval.examples)
      if (ex.hasLabel && (ex.label < 0 || ex.label >= train.numLabels))
        throw unknown(ex.label < static_cast<int64_t>(eval.labelNames.size()) && ex.label >= 0
                          ? eval.labelNames[static_cast<size_t>(ex.label)] : std::to_string(ex.label));
    eval.labelNames = train.labelNames;
    eval.numLabels = train.numLabels;
    return;
  }
  std::unordered_map<std::string, int64_t> trainIndex;
  for (size_t i = 0; i < train.labelNames.size(); ++i) trainIndex.emplace(train.labelNames[i], static_cast<int64_t>(i));
  // eval index -> train index, resolved on first use: only labels that examples carry must exist.
  std::vector<int64_t> remap(eval.labelNames.size(), -2);
  for (Example& ex : eval.examples) {
    if (!ex.hasLabel) continue;
    if (ex.label < 0 || ex.label >= static_cast<int64_t>(remap.size())) throw unknown(std::to_string(ex.label));
    int64_t& to = remap[static_cast<size_t>(ex.label)];
    if (to == -2) {
      const std::string& name = eval.labelNames[static_cast<size_t>(ex.label)];
      const auto it = trainIndex.find(name);
      if (it == trainIndex.end()) throw unknown(name);
      to = it->second;
    }
    ex.label = to;
  }
  eval.labelNames = train.labelNames;
  eval.numLabels = train.numLabels;
}

}  // namespace fw::data
