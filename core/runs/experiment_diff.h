#pragma once
// The fields in which two experiments differ, for the GUI's run comparison.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace fw::runs {

struct FieldDiff {
  std::string path;                 // "optimizer.lr", "methods[1].n_frequency"; "" for the root
  std::optional<nlohmann::json> a;  // nullopt: the field is absent on that side
  std::optional<nlohmann::json> b;
};

// Objects are compared key by key (in key order), arrays of equal length element by element
// ("methods[0].alpha"), and anything else whole: arrays of different lengths give one entry
// for the whole array. Numbers compare by value (1 equals 1.0). A key that is not a plain name
// ([A-Za-z0-9_-]) is quoted: a["x.y"].
std::vector<FieldDiff> experimentDiff(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace fw::runs
