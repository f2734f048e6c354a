#pragma once
// A module tree built from dotted names, with an AdaptedLinear at each leaf: a stand-in for a
// transformers model when only the names and shapes matter (injection, adapter folders).
#include "adapters/adapted_linear.h"

#include <torch/nn/module.h>

#include <string>
#include <vector>

namespace fw::test {

struct LeafSpec {
  std::string name;  // "bert.encoder.layer.0.attention.self.query"
  int64_t out, in;
  bool fanInFanOut = false;
};

inline std::shared_ptr<torch::nn::Module> makeToyModel(const std::vector<LeafSpec>& leaves) {
  auto root = std::make_shared<torch::nn::Module>("Toy");
  for (const auto& leaf : leaves) {
    std::shared_ptr<torch::nn::Module> node = root;
    size_t start = 0;
    for (size_t dot; (dot = leaf.name.find('.', start)) != std::string::npos; start = dot + 1) {
      const auto part = leaf.name.substr(start, dot - start);
      auto children = node->named_children();
      node = children.contains(part) ? children[part] : node->register_module(part, std::make_shared<torch::nn::Module>());
    }
    node->register_module(leaf.name.substr(start),
                          fw::adapters::AdaptedLinear(leaf.in, leaf.out, true, leaf.fanInFanOut));
  }
  return root;
}

// BERT's attention names for `layers` layers of width d, plus a classifier head.
inline std::vector<LeafSpec> bertLikeLeaves(int layers, int64_t d, const std::string& prefix = "bert") {
  std::vector<LeafSpec> out;
  for (int i = 0; i < layers; ++i)
    for (const char* m : {"query", "key", "value"})
      out.push_back({prefix + ".encoder.layer." + std::to_string(i) + ".attention.self." + m, d, d});
  out.push_back({"classifier", 3, d});
  return out;
}

}  // namespace fw::test
