#pragma once
// BERT's WordPiece, as Hugging Face `tokenizers` runs it: BertNormalizer (clean text, pad CJK
// ideographs, strip accents by NFD minus Mn, lowercase), BertPreTokenizer (split on whitespace,
// isolate punctuation), then greedy longest-match-first WordPiece with "##" continuations;
// a word longer than max_input_chars_per_word or with no full match becomes [UNK].
#include "tokenizers/tokenizer.h"

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <unordered_map>
#include <vector>

namespace fw::tokenizers {

struct BertNormalizerOptions {
  bool enabled = true;  // false: tokenizer.json has no normalizer
  bool cleanText = true;
  bool handleChineseChars = true;
  bool stripAccents = true;  // tokenizer.json's null means "same as lowercase"
  bool lowercase = true;
};

class WordPieceTokenizer : public Tokenizer {
public:
  // tokenizer.json with model.type WordPiece; `path` names the file in errors.
  static std::unique_ptr<WordPieceTokenizer> fromTokenizerJson(const nlohmann::json& j, const std::string& path);
  // Classic vocab.txt (one token per line, the id is the line number); reads tokenizer_config.json
  // (do_lower_case, strip_accents, tokenize_chinese_chars, special tokens) and
  // special_tokens_map.json from the same folder when present.
  static std::unique_ptr<WordPieceTokenizer> fromVocabTxt(const std::string& vocabPath);

  TokenizerKind kind() const override { return TokenizerKind::WordPiece; }
  size_t vocabSize() const override;
  std::string decode(const std::vector<int64_t>& ids, bool skipSpecialTokens = true) const override;

  const BertNormalizerOptions& normalizerOptions() const { return norm_; }
  // The steps, public for tests: normalized text, then words, then word pieces.
  std::string normalize(std::string_view text) const override;
  std::vector<std::string> preTokenize(std::string_view normalized) const;
  void wordPiece(const std::string& word, Encoding& out) const;

private:
  WordPieceTokenizer() = default;
  void tokenizeNormalized(std::string_view text, Encoding& out) const override;
  std::optional<int64_t> modelTokenToId(const std::string& token) const override;
  std::optional<std::string> modelIdToToken(int64_t id) const override;
  void addVocab(const std::string& token, int64_t id);
  void finish(const std::string& path);

  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<std::string> idToToken_;
  std::string unkToken_ = "[UNK]";
  int64_t unkId_ = -1;
  std::string prefix_ = "##";
  size_t maxCharsPerWord_ = 100;
  bool splitPunctuation_ = true;  // BertPreTokenizer; false for WhitespaceSplit
  BertNormalizerOptions norm_;
};

}  // namespace fw::tokenizers
