#pragma once
// A classification label set: a label field is one of the class names or a class index.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fw::data {

class LabelSet {
public:
  explicit LabelSet(std::vector<std::string> names);

  // The class of a (trimmed) field: an exact name first, then an integer index in range
  // ("1" or "1.0"). Nothing when it is neither.
  std::optional<int64_t> find(std::string_view field) const;
  // What find() accepts, for messages: "0 or 1, or a name: entailment, not_entailment".
  std::string describe() const;

  const std::vector<std::string>& names() const { return names_; }
  int64_t size() const { return static_cast<int64_t>(names_.size()); }

private:
  std::vector<std::string> names_;
};

}  // namespace fw::data
