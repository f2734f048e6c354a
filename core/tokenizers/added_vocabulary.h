#pragma once
// Added and special tokens ("[CLS]", "<|endoftext|>", ...) that are cut out of the text before
// the model sees it, as Hugging Face's AddedVocabulary does: leftmost-longest match, with the
// single_word, lstrip and rstrip options. Tokens marked `normalized` are matched on the
// normalized text, the others on the raw text.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fw::tokenizers {

struct AddedToken {
  std::string content;
  int64_t id = -1;
  bool singleWord = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = true;
};

class AddedVocabulary {
public:
  struct Segment {
    std::string_view text;
    const AddedToken* token = nullptr;  // null: plain text for the model
  };

  // A token whose content is already present replaces the earlier entry.
  void add(const AddedToken& token);
  // Computes the normalized form of the `normalized` tokens; call after the last add().
  void finalize(const std::function<std::string(std::string_view)>& normalize);

  bool empty() const { return tokens_.empty(); }
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  const AddedToken* byContent(const std::string& content) const;
  const AddedToken* byId(int64_t id) const;

  // Splits `text` into plain segments and added tokens. normalizedPass=false matches the raw-text
  // tokens; true matches the normalized ones (on text that has been normalized).
  std::vector<Segment> split(std::string_view text, bool normalizedPass) const;

private:
  struct Pattern {
    std::string text;
    size_t index;  // into tokens_
  };
  std::vector<AddedToken> tokens_;
  std::unordered_map<std::string, size_t> byContent_;
  std::unordered_map<int64_t, size_t> byId_;
  // Per pass, per first byte: the patterns longest first, so the first hit is the longest.
  std::vector<Pattern> byFirstByte_[2][256];
};

}  // namespace fw::tokenizers
