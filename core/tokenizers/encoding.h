#pragma once
// The result of tokenizing one text or one pair of texts, as Hugging Face's Encoding holds it.
#include <cstdint>
#include <string>
#include <vector>

namespace fw::tokenizers {

struct Encoding {
  std::vector<int64_t> ids;
  std::vector<int64_t> typeIds;        // 0 for the first text, 1 for the second (model permitting)
  std::vector<int64_t> attentionMask;  // 1 for real tokens, 0 for padding
  std::vector<std::string> tokens;     // the vocabulary strings, e.g. "Ġworld", "##ing"

  size_t size() const { return ids.size(); }
  // Appends one token with the given type id and an attention mask of 1.
  void push(int64_t id, std::string token, int64_t typeId = 0) {
    ids.push_back(id);
    typeIds.push_back(typeId);
    attentionMask.push_back(1);
    tokens.push_back(std::move(token));
  }
  void append(const Encoding& other) {
    ids.insert(ids.end(), other.ids.begin(), other.ids.end());
    typeIds.insert(typeIds.end(), other.typeIds.begin(), other.typeIds.end());
    attentionMask.insert(attentionMask.end(), other.attentionMask.begin(), other.attentionMask.end());
    tokens.insert(tokens.end(), other.tokens.begin(), other.tokens.end());
  }
  void resize(size_t n) {
    ids.resize(n);
    typeIds.resize(n);
    attentionMask.resize(n);
    tokens.resize(n);
  }
};

}  // namespace fw::tokenizers
