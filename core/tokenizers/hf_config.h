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
