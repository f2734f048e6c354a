#include "tokenizers/byte_bpe.h"

#include "util/files.h"
#include "tokenizers/hf_config.h"
#include "tokenizers/unicode.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <queue>

namespace fw::tokenizers {

namespace {

using json = nlohmann::json;

// GPT-2's pre-tokenizer pattern, the one Hugging Face's ByteLevel uses:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// with \s written out as the White_Space property, which is what Oniguruma's \s matches there.
// PCRE2's \s under UCP also matches U+180E MONGOLIAN VOWEL SEPARATOR (in its \h list, though
// Unicode no longer counts it as white space since 6.3).
#define FW_WS R"(\x{09}-\x{0D}\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})"
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^)" FW_WS R"(\p{L}\p{N}]+|[)" FW_WS R"(]+(?![^)" FW_WS
    R"(])|[)" FW_WS R"(]+)";
#undef FW_WS

constexpr size_t kCacheCapacity = 200000;  // pieces; a full cache stops growing
constexpr size_t kCacheMaxPiece = 256;      // longer pieces are rare and would only bloat it

uint64_t pairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to U+0100 upwards.
std::array<char32_t, 256> bytesToUnicode() {
  std::array<char32_t, 256> map{};
  std::array<bool, 256> printable{};
  for (int b = '!'; b <= '~'; ++b) printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) map[b] = printable[b] ? static_cast<char32_t>(b) : next++;
  return map;
}

}  // namespace

struct ByteBpeTokenizer::Regex {
  pcre2_code* code = nullptr;
  ~Regex() {
    if (code) pcre2_code_free(code);
  }
};

ByteBpeTokenizer::ByteBpeTokenizer() {
  const auto map = bytesToUnicode();
  for (int b = 0; b < 256; ++b) {
    byteChar_[b].clear();
    unicode::appendUtf8(byteChar_[b], map[b]);
    charByte_[map[b]] = static_cast<unsigned char>(b);
  }
  byteId_.fill(-1);
  int errorCode = 0;
  PCRE2_SIZE errorOffset = 0;
  regex_ = std::make_unique<Regex>();
  regex_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kGpt2Pattern), PCRE2_ZERO_TERMINATED,
                               PCRE2_UTF | PCRE2_UCP, &errorCode, &errorOffset, nullptr);
  if (!regex_->code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(errorCode, message, sizeof(message));
    throw Error(std::string("cannot compile the GPT-2 pre-tokenizer pattern: ") +
                reinterpret_cast<const char*>(message)).got("offset " + std::to_string(errorOffset));
  }
  pcre2_jit_compile(regex_->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is absent
}

ByteBpeTokenizer::~ByteBpeTokenizer() = default;

void ByteBpeTokenizer::addVocab(const std::string& token, int64_t id) {
  vocab_[token] = id;
  if (static_cast<size_t>(id) >= idToToken_.size()) idToToken_.resize(static_cast<size_t>(id) + 1);
  idToToken_[static_cast<size_t>(id)] = token;
}

void ByteBpeTokenizer::addMerge(const std::string& left, const std::string& right, const std::string& where,
                                int64_t line, const std::string& field) {
  auto fail = [&](const std::string& what, const std::string& token) {
    Error e(what);
    e.file(where).got(token);
    if (line >= 0) e.line(line);
    if (!field.empty()) e.field(field);
    throw e;
  };
  const auto l = vocab_.find(left), r = vocab_.find(right), m = vocab_.find(left + right);
  if (l == vocab_.end()) fail("merge uses a token that is not in the vocabulary", left);
  if (r == vocab_.end()) fail("merge uses a token that is not in the vocabulary", right);
  if (m == vocab_.end()) fail("merged token is not in the vocabulary", left + right);
  // A repeated pair keeps its last rank, as Hugging Face's map does.
  merges_[pairKey(static_cast<int32_t>(l->second), static_cast<int32_t>(r->second))] =
      Merge{nextRank_++, static_cast<int32_t>(m->second)};
}

void ByteBpeTokenizer::finish(const std::string& path) {
  source_ = path;
  for (int b = 0; b < 256; ++b) {
    const auto it = vocab_.find(byteChar_[b]);
    byteId_[b] = it == vocab_.end() ? -1 : static_cast<int32_t>(it->second);
  }
  if (!unkToken_.empty()) unkId_ = modelTokenToId(unkToken_);
  added_.finalize({});  // no normalizer: normalized tokens match the text as it is
  choosePadToken({padToken_, "<pad>", "[PAD]", "<|endoftext|>", "</s>"});
  for (const char* s : {"<s>", "<|endoftext|>", "<|begin_of_text|>"})
    if (auto id = tokenToId(s)) { bosId_ = id; break; }
  for (const char* s : {"</s>", "<|endoftext|>", "<|end_of_text|>"})
    if (auto id = tokenToId(s)) { eosId_ = id; break; }
}

std::unique_ptr<ByteBpeTokenizer> ByteBpeTokenizer::fromTokenizerJson(const json& j, const std::string& path) {
  std::unique_ptr<ByteBpeTokenizer> t(new ByteBpeTokenizer());
  const json& model = j["model"];

  // Only byte-level BPE is read here: the pre-tokenizer must be ByteLevel (maybe in a Sequence).
  const json pre = j.value("pre_tokenizer", json());
  const json* byteLevel = nullptr;
  const std::string preType = optionalString(pre, "type", "", path, "pre_tokenizer");
  if (preType == "ByteLevel") {
    byteLevel = &pre;
  } else if (preType == "Sequence" && pre.contains("pretokenizers")) {
    for (const json& p : pre["pretokenizers"]) {
      if (optionalString(p, "type", "", path, "pre_tokenizer.pretokenizers") != "ByteLevel")
        throw Error("unsupported pre-tokenizer in a byte-level BPE sequence").file(path)
            .field("pre_tokenizer.pretokenizers").got(optionalString(p, "type", p.dump(), path, "pre_tokenizer.pretokenizers"))
            .expected("ByteLevel only");
      byteLevel = &p;
    }
  }
  if (!byteLevel)
    throw Error("BPE model without a ByteLevel pre-tokenizer is not supported").file(path).field("pre_tokenizer")
        .got(optionalString(pre, "type", pre.dump(), path, "pre_tokenizer"))
        .hint("only byte-level BPE (GPT-2, RoBERTa) is read from tokenizer.json; SentencePiece models from tokenizer.model");
  t->addPrefixSpace_ = optionalBool(*byteLevel, "add_prefix_space", true, path, "pre_tokenizer");
  t->useRegex_ = optionalBool(*byteLevel, "use_regex", true, path, "pre_tokenizer");

  const json normalizer = j.value("normalizer", json());
  const bool emptySequence = optionalString(normalizer, "type", "", path, "normalizer") == "Sequence" &&
                             normalizer.value("normalizers", json::array()).empty();
  if (!normalizer.is_null() && !emptySequence)
    throw Error("unsupported normalizer for byte-level BPE").file(path).field("normalizer.type")
        .got(normalizer.is_object() ? optionalString(normalizer, "type", "?", path, "normalizer") : normalizer.dump()).expected("null");
  if (optionalBool(model, "byte_fallback", false, path, "model"))
    throw Error("byte_fallback BPE is not byte-level BPE").file(path).field("model.byte_fallback")
        .hint("SentencePiece models are read from tokenizer.model");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const auto it = model.find(key);
    if (it != model.end() && it->is_string() && !it->get<std::string>().empty())
      throw Error("unsupported BPE option").file(path).field(std::string("model.") + key).got(it->dump())
          .expected("null or \"\"");
  }
  t->ignoreMerges_ = optionalBool(model, "ignore_merges", false, path, "model");
  if (model.contains("unk_token") && model["unk_token"].is_string()) t->unkToken_ = model["unk_token"];

  const auto vocab = model.find("vocab");
  if (vocab == model.end() || !vocab->is_object())
    throw Error("BPE model has no vocabulary").file(path).field("model.vocab").expected("an object token -> id");
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0)
      throw Error("vocabulary id is not a non-negative integer").file(path).field("model.vocab." + it.key())
          .got(it.value().dump());
    checkTokenId(it.value().get<int64_t>(), path, "model.vocab." + it.key());
    t->addVocab(it.key(), it.value().get<int64_t>());
  }
  const auto merges = model.find("merges");
  if (merges == model.end() || !merges->is_array())
    throw Error("BPE model has no merges").file(path).field("model.merges").expected("a list");
  t->merges_.reserve(merges->size());
  for (size_t i = 0; i < merges->size(); ++i) {
    const json& m = (*merges)[i];
    const std::string field = "model.merges[" + std::to_string(i) + "]";
    if (m.is_string()) {  // "a b" (tokenizers before 0.20)
      const std::string s = m.get<std::string>();
      const auto space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
        throw Error("merge is not two tokens").file(path).field(field).got(s).expected("\"left right\"");
      t->addMerge(s.substr(0, space), s.substr(space + 1), path, -1, field);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {  // ["a", "b"]
      t->addMerge(m[0].get<std::string>(), m[1].get<std::string>(), path, -1, field);
    } else {
      throw Error("merge is not two tokens").file(path).field(field).got(m.dump())
          .expected("\"left right\" or [\"left\", \"right\"]");
    }
  }
  for (const AddedToken& a : parseAddedTokens(j, path)) t->added_.add(a);
  t->post_ = PostProcessor::fromJson(j.value("post_processor", json()), path);
  if (j.contains("padding") && j["padding"].is_object()) t->padToken_ = optionalString(j["padding"], "pad_token", "", path, "padding");
  t->finish(path);
  return t;
}

std::unique_ptr<ByteBpeTokenizer> ByteBpeTokenizer::fromVocabMerges(const std::string& vocabPath,
                                                                   const std::string& mergesPath) {
  std::unique_ptr<ByteBpeTokenizer> t(new ByteBpeTokenizer());
  const json vocab = readJsonFile(vocabPath);
  if (!vocab.is_object()) throw Error("vocabulary is not a JSON object").file(vocabPath).expected("token -> id");
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0)
      throw Error("vocabulary id is not a non-negative integer").file(vocabPath).field(it.key()).got(it.value().dump());
    checkTokenId(it.value().get<int64_t>(), vocabPath, it.key());
    t->addVocab(it.key(), it.value().get<int64_t>());
  }
  const std::string text = readTextFile(mergesPath);
  int64_t lineNo = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    const auto space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
      throw Error("merge is not two tokens").file(mergesPath).line(lineNo).got(line).expected("\"left right\"");
    t->addMerge(line.substr(0, space), line.substr(space + 1), mergesPath, lineNo, "");
  }

  const ClassicConfig cfg = readClassicConfig(folderOf(vocabPath));
  const std::string configPath = folderOf(vocabPath) + "tokenizer_config.json";
  t->addPrefixSpace_ = optionalBool(cfg.config, "add_prefix_space", false, configPath, "");
  const std::string tokenizerClass = optionalString(cfg.config, "tokenizer_class", "", configPath, "");
  const bool roberta = tokenizerClass.find("Roberta") != std::string::npos ||
                       tokenizerClass.find("Bart") != std::string::npos ||
                       (tokenizerClass.empty() && t->vocab_.count("<s>") && t->vocab_.count("</s>") &&
                        !t->vocab_.count("<|endoftext|>"));
  auto special = [&](const char* key, const char* fallback) {
    const std::string s = cfg.specialToken(key);
    return s.empty() ? std::string(fallback) : s;
  };
  const std::string eot = "<|endoftext|>";
  const std::string bos = special("bos_token", roberta ? "<s>" : eot.c_str()),
                    eos = special("eos_token", roberta ? "</s>" : eot.c_str()),
                    unk = special("unk_token", roberta ? "<unk>" : eot.c_str()),
                    cls = special("cls_token", roberta ? "<s>" : ""), sep = special("sep_token", roberta ? "</s>" : ""),
                    pad = special("pad_token", roberta ? "<pad>" : ""), mask = special("mask_token", roberta ? "<mask>" : "");
  for (const std::string& s : {bos, eos, unk, cls, sep, pad, mask}) {
    const auto it = t->vocab_.find(s);
    if (s.empty() || it == t->vocab_.end()) continue;
    AddedToken a{s, it->second};
    a.lstrip = roberta && s == mask;  // RobertaTokenizer's <mask> takes the space before it
    t->added_.add(a);
  }
  for (const AddedToken& a : cfg.addedTokens) t->added_.add(a);
  if (roberta && t->vocab_.count(cls) && t->vocab_.count(sep))
    t->post_ = PostProcessor::roberta(cls, t->vocab_[cls], sep, t->vocab_[sep]);
  t->padToken_ = pad;
  t->finish(vocabPath);
  return t;
}

size_t ByteBpeTokenizer::vocabSize() const { return std::max(idToToken_.size(), addedVocabEnd()); }

std::optional<int64_t> ByteBpeTokenizer::modelTokenToId(const std::string& token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> ByteBpeTokenizer::modelIdToToken(int64_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= idToToken_.size()) return std::nullopt;
  return idToToken_[static_cast<size_t>(id)];
}

std::vector<std::string> ByteBpeTokenizer::preTokenize(std::string_view input) const {
  std::string text(input);
  if (addPrefixSpace_ && !text.empty() && text[0] != ' ') text.insert(0, " ");
  std::vector<std::string> pieces;
  if (!useRegex_) {
    if (!text.empty()) pieces.push_back(std::move(text));
    return pieces;
  }
  pcre2_match_data* match = pcre2_match_data_create_from_pattern(regex_->code, nullptr);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t offset = 0;
  while (offset < text.size()) {
    // The text is valid UTF-8 (encode() sanitizes it), so PCRE2 need not check it again.
    const int rc = pcre2_match(regex_->code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK, match, nullptr);
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match);
    if (rc == PCRE2_ERROR_NOMATCH || (rc >= 0 && ov[1] <= ov[0])) {
      // Cannot happen (every character matches a branch); never drop text silently.
      pieces.emplace_back(text, offset, std::string::npos);
      break;
    }
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      pcre2_match_data_free(match);
      throw Error(std::string("GPT-2 pre-tokenizer pattern failed: ") + reinterpret_cast<const char*>(message))
          .file(source_).got("offset " + std::to_string(offset) + " of " + std::to_string(text.size()) + " bytes");
    }
    pieces.emplace_back(text, ov[0], ov[1] - ov[0]);
    offset = ov[1];
  }
  pcre2_match_data_free(match);
  return pieces;
}

void ByteBpeTokenizer::bpe(std::string_view piece, std::vector<int32_t>& ids) const {
  ids.clear();
  if (piece.size() <= kCacheMaxPiece) {
    std::lock_guard<std::mutex> lock(cacheMutex_);
    const auto it = cache_.find(std::string(piece));
    if (it != cache_.end()) {
      ids = it->second;
      return;
    }
  }
  if (ignoreMerges_) {
    std::string mapped;
    for (char c : piece) mapped += byteChar_[static_cast<unsigned char>(c)];
    const auto it = vocab_.find(mapped);
    if (it != vocab_.end()) ids.push_back(static_cast<int32_t>(it->second));
  }
  if (ids.empty()) {
    // One symbol per byte in a linked list; a min-heap of candidate merges by (rank, position),
    // so equal ranks merge left to right, as in Hugging Face's Word::merge_all.
    struct Symbol {
      int32_t id;
      int prev, next;
      bool alive;
    };
    std::vector<Symbol> sym;
    sym.reserve(piece.size());
    for (char c : piece) {
      int32_t id = byteId_[static_cast<unsigned char>(c)];
      if (id < 0) {
        if (!unkId_) continue;  // no unknown token: the byte is dropped, as in Hugging Face
        id = static_cast<int32_t>(*unkId_);
      }
      const int n = static_cast<int>(sym.size());
      sym.push_back({id, n - 1, n + 1, true});
    }
    if (!sym.empty()) sym.back().next = -1;
    struct Candidate {
      int32_t rank;
      int pos;
      int32_t newId;
      bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
    auto consider = [&](int pos) {
      const int next = sym[pos].next;
      if (next < 0) return;
      const auto it = merges_.find(pairKey(sym[pos].id, sym[next].id));
      if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.newId});
    };
    for (int i = 0; i + 1 < static_cast<int>(sym.size()); ++i) consider(i);
    while (!queue.empty()) {
      const Candidate top = queue.top();
      queue.pop();
      Symbol& left = sym[top.pos];
      if (!left.alive || left.next < 0) continue;
      const auto it = merges_.find(pairKey(left.id, sym[left.next].id));
      if (it == merges_.end() || it->second.newId != top.newId) continue;  // stale entry
      Symbol& right = sym[left.next];
      left.id = top.newId;
      right.alive = false;
      left.next = right.next;
      if (right.next >= 0) sym[right.next].prev = top.pos;
      if (left.prev >= 0) consider(left.prev);
      consider(top.pos);
    }
    for (const Symbol& s : sym)
      if (s.alive) ids.push_back(s.id);
  }
  std::lock_guard<std::mutex> lock(cacheMutex_);
  if (cache_.size() < kCacheCapacity && piece.size() <= kCacheMaxPiece) cache_.emplace(std::string(piece), ids);
}

void ByteBpeTokenizer::tokenizeNormalized(std::string_view text, Encoding& out) const {
  std::vector<int32_t> ids;
  for (const std::string& piece : preTokenize(text)) {
    bpe(piece, ids);
    for (int32_t id : ids) out.push(id, idToToken_[static_cast<size_t>(id)]);
  }
}

std::string ByteBpeTokenizer::decode(const std::vector<int64_t>& ids, bool skipSpecialTokens) const {
  std::string bytes;
  for (int64_t id : ids) {
    const AddedToken* added = added_.byId(id);
    if (skipSpecialTokens && added && added->special) continue;
    const auto token = idToToken(id);
    if (!token) continue;
    // As the ByteLevel decoder: map each character back to its byte; a token with a character
    // outside the byte alphabet (an added token) is kept as it is.
    std::string mapped;
    bool ok = true;
    for (char32_t cp : unicode::decodeUtf8(*token)) {
      const auto it = charByte_.find(cp);
      if (it == charByte_.end()) { ok = false; break; }
      mapped.push_back(static_cast<char>(it->second));
    }
    bytes += ok ? mapped : *token;
  }
  return unicode::sanitizeUtf8(bytes);
}

}  // namespace fw::tokenizers
