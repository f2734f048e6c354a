#pragma once
// Byte-level BPE (GPT-2, RoBERTa), as Hugging Face `tokenizers` runs it: added tokens are cut
// out, the rest is split by GPT-2's regex (PCRE2, Unicode mode), each piece's bytes are mapped
// to printable characters (bytes_to_unicode), and BPE merges are applied lowest rank first.
// Results per piece are cached; encode() may be called from several threads at once.
#include "tokenizers/tokenizer.h"

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace fw::tokenizers {

class ByteBpeTokenizer : public Tokenizer {
public:
  // tokenizer.json with model.type BPE and a ByteLevel pre-tokenizer; merges may be stored as
  // "a b" strings or as ["a", "b"] pairs.
  static std::unique_ptr<ByteBpeTokenizer> fromTokenizerJson(const nlohmann::json& j, const std::string& path);
  // Classic vocab.json + merges.txt; tokenizer_config.json / special_tokens_map.json beside them
  // give the special tokens, and a RoBERTa-style vocabulary (<s>, </s>, no <|endoftext|>, or
  // tokenizer_class Roberta...) gets <s> A </s></s> B </s>.
  static std::unique_ptr<ByteBpeTokenizer> fromVocabMerges(const std::string& vocabPath, const std::string& mergesPath);
  ~ByteBpeTokenizer() override;

  TokenizerKind kind() const override { return TokenizerKind::ByteLevelBpe; }
  size_t vocabSize() const override;
  std::string decode(const std::vector<int64_t>& ids, bool skipSpecialTokens = true) const override;

  bool addPrefixSpace() const { return addPrefixSpace_; }
  // The pre-tokenizer's pieces of `text` (public for tests).
  std::vector<std::string> preTokenize(std::string_view text) const;

private:
  struct Regex;
  struct Merge {
    int32_t rank;
    int32_t newId;
  };

  ByteBpeTokenizer();
  void tokenizeNormalized(std::string_view text, Encoding& out) const override;
  std::optional<int64_t> modelTokenToId(const std::string& token) const override;
  std::optional<std::string> modelIdToToken(int64_t id) const override;
  void addVocab(const std::string& token, int64_t id);
  // Adds one merge; `where` and `line` locate it in errors.
  void addMerge(const std::string& left, const std::string& right, const std::string& where, int64_t line,
                const std::string& field);
  void finish(const std::string& path);
  // BPE of one pre-token's bytes into vocabulary ids.
  void bpe(std::string_view piece, std::vector<int32_t>& ids) const;

  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<std::string> idToToken_;
  std::unordered_map<uint64_t, Merge> merges_;  // (left id << 32 | right id) -> rank, merged id
  int32_t nextRank_ = 0;
  std::array<int32_t, 256> byteId_{};            // id of each byte's one-character token, -1 if none
  std::array<std::string, 256> byteChar_;        // each byte's character, as UTF-8
  std::unordered_map<char32_t, unsigned char> charByte_;
  std::optional<int64_t> unkId_;
  std::string unkToken_;
  bool addPrefixSpace_ = false;
  bool useRegex_ = true;
  bool ignoreMerges_ = false;
  std::unique_ptr<Regex> regex_;

  mutable std::mutex cacheMutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace fw::tokenizers
