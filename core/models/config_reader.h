#pragma once
// Reads config.json fields with transformers' defaults; a missing required field, a wrong type
// or an absurd value is an fw::Error naming the file and the field, raised before anything is
// allocated.
#include <nlohmann/json.hpp>

#include <limits>
#include <optional>
#include <string>

namespace fw::models {

class ConfigReader {
public:
  ConfigReader(const nlohmann::json& config, std::string file);

  bool has(const char* key) const;
  // Integers must lie in [min, max]; the default applies when the key is absent or null.
  int64_t integer(const char* key, std::optional<int64_t> fallback = std::nullopt, int64_t min = 1,
                  int64_t max = int64_t(1) << 24) const;
  // Numbers must lie in [min, max] (dropout probabilities in [0, 1]: LibTorch's dropout throws
  // on others at the first forward pass, without naming the file).
  double number(const char* key, std::optional<double> fallback = std::nullopt,
                double min = -std::numeric_limits<double>::infinity(),
                double max = std::numeric_limits<double>::infinity()) const;
  std::string text(const char* key, std::optional<std::string> fallback = std::nullopt) const;
  bool flag(const char* key, std::optional<bool> fallback = std::nullopt) const;
  // The number of labels: num_labels, else the size of id2label, else the fallback.
  int64_t numLabels(int64_t fallback) const;
  const nlohmann::json& json() const { return j_; }
  const std::string& file() const { return file_; }

private:
  const nlohmann::json& value(const char* key) const;
  const nlohmann::json& j_;
  std::string file_;
};

}  // namespace fw::models
