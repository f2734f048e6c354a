#pragma once
// Adds the special tokens around one text or a pair, as Hugging Face's post-processors do:
// TemplateProcessing, BertProcessing ([CLS] A [SEP] B [SEP]), RobertaProcessing
// (<s> A </s></s> B </s>, all type ids 0), or none (A B, type ids 0 then 1).
#include "tokenizers/encoding.h"

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace fw::tokenizers {

class PostProcessor {
public:
  struct Item {
    int sequence = -1;  // 0: text A, 1: text B, -1: special tokens
    std::vector<int64_t> ids;
    std::vector<std::string> tokens;
    int64_t typeId = 0;
  };
  using TokenLookup = std::function<std::optional<int64_t>(const std::string&)>;

  PostProcessor() = default;  // none: A, or A followed by B with type id 1

  static PostProcessor fromTemplate(std::vector<Item> single, std::vector<Item> pair);
  static PostProcessor bert(const std::string& cls, int64_t clsId, const std::string& sep, int64_t sepId);
  static PostProcessor roberta(const std::string& cls, int64_t clsId, const std::string& sep, int64_t sepId);
  // tokenizer.json's "post_processor"; `file` names the file in errors.
  static PostProcessor fromJson(const nlohmann::json& spec, const std::string& file);

  // Special tokens added to one text (pair=false) or a pair.
  size_t addedTokens(bool pair) const;
  Encoding apply(Encoding a, const Encoding* b, bool addSpecialTokens) const;

private:
  bool hasTemplate_ = false;
  std::vector<Item> single_, pair_;
};

}  // namespace fw::tokenizers
