#pragma once
// SentencePiece (LLaMA's tokenizer.model) through libsentencepiece (loaded as a plugin), with the special tokens
// transformers' LlamaTokenizer adds: <s> before each text (add_bos_token, default on) and </s>
// after it when add_eos_token is set in tokenizer_config.json. Special-token strings inside the
// text are not split out; SentencePiece encodes them as plain text.
#include "tokenizers/tokenizer.h"

#include <memory>
#include <string>

namespace fw::tokenizers {

class SentencePieceModel;

class SentencePieceTokenizer : public Tokenizer {
public:
  // Throws fw::Error naming the file when it is missing or not a SentencePiece model.
  static std::unique_ptr<SentencePieceTokenizer> fromModelFile(const std::string& path);
  ~SentencePieceTokenizer() override;

  TokenizerKind kind() const override { return TokenizerKind::SentencePiece; }
  size_t vocabSize() const override;
  std::string decode(const std::vector<int64_t>& ids, bool skipSpecialTokens = true) const override;

private:
  SentencePieceTokenizer();
  void tokenizeNormalized(std::string_view text, Encoding& out) const override;
  std::optional<int64_t> modelTokenToId(const std::string& token) const override;
  std::optional<std::string> modelIdToToken(int64_t id) const override;

  std::unique_ptr<SentencePieceModel> sp_;
};

}  // namespace fw::tokenizers
