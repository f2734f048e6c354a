#include "runs/experiment_diff.h"

#include <set>

namespace fw::runs {

using nlohmann::json;

namespace {

std::string childPath(const std::string& parent, const std::string& key) {
  bool plain = !key.empty();
  for (char c : key)
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-');
  if (!plain) return parent + "[" + json(key).dump() + "]";
  return parent.empty() ? key : parent + "." + key;
}

void diff(const std::string& path, const json& a, const json& b, std::vector<FieldDiff>& out) {
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (auto it = a.begin(); it != a.end(); ++it) keys.insert(it.key());
    for (auto it = b.begin(); it != b.end(); ++it) keys.insert(it.key());
    for (const auto& key : keys) {
      const std::string child = childPath(path, key);
      auto ia = a.find(key), ib = b.find(key);
      if (ia == a.end()) out.push_back({child, std::nullopt, *ib});
      else if (ib == b.end()) out.push_back({child, *ia, std::nullopt});
      else diff(child, *ia, *ib, out);
    }
  } else if (a.is_array() && b.is_array() && a.size() == b.size()) {
    for (size_t i = 0; i < a.size(); ++i)
      diff(path + "[" + std::to_string(i) + "]", a[i], b[i], out);
  } else if (a != b) {
    out.push_back({path, a, b});
  }
}

}  // namespace

std::vector<FieldDiff> experimentDiff(const json& a, const json& b) {
  std::vector<FieldDiff> out;
  diff("", a, b, out);
  return out;
}

}  // namespace fw::runs
