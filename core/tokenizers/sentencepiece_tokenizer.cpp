#include "tokenizers/sentencepiece_tokenizer.h"

#include "util/files.h"
#include "tokenizers/hf_config.h"
#include "util/error.h"

#include "tokenizers/sentencepiece_model.h"

namespace fw::tokenizers {

SentencePieceTokenizer::SentencePieceTokenizer() = default;

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::fromModelFile(const std::string& path) {
  if (!fileExists(path)) throw Error("SentencePiece model file not found").file(path);
  std::unique_ptr<SentencePieceTokenizer> t(new SentencePieceTokenizer());
  // Read the bytes ourselves: our error then names the file whatever libsentencepiece says.
  const std::string bytes = readTextFile(path);
  try {
    t->sp_ = std::make_unique<SentencePieceModel>(bytes, path);
  } catch (const Error& e) {
    if (!e.filePath().empty()) throw;  // the plugin itself is missing
    // libsentencepiece prefixes its source location ("./src/x.cc(232) [...]"): keep the words.
    std::string detail = e.message();
    if (detail.rfind("./src/", 0) == 0 || detail.rfind("src/", 0) == 0) {
      const auto bracket = detail.find(" [");
      detail = bracket == std::string::npos ? std::string() : detail.substr(bracket + 1);
    }
    const bool unparsable = detail.find("ParseFromArray") != std::string::npos;
    throw Error(unparsable ? "not a valid SentencePiece model: not a ModelProto"
                           : "not a valid SentencePiece model: " + detail)
        .file(path).hint("tokenizer.model must be a serialized sentencepiece ModelProto, as LLaMA ships it");
  }
  if (t->sp_->pieceSize() <= 0) throw Error("SentencePiece model has no pieces").file(path);
  t->source_ = path;

  const ClassicConfig cfg = readClassicConfig(folderOf(path));
  // Not json::value(): a flag of another type threw nlohmann's type_error (found by fuzzing).
  const std::string configPath = folderOf(path) + "tokenizer_config.json";
  const bool addBos = optionalBool(cfg.config, "add_bos_token", true, configPath, "");
  const bool addEos = optionalBool(cfg.config, "add_eos_token", false, configPath, "");
  if (t->sp_->bosId() >= 0) t->bosId_ = t->sp_->bosId();
  if (t->sp_->eosId() >= 0) t->eosId_ = t->sp_->eosId();

  // LlamaTokenizer: bos A eos, and for a pair bos A eos bos B eos with type id 1 on the B part.
  using Item = PostProcessor::Item;
  auto special = [&](int64_t id, int64_t typeId) {
    Item item;
    item.ids = {id};
    item.tokens = {t->sp_->idToPiece(static_cast<int>(id))};
    item.typeId = typeId;
    return item;
  };
  auto sequence = [](int which, int64_t typeId) {
    Item item;
    item.sequence = which;
    item.typeId = typeId;
    return item;
  };
  std::vector<Item> single, pair;
  for (int which = 0; which < 2; ++which) {
    std::vector<Item> part;
    if (addBos && t->bosId_) part.push_back(special(*t->bosId_, which));
    part.push_back(sequence(which, which));
    if (addEos && t->eosId_) part.push_back(special(*t->eosId_, which));
    if (which == 0) single = part;
    pair.insert(pair.end(), part.begin(), part.end());
  }
  t->post_ = PostProcessor::fromTemplate(std::move(single), std::move(pair));

  if (t->sp_->padId() >= 0) {
    t->padId_ = t->sp_->padId();
  } else {
    const std::string pad = cfg.specialToken("pad_token");
    const auto padId = pad.empty() ? std::nullopt : t->modelTokenToId(pad);
    t->padId_ = padId ? *padId : t->eosId_ ? *t->eosId_ : 0;
  }
  t->padToken_ = t->sp_->idToPiece(static_cast<int>(t->padId_));

  // As transformers' LlamaTokenizer: its special tokens (<unk>, <s>, </s>: the model's unknown
  // and control pieces) and the added tokens of tokenizer_config.json are cut out of the text
  // whole, and SentencePiece encodes the text between them ("a</s>b": a, </s>, b; it gave
  // "<", "/", "s", ">" pieces).
  for (int id = 0; id < t->sp_->pieceSize(); ++id)
    if ((t->sp_->isControl(id) || t->sp_->isUnknown(id)) && !t->sp_->idToPiece(id).empty())
      t->added_.add(AddedToken{t->sp_->idToPiece(id), id});
  for (const AddedToken& a : cfg.addedTokens) t->added_.add(a);
  t->added_.finalize([](std::string_view s) { return std::string(s); });
  return t;
}

size_t SentencePieceTokenizer::vocabSize() const { return static_cast<size_t>(sp_->pieceSize()); }

void SentencePieceTokenizer::tokenizeNormalized(std::string_view text, Encoding& out) const {
  for (int id : sp_->encode(std::string(text))) out.push(id, sp_->idToPiece(id));
}

std::optional<int64_t> SentencePieceTokenizer::modelTokenToId(const std::string& token) const {
  const int id = sp_->pieceToId(token);
  if (id < 0 || (sp_->isUnknown(id) && sp_->idToPiece(id) != token)) return std::nullopt;
  return id;
}

std::optional<std::string> SentencePieceTokenizer::modelIdToToken(int64_t id) const {
  if (id < 0 || id >= sp_->pieceSize()) return std::nullopt;
  return sp_->idToPiece(static_cast<int>(id));
}

std::string SentencePieceTokenizer::decode(const std::vector<int64_t>& ids, bool skipSpecialTokens) const {
  std::vector<int> kept;
  kept.reserve(ids.size());
  for (int64_t id : ids) {
    if (id < 0 || id >= sp_->pieceSize()) continue;
    if (skipSpecialTokens && sp_->isControl(static_cast<int>(id))) continue;
    kept.push_back(static_cast<int>(id));
  }
  return sp_->decode(kept);
}

}  // namespace fw::tokenizers
