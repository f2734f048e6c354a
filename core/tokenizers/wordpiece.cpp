#include "tokenizers/wordpiece.h"

#include "util/files.h"
#include "tokenizers/hf_config.h"
#include "tokenizers/unicode.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace fw::tokenizers {

namespace {

using json = nlohmann::json;

bool isContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

size_t charCount(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return !isContinuationByte(c); }));
}

// The Rust WordPiece decoder's clean-up of spaces before punctuation and contractions.
std::string cleanup(std::string s) {
  static const std::pair<const char*, const char*> rules[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : rules) {
    const std::string f(from), t(to);
    for (size_t at = s.find(f); at != std::string::npos; at = s.find(f, at + t.size())) s.replace(at, f.size(), t);
  }
  return s;
}

}  // namespace

void WordPieceTokenizer::addVocab(const std::string& token, int64_t id) {
  vocab_[token] = id;
  if (static_cast<size_t>(id) >= idToToken_.size()) idToToken_.resize(static_cast<size_t>(id) + 1);
  idToToken_[static_cast<size_t>(id)] = token;
}

void WordPieceTokenizer::finish(const std::string& path) {
  source_ = path;
  const auto unk = vocab_.find(unkToken_);
  unkId_ = unk == vocab_.end() ? -1 : unk->second;
  added_.finalize([this](std::string_view s) { return normalize(s); });
}

std::unique_ptr<WordPieceTokenizer> WordPieceTokenizer::fromTokenizerJson(const json& j, const std::string& path) {
  std::unique_ptr<WordPieceTokenizer> t(new WordPieceTokenizer());
  const json& model = j["model"];
  const auto vocab = model.find("vocab");
  if (vocab == model.end() || !vocab->is_object())
    throw Error("WordPiece model has no vocabulary").file(path).field("model.vocab").expected("an object token -> id");
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0)
      throw Error("vocabulary id is not a non-negative integer").file(path).field("model.vocab." + it.key())
          .got(it.value().dump());
    checkTokenId(it.value().get<int64_t>(), path, "model.vocab." + it.key());
    t->addVocab(it.key(), it.value().get<int64_t>());
  }
  if (model.contains("unk_token") && model["unk_token"].is_string()) t->unkToken_ = model["unk_token"];
  if (model.contains("continuing_subword_prefix") && model["continuing_subword_prefix"].is_string())
    t->prefix_ = model["continuing_subword_prefix"];
  if (model.contains("max_input_chars_per_word") && model["max_input_chars_per_word"].is_number_unsigned())
    t->maxCharsPerWord_ = model["max_input_chars_per_word"].get<size_t>();

  const json normalizer = j.value("normalizer", json());
  if (normalizer.is_null()) {
    t->norm_.enabled = false;
  } else if (optionalString(normalizer, "type", "", path, "normalizer") == "BertNormalizer") {
    auto flag = [&](const char* key, bool fallback) {
      const auto it = normalizer.find(key);
      return it == normalizer.end() || !it->is_boolean() ? fallback : it->get<bool>();
    };
    t->norm_.cleanText = flag("clean_text", true);
    t->norm_.handleChineseChars = flag("handle_chinese_chars", true);
    t->norm_.lowercase = flag("lowercase", true);
    t->norm_.stripAccents = flag("strip_accents", t->norm_.lowercase);  // null: follows lowercase
  } else {
    throw Error("unsupported normalizer for WordPiece").file(path).field("normalizer.type")
        .got(normalizer.is_object() ? optionalString(normalizer, "type", "?", path, "normalizer") : normalizer.dump())
        .expected("BertNormalizer or null");
  }

  const json pre = j.value("pre_tokenizer", json());
  const std::string preType = optionalString(pre, "type", "", path, "pre_tokenizer");
  if (preType == "BertPreTokenizer") t->splitPunctuation_ = true;
  else if (preType == "WhitespaceSplit") t->splitPunctuation_ = false;
  else
    throw Error("unsupported pre-tokenizer for WordPiece").file(path).field("pre_tokenizer.type")
        .got(preType.empty() ? pre.dump() : preType).expected("BertPreTokenizer or WhitespaceSplit");

  for (const AddedToken& a : parseAddedTokens(j, path)) t->added_.add(a);
  t->post_ = PostProcessor::fromJson(j.value("post_processor", json()), path);
  t->finish(path);

  std::string pad;
  if (j.contains("padding") && j["padding"].is_object()) pad = optionalString(j["padding"], "pad_token", "", path, "padding");
  t->choosePadToken({pad, "[PAD]", "<pad>"});
  if (auto id = t->tokenToId("[CLS]")) t->bosId_ = id;
  if (auto id = t->tokenToId("[SEP]")) t->eosId_ = id;
  return t;
}

std::unique_ptr<WordPieceTokenizer> WordPieceTokenizer::fromVocabTxt(const std::string& vocabPath) {
  std::unique_ptr<WordPieceTokenizer> t(new WordPieceTokenizer());
  const std::string text = readTextFile(vocabPath);
  int64_t id = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string token = text.substr(start, end - start);
    if (!token.empty() && token.back() == '\r') token.pop_back();
    t->addVocab(token, id++);
    start = end + 1;
  }
  if (t->vocab_.empty()) throw Error("vocabulary is empty").file(vocabPath);

  const std::string folder = folderOf(vocabPath);
  const ClassicConfig cfg = readClassicConfig(folder);
  auto flag = [&](const char* key, bool fallback) {
    const auto it = cfg.config.find(key);
    return it == cfg.config.end() || !it->is_boolean() ? fallback : it->get<bool>();
  };
  t->norm_.lowercase = flag("do_lower_case", true);
  t->norm_.stripAccents = flag("strip_accents", t->norm_.lowercase);
  t->norm_.handleChineseChars = flag("tokenize_chinese_chars", true);

  auto special = [&](const char* key, const char* fallback) {
    const std::string s = cfg.specialToken(key);
    return s.empty() ? std::string(fallback) : s;
  };
  t->unkToken_ = special("unk_token", "[UNK]");
  const std::string cls = special("cls_token", "[CLS]"), sep = special("sep_token", "[SEP]"),
                    pad = special("pad_token", "[PAD]"), mask = special("mask_token", "[MASK]");
  for (const std::string& s : {pad, t->unkToken_, cls, sep, mask}) {
    const auto it = t->vocab_.find(s);
    if (it != t->vocab_.end()) t->added_.add(AddedToken{s, it->second});
  }
  if (cfg.config.contains("additional_special_tokens") && cfg.config["additional_special_tokens"].is_array())
    for (const json& s : cfg.config["additional_special_tokens"]) {
      const std::string content = s.is_string() ? s.get<std::string>()
                                                 : optionalString(s, "content", "", folder + "tokenizer_config.json",
                                                                  "additional_special_tokens");
      const auto it = t->vocab_.find(content);
      if (it != t->vocab_.end()) t->added_.add(AddedToken{content, it->second});
    }
  for (const AddedToken& a : cfg.addedTokens) t->added_.add(a);

  const auto clsId = t->vocab_.find(cls), sepId = t->vocab_.find(sep);
  if (clsId != t->vocab_.end() && sepId != t->vocab_.end()) {
    t->post_ = PostProcessor::bert(cls, clsId->second, sep, sepId->second);
    t->bosId_ = clsId->second;
    t->eosId_ = sepId->second;
  }
  t->finish(vocabPath);
  t->choosePadToken({pad, "[PAD]"});
  return t;
}

size_t WordPieceTokenizer::vocabSize() const { return std::max(idToToken_.size(), addedVocabEnd()); }

std::optional<int64_t> WordPieceTokenizer::modelTokenToId(const std::string& token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> WordPieceTokenizer::modelIdToToken(int64_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= idToToken_.size()) return std::nullopt;
  return idToToken_[static_cast<size_t>(id)];
}

std::string WordPieceTokenizer::normalize(std::string_view text) const {
  if (!norm_.enabled) return std::string(text);
  const bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) {  // no CJK, no accents, no multi-byte case mapping: work on bytes
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
      if (norm_.cleanText) {
        if (c == '\t' || c == '\n' || c == '\r') c = ' ';
        else if (c == 0 || c < 0x20 || c == 0x7F) continue;  // controls (\v and \f too, as in Rust)
      }
      if (norm_.lowercase && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      out.push_back(c);
    }
    return out;
  }
  std::u32string s;
  s.reserve(text.size() + 8);
  for (char32_t cp : unicode::decodeUtf8(text)) {
    if (norm_.cleanText) {
      if (cp == 0 || cp == unicode::kReplacement || unicode::isControl(cp)) continue;
      if (unicode::isWhitespace(cp)) cp = U' ';
    }
    if (norm_.handleChineseChars && unicode::isChineseChar(cp)) {
      s.push_back(U' ');
      s.push_back(cp);
      s.push_back(U' ');
    } else {
      s.push_back(cp);
    }
  }
  if (norm_.stripAccents) {
    s = unicode::nfd(s);
    s.erase(std::remove_if(s.begin(), s.end(), unicode::isMarkNonspacing), s.end());
  }
  if (norm_.lowercase) {
    std::u32string lower;
    lower.reserve(s.size());
    for (char32_t cp : s) unicode::appendLowercase(lower, cp);
    s.swap(lower);
  }
  return unicode::encodeUtf8(s);
}

std::vector<std::string> WordPieceTokenizer::preTokenize(std::string_view normalized) const {
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) words.push_back(std::move(word));
    word.clear();
  };
  for (char32_t cp : unicode::decodeUtf8(normalized)) {
    if (unicode::isWhitespace(cp)) {
      flush();
    } else if (splitPunctuation_ && unicode::isPunctuation(cp)) {
      flush();
      unicode::appendUtf8(word, cp);
      flush();
    } else {
      unicode::appendUtf8(word, cp);
    }
  }
  flush();
  return words;
}

void WordPieceTokenizer::wordPiece(const std::string& word, Encoding& out) const {
  auto pushUnk = [&] {
    if (unkId_ < 0)
      throw Error("a word needs the unknown token, which the vocabulary lacks").file(source_)
          .got(unkToken_).hint("the word was '" + word + "'");
    out.push(unkId_, unkToken_);
  };
  if (charCount(word) > maxCharsPerWord_) return pushUnk();
  const size_t first = out.size();
  std::string candidate;
  size_t start = 0;
  while (start < word.size()) {
    size_t end = word.size();
    bool found = false;
    while (start < end) {
      candidate.assign(start > 0 ? prefix_ : std::string());
      candidate.append(word, start, end - start);
      const auto it = vocab_.find(candidate);
      if (it != vocab_.end()) {
        out.push(it->second, candidate);
        found = true;
        break;
      }
      do { --end; } while (end > start && isContinuationByte(word[end]));  // back one character
    }
    if (!found) {  // no piece matches here: the whole word is unknown
      out.resize(first);
      return pushUnk();
    }
    start = end;
  }
}

void WordPieceTokenizer::tokenizeNormalized(std::string_view text, Encoding& out) const {
  for (const std::string& word : preTokenize(text)) wordPiece(word, out);
}

std::string WordPieceTokenizer::decode(const std::vector<int64_t>& ids, bool skipSpecialTokens) const {
  std::string out;
  size_t i = 0;
  for (int64_t id : ids) {
    const AddedToken* added = added_.byId(id);
    if (skipSpecialTokens && added && added->special) continue;
    std::string token = idToToken(id).value_or(unkToken_);
    if (i++ != 0) {
      if (token.compare(0, prefix_.size(), prefix_) == 0) token.erase(0, prefix_.size());
      else token.insert(0, " ");
    }
    out += cleanup(std::move(token));
  }
  return out;
}

}  // namespace fw::tokenizers
