#include "data/label_set.h"

#include "data/text_fields.h"

#include <algorithm>

namespace fw::data {

LabelSet::LabelSet(std::vector<std::string> names) : names_(std::move(names)) {}

std::optional<int64_t> LabelSet::find(std::string_view field) const {
  field = trim(field);
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == field) return static_cast<int64_t>(i);
  const auto index = parseIntegral(field);
  if (index && *index >= 0 && *index < size()) return index;
  return std::nullopt;
}

std::string LabelSet::describe() const {
  const int64_t n = size();
  std::string out = n == 0 ? std::string("no labels")
                  : n == 1 ? std::string("0")
                  : n == 2 ? std::string("0 or 1")
                           : "0 to " + std::to_string(n - 1);
  // Names that are just the indices add nothing.
  bool plainIndices = true;
  for (int64_t i = 0; i < n; ++i) plainIndices = plainIndices && names_[static_cast<size_t>(i)] == std::to_string(i);
  if (n > 0 && !plainIndices) {
    constexpr size_t kShown = 10;
    std::vector<std::string> shown(names_.begin(), names_.begin() + static_cast<long>(std::min(kShown, names_.size())));
    if (names_.size() > kShown) shown.push_back("...");
    out += ", or a name: " + joinNames(shown);
  }
  return out;
}

}  // namespace fw::data
