// fourierft tokenize: the ids a tokenizer folder gives a text (or a pair), as a JSON list.
#include "commands.h"
#include "util/path_checks.h"
#include "tokenizers/tokenizer.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace fw::cli {

void addTokenizeCommand(CLI::App& app) {
  struct Args {
    std::string dir, text, pair;
    size_t maxLength = 0, padTo = 0;
    bool tokens = false, noSpecial = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids of a text as a JSON list");
  cmd->add_option("--tokenizer", a->dir, "Folder with tokenizer.json, vocab.txt, vocab.json + merges.txt or tokenizer.model")->required();
  cmd->add_option("TEXT", a->text, "The text")->required();
  cmd->add_option("--pair", a->pair, "A second text (sentence pair)");
  cmd->add_option("--max-length", a->maxLength, "Truncate to this many tokens, special tokens included")
      ->check(atLeast(0));
  cmd->add_option("--pad-to", a->padTo, "Pad to this many tokens");
  cmd->add_flag("--tokens", a->tokens, "Print ids, tokens, type ids and mask as a JSON object");
  cmd->add_flag("--no-special", a->noSpecial, "Leave out the special tokens ([CLS], <s>, ...)");
  cmd->callback([a] {
    checkNotAFile(a->dir, "--tokenizer", "the tokenizer folder");
    auto tok = tokenizers::loadTokenizer(a->dir);
    tokenizers::EncodeOptions o;
    o.maxLength = a->maxLength;
    o.padTo = a->padTo;
    o.addSpecialTokens = !a->noSpecial;
    auto e = tok->encode(a->text, a->pair.empty() ? nullptr : &a->pair, o);
    if (!a->tokens) {
      std::cout << nlohmann::json(e.ids).dump() << "\n";
      return;
    }
    std::cout << nlohmann::json{{"ids", e.ids}, {"tokens", e.tokens}, {"type_ids", e.typeIds}, {"attention_mask", e.attentionMask}}.dump()
              << "\n";
  });
}

}  // namespace fw::cli
