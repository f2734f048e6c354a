#include "models/config_reader.h"

#include "util/error.h"

#include <sstream>

namespace fw::models {

ConfigReader::ConfigReader(const nlohmann::json& config, std::string file) : j_(config), file_(std::move(file)) {
  if (!j_.is_object()) throw Error("model config is not a JSON object").file(file_);
}

bool ConfigReader::has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }

const nlohmann::json& ConfigReader::value(const char* key) const { return j_[key]; }

int64_t ConfigReader::integer(const char* key, std::optional<int64_t> fallback, int64_t min, int64_t max) const {
  int64_t v;
  if (!has(key)) {
    if (!fallback) throw Error("missing field").file(file_).field(key);
    v = *fallback;
  } else {
    const auto& x = value(key);
    if (!x.is_number_integer()) throw Error("must be an integer").file(file_).field(key).got(x.dump());
    // An unsigned value past int64 would wrap to a negative one and be reported as that.
    if (x.is_number_unsigned() && x.get<uint64_t>() > uint64_t(max))
      throw Error("value out of range").file(file_).field(key)
          .expected(std::to_string(min) + " to " + std::to_string(max)).got(x.dump());
    v = x.get<int64_t>();
  }
  if (v < min || v > max)
    throw Error("value out of range").file(file_).field(key)
        .expected(std::to_string(min) + " to " + std::to_string(max)).got(std::to_string(v));
  return v;
}

double ConfigReader::number(const char* key, std::optional<double> fallback, double min, double max) const {
  if (!has(key)) {
    if (!fallback) throw Error("missing field").file(file_).field(key);
    return *fallback;
  }
  const auto& x = value(key);
  if (!x.is_number()) throw Error("must be a number").file(file_).field(key).got(x.dump());
  const double v = x.get<double>();
  if (v < min || v > max) {
    std::ostringstream range;
    range << min << " to " << max;
    throw Error("value out of range").file(file_).field(key).expected(range.str()).got(x.dump());
  }
  return v;
}

std::string ConfigReader::text(const char* key, std::optional<std::string> fallback) const {
  if (!has(key)) {
    if (!fallback) throw Error("missing field").file(file_).field(key);
    return *fallback;
  }
  const auto& x = value(key);
  if (!x.is_string()) throw Error("must be a string").file(file_).field(key).got(x.dump());
  return x.get<std::string>();
}

bool ConfigReader::flag(const char* key, std::optional<bool> fallback) const {
  if (!has(key)) {
    if (!fallback) throw Error("missing field").file(file_).field(key);
    return *fallback;
  }
  const auto& x = value(key);
  if (!x.is_boolean()) throw Error("must be true or false").file(file_).field(key).got(x.dump());
  return x.get<bool>();
}

int64_t ConfigReader::numLabels(int64_t fallback) const {
  if (has("num_labels")) return integer("num_labels", std::nullopt, 1, 1 << 20);
  if (has("id2label") && j_["id2label"].is_object() && !j_["id2label"].empty()) return int64_t(j_["id2label"].size());
  return fallback;
}

}  // namespace fw::models
