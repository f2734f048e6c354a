#include "tokenizers/tokenizer.h"

#include "tokenizers/byte_bpe.h"
#include "tokenizers/hf_config.h"
#include "util/files.h"
#include "tokenizers/sentencepiece_tokenizer.h"
#include "tokenizers/unicode.h"
#include "tokenizers/wordpiece.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <algorithm>

namespace fw::tokenizers {

namespace {

// Hugging Face's LongestFirst truncation of a pair to `budget` tokens (special tokens excluded):
// the shorter text keeps what it can up to half, the longer one gets the rest.
void truncatePair(Encoding& a, Encoding& b, size_t budget) {
  if (a.size() + b.size() <= budget) return;
  size_t n1 = a.size(), n2 = b.size();
  const bool swap = n1 > n2;
  if (swap) std::swap(n1, n2);
  n2 = n1 > budget ? n1 : std::max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = budget / 2;
    n2 = n1 + budget % 2;
  }
  if (swap) std::swap(n1, n2);
  if (a.size() > n1) a.resize(n1);
  if (b.size() > n2) b.resize(n2);
}

bool isDirectory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A tokenizer.json whose model we read from tokenizer.model instead: SentencePiece converted to
// the tokenizers format (Metaspace, byte fallback, Unigram).
bool describesSentencePiece(const nlohmann::json& j) {
  const auto model = j.find("model");  // no copy: the model holds the whole vocabulary
  if (model != j.end() && model->is_object()) {
    if (model->value("type", "") == "Unigram" || model->value("byte_fallback", false)) return true;
  }
  const std::string dump = j.value("pre_tokenizer", nlohmann::json()).dump() +
                           j.value("normalizer", nlohmann::json()).dump();
  return dump.find("Metaspace") != std::string::npos || dump.find("\\u2581") != std::string::npos ||
         dump.find("\xE2\x96\x81") != std::string::npos;
}

std::unique_ptr<Tokenizer> fromJson(const nlohmann::json& j, const std::string& path) {
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
    throw Error("not a tokenizers file: no model object").file(path).field("model");
  const auto& model = j["model"];
  // Old files omit model.type; a WordPiece model has continuing_subword_prefix and no merges.
  std::string type = optionalString(model, "type", "", path, "model");
  if (type.empty()) type = model.contains("merges") ? "BPE" : model.contains("max_input_chars_per_word") ? "WordPiece" : "";
  if (type == "WordPiece") return WordPieceTokenizer::fromTokenizerJson(j, path);
  if (type == "BPE") return ByteBpeTokenizer::fromTokenizerJson(j, path);
  throw Error("unsupported tokenizer model").file(path).field("model.type").got(type.empty() ? "nothing" : type)
      .expected("WordPiece or BPE")
      .hint("SentencePiece models are read from tokenizer.model");
}

}  // namespace

const char* kindName(TokenizerKind kind) {
  switch (kind) {
    case TokenizerKind::WordPiece: return "wordpiece";
    case TokenizerKind::ByteLevelBpe: return "byte_bpe";
    case TokenizerKind::SentencePiece: return "sentencepiece";
  }
  return "unknown";
}

Encoding Tokenizer::encode(const std::string& text, const std::string* pair) const {
  return encode(text, pair, EncodeOptions{});
}

Encoding Tokenizer::encode(const std::string& text, const std::string* pair,
                           const EncodeOptions& options) const {
  // Only invalid input pays for a copy.
  std::string fixedA, fixedB;
  std::string_view a = text, b = pair ? std::string_view(*pair) : std::string_view();
  if (!unicode::isValidUtf8(a)) { fixedA = unicode::sanitizeUtf8(a); a = fixedA; }
  if (pair && !unicode::isValidUtf8(b)) { fixedB = unicode::sanitizeUtf8(b); b = fixedB; }

  Encoding first, second;
  encodeText(a, first);
  if (pair) encodeText(b, second);

  if (options.maxLength > 0) {
    const size_t special = options.addSpecialTokens ? post_.addedTokens(pair != nullptr) : 0;
    if (options.maxLength < special)
      throw Error("max length leaves no room for the special tokens")
          .expected("at least " + std::to_string(special)).got(std::to_string(options.maxLength));
    const size_t budget = options.maxLength - special;
    if (pair) truncatePair(first, second, budget);
    else if (first.size() > budget) first.resize(budget);
  }
  Encoding out = post_.apply(std::move(first), pair ? &second : nullptr, options.addSpecialTokens);
  if (options.padTo > 0) pad(out, options.padTo);
  return out;
}

void Tokenizer::encodeText(std::string_view text, Encoding& out) const {
  if (added_.empty()) {
    tokenizeNormalized(normalize(text), out);
    return;
  }
  for (const auto& raw : added_.split(text, false)) {
    if (raw.token) { out.push(raw.token->id, std::string(raw.text)); continue; }
    const std::string normalized = normalize(raw.text);
    for (const auto& piece : added_.split(normalized, true)) {
      if (piece.token) out.push(piece.token->id, std::string(piece.text));
      else tokenizeNormalized(piece.text, out);
    }
  }
}

std::optional<int64_t> Tokenizer::tokenToId(const std::string& token) const {
  if (const AddedToken* t = added_.byContent(token)) return t->id;
  return modelTokenToId(token);
}

std::optional<std::string> Tokenizer::idToToken(int64_t id) const {
  if (const AddedToken* t = added_.byId(id)) return t->content;
  return modelIdToToken(id);
}

void Tokenizer::pad(Encoding& encoding, size_t length) const {
  if (encoding.size() >= length) return;
  const size_t n = length - encoding.size();
  encoding.ids.insert(encoding.ids.end(), n, padId_);
  encoding.typeIds.insert(encoding.typeIds.end(), n, 0);
  encoding.attentionMask.insert(encoding.attentionMask.end(), n, 0);
  encoding.tokens.insert(encoding.tokens.end(), n, padToken_);
}

void Tokenizer::choosePadToken(const std::vector<std::string>& candidates) {
  for (const std::string& c : candidates) {
    if (c.empty()) continue;
    if (auto id = tokenToId(c)) {
      padId_ = *id;
      padToken_ = c;
      return;
    }
  }
  padId_ = 0;
  padToken_ = idToToken(0).value_or("");
}

size_t Tokenizer::addedVocabEnd() const {
  size_t end = 0;
  for (const AddedToken& t : added_.tokens()) end = std::max(end, static_cast<size_t>(t.id + 1));
  return end;
}

namespace {

// A JSON value of an unexpected type that a reader did not check itself (nlohmann's type_error
// and out_of_range) becomes an fw::Error naming the file instead of escaping (found by fuzzing).
template <class F>
std::unique_ptr<Tokenizer> withJsonErrors(const std::string& path, F&& read) {
  try {
    return read();
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    if (what.rfind("[json.exception", 0) == 0 && what.find("] ") != std::string::npos)
      what = what.substr(what.find("] ") + 2);
    throw Error("unexpected value in tokenizer file: " + what).file(path);
  }
}

}  // namespace

std::unique_ptr<Tokenizer> loadTokenizerJson(const std::string& path) {
  return withJsonErrors(path, [&] { return fromJson(readJsonFile(path), path); });
}

std::unique_ptr<Tokenizer> loadTokenizer(const std::string& dir) {
  if (!isDirectory(dir))
    throw Error("tokenizer folder does not exist").file(dir)
        .expected("a folder with tokenizer.json, vocab.txt, vocab.json + merges.txt or tokenizer.model");
  const std::string base = dir.back() == '/' ? dir : dir + "/";
  const std::string json = base + "tokenizer.json", vocabTxt = base + "vocab.txt",
                    vocabJson = base + "vocab.json", merges = base + "merges.txt",
                    spModel = base + "tokenizer.model";
  if (fileExists(json)) {
    const nlohmann::json j = readJsonFile(json);
    if (fileExists(spModel) && describesSentencePiece(j)) return SentencePieceTokenizer::fromModelFile(spModel);
    return withJsonErrors(json, [&] { return fromJson(j, json); });
  }
  if (fileExists(vocabTxt))
    return withJsonErrors(vocabTxt, [&] { return WordPieceTokenizer::fromVocabTxt(vocabTxt); });
  if (fileExists(vocabJson) && fileExists(merges))
    return withJsonErrors(vocabJson, [&] { return ByteBpeTokenizer::fromVocabMerges(vocabJson, merges); });
  if (fileExists(spModel)) return SentencePieceTokenizer::fromModelFile(spModel);
  Error e("no tokenizer files in folder");
  e.file(dir).expected("tokenizer.json, vocab.txt, vocab.json + merges.txt, or tokenizer.model");
  if (fileExists(vocabJson)) e.hint("vocab.json is there but merges.txt is missing");
  else if (fileExists(merges)) e.hint("merges.txt is there but vocab.json is missing");
  throw e;
}

}  // namespace fw::tokenizers
