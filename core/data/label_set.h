#pragma once
// A classification label set: a label field is one of the class names or a class index.
#include "data/example.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fw::data {

class LabelSet {
public:
  explicit LabelSet(std::vector<std::string> names);

  // The class of a (trimmed) field: an exact name first; then, for an integer ("1" or "1.0"),
  // the name that is that number when the names are numbers (1 to 5 stars: "1.0" is "1"), else
  // the index in range. Nothing when it is neither.
  std::optional<int64_t> find(std::string_view field) const;
  // What find() accepts, for messages: "0 or 1, or a name: entailment, not_entailment", or
  // "one of 1, 2, 3" for numbers as names.
  std::string describe() const;

  const std::vector<std::string>& names() const { return names_; }
  int64_t size() const { return static_cast<int64_t>(names_.size()); }

private:
  std::vector<std::string> names_;
  // Whether the names are just "0", "1", ..., and otherwise name -> first index with that name:
  // both computed once, so that find() and describe() cost nothing per row. An inferred integer
  // set can hold a million names, and a table as many rows.
  std::unordered_map<std::string, int64_t> index_;
  // Names that are integers ("1", "1.0", "01"), by value; when there are any, an integer field is
  // a name, not a position.
  std::unordered_map<int64_t, int64_t> byValue_;
  bool plainIndices_ = true;
};

// Gives an evaluation set the training set's class numbering, as Hugging Face fixes label2id
// from the training data: each labelled example is re-mapped by its class name (eval.labelNames)
// to the index of that name in train.labelNames, and eval takes train's labelNames and numLabels.
// When either set has no names, indices are kept and checked against train.numLabels.
// Only classification and image classification sets are touched. A label the training set does
// not have throws fw::Error naming eval.source, the label (`noun`: "label", "class folder"),
// the training labels, and `hint`.
void adoptTrainingLabels(Dataset& eval, const Dataset& train, const std::string& noun = "label",
                         const std::string& hint = "add it to the dataset's labels, or fix the file");

}  // namespace fw::data
