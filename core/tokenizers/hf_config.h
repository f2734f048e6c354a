#pragma once
// Pieces of Hugging Face tokenizer files shared by the WordPiece and BPE readers: the
// added_tokens list of tokenizer.json and the special tokens of tokenizer_config.json,
// special_tokens_map.json and added_tokens.json.
#include "tokenizers/added_vocabulary.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace fw::tokenizers {

std::string folderOf(const std::string& path);  // "a/b/vocab.txt" -> "a/b/"

// No real vocabulary comes near 2^22 (4,194,304) tokens: a larger id (vocabulary or added
// token) is a corrupt or hostile file, refused before a table of that size is allocated.
constexpr int64_t kMaxTokenId = (int64_t{1} << 22) - 1;
// Throws fw::Error naming the file and field unless 0 <= id <= kMaxTokenId.
void checkTokenId(int64_t id, const std::string& path, const std::string& field);
// An optional member of `obj`: `fallback` when obj is no object or the member is absent or
// null; fw::Error naming the file and field when it has another type. (nlohmann's value()
// throws its own type_error instead, which escaped the loaders: found by fuzzing.)
bool optionalBool(const nlohmann::json& obj, const char* key, bool fallback, const std::string& path,
                  const std::string& field);
std::string optionalString(const nlohmann::json& obj, const char* key, const std::string& fallback,
                           const std::string& path, const std::string& field);

// tokenizer.json "added_tokens": [{"id", "content", "single_word", "lstrip", "rstrip", "normalized", "special"}].
std::vector<AddedToken> parseAddedTokens(const nlohmann::json& j, const std::string& path);

// The classic config files beside a vocabulary file, merged: tokenizer_config.json first,
// special_tokens_map.json filling the gaps.
struct ClassicConfig {
  nlohmann::json config = nlohmann::json::object();
  // A special token by its config key ("pad_token", "cls_token", ...), or "" when not set.
  std::string specialToken(const char* key) const;
  // Tokens from added_tokens_decoder (tokenizer_config.json) and added_tokens.json.
  std::vector<AddedToken> addedTokens;
};
ClassicConfig readClassicConfig(const std::string& folder);

}  // namespace fw::tokenizers
