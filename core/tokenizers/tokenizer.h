#pragma once
// The common tokenizer interface and the folder loader. Each kind reproduces Hugging Face
// `tokenizers` exactly (ids, tokens, type ids), so a model fine-tuned here sees the same inputs
// as in Python:
//   WordPiece (BERT)              wordpiece.h
//   byte-level BPE (GPT-2, RoBERTa) byte_bpe.h
//   SentencePiece (LLaMA)         sentencepiece_tokenizer.h
// Text is UTF-8; invalid bytes are replaced with U+FFFD first (as Python's errors="replace").
#include "tokenizers/added_vocabulary.h"
#include "tokenizers/encoding.h"
#include "tokenizers/post_processor.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fw::tokenizers {

enum class TokenizerKind { WordPiece, ByteLevelBpe, SentencePiece };
const char* kindName(TokenizerKind kind);  // "wordpiece", "byte_bpe", "sentencepiece"

struct EncodeOptions {
  bool addSpecialTokens = true;
  // 0: no truncation. Otherwise the result has at most maxLength tokens, special tokens
  // included; a pair loses tokens longest-first, as Hugging Face's LongestFirst strategy.
  size_t maxLength = 0;
  // 0: no padding. Otherwise shorter results are padded on the right with padId() up to padTo.
  size_t padTo = 0;
};

class Tokenizer {
public:
  virtual ~Tokenizer() = default;

  // One text ([CLS] A [SEP]) or a pair ([CLS] A [SEP] B [SEP]), with the model's special tokens.
  Encoding encode(const std::string& text, const std::string* pair = nullptr) const;
  Encoding encode(const std::string& text, const std::string* pair, const EncodeOptions& options) const;
  // Back to text; special tokens are dropped unless skipSpecialTokens is false.
  virtual std::string decode(const std::vector<int64_t>& ids, bool skipSpecialTokens = true) const = 0;

  virtual TokenizerKind kind() const = 0;
  // Rows an embedding needs: one past the largest id, added tokens included.
  virtual size_t vocabSize() const = 0;
  std::optional<int64_t> tokenToId(const std::string& token) const;
  std::optional<std::string> idToToken(int64_t id) const;

  // The padding id and token: the tokenizer's own pad token, else its end-of-text token
  // (GPT-2 and LLaMA have no pad token; the attention mask hides it either way).
  int64_t padId() const { return padId_; }
  const std::string& padToken() const { return padToken_; }
  // Start and end-of-text ids where the model has them (<s> </s>, <|endoftext|>; BERT: [CLS] [SEP]).
  std::optional<int64_t> bosId() const { return bosId_; }
  std::optional<int64_t> eosId() const { return eosId_; }
  // Special tokens encode() adds to one text (pair=false) or to a pair.
  size_t numSpecialTokens(bool pair) const { return post_.addedTokens(pair); }
  // Pads on the right to `length` (no-op when already as long).
  void pad(Encoding& encoding, size_t length) const;

  const AddedVocabulary& addedTokens() const { return added_; }
  const std::string& source() const { return source_; }  // the file it was read from

protected:
  // The model's tokens for one text, without special tokens: added tokens are cut out first,
  // the rest is normalized and handed to tokenizeNormalized(). `text` is valid UTF-8.
  virtual void encodeText(std::string_view text, Encoding& out) const;
  virtual std::string normalize(std::string_view text) const { return std::string(text); }
  virtual void tokenizeNormalized(std::string_view text, Encoding& out) const = 0;
  virtual std::optional<int64_t> modelTokenToId(const std::string& token) const = 0;
  virtual std::optional<std::string> modelIdToToken(int64_t id) const = 0;

  // Picks the pad, bos and eos ids from the named candidates that exist, in order.
  void choosePadToken(const std::vector<std::string>& candidates);
  size_t addedVocabEnd() const;  // one past the largest added-token id

  AddedVocabulary added_;
  PostProcessor post_;
  int64_t padId_ = 0;
  std::string padToken_;
  std::optional<int64_t> bosId_, eosId_;
  std::string source_;
};

// Reads the tokenizer in a Hugging Face model folder. It looks, in this order, for
// tokenizer.json, vocab.txt (WordPiece), vocab.json + merges.txt (byte-level BPE) and
// tokenizer.model (SentencePiece); a tokenizer.json that describes a SentencePiece model
// defers to tokenizer.model. Throws fw::Error naming the folder when none is there.
std::unique_ptr<Tokenizer> loadTokenizer(const std::string& dir);
// Reads one tokenizer.json (WordPiece or byte-level BPE).
std::unique_ptr<Tokenizer> loadTokenizerJson(const std::string& path);

}  // namespace fw::tokenizers
