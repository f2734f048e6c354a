#include "tokenizers/post_processor.h"

#include "tokenizers/hf_config.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

namespace fw::tokenizers {

namespace {

using json = nlohmann::json;

// A template piece's type_id: absent means 0; otherwise an integer in Hugging Face's range (u32).
// nlohmann's value() converted a float such as 9.2e19 to int64_t, which is undefined behaviour
// (found by fuzzing).
int64_t typeIdOf(const json& piece, const std::string& file, const std::string& field) {
  if (!piece.is_object()) throw Error("template piece is not an object").file(file).field(field).got(piece.dump());
  const auto it = piece.find("type_id");
  if (it == piece.end() || it->is_null()) return 0;
  if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > int64_t{0xFFFFFFFF})
    throw Error("type_id is not an integer from 0 to 4294967295").file(file).field(field + ".type_id").got(it->dump());
  return it->get<int64_t>();
}

PostProcessor::Item special(const std::string& token, int64_t id, int64_t typeId) {
  PostProcessor::Item item;
  item.ids = {id};
  item.tokens = {token};
  item.typeId = typeId;
  return item;
}

PostProcessor::Item sequence(int which, int64_t typeId) {
  PostProcessor::Item item;
  item.sequence = which;
  item.typeId = typeId;
  return item;
}

// BertProcessing / RobertaProcessing store tokens as ["[CLS]", 101].
std::pair<std::string, int64_t> tokenPair(const json& spec, const char* key, const std::string& file) {
  const auto it = spec.find(key);
  if (it == spec.end() || !it->is_array() || it->size() != 2 || !(*it)[0].is_string() ||
      !(*it)[1].is_number_integer())
    throw Error("malformed post-processor token").file(file).field(std::string("post_processor.") + key)
        .expected("[\"token\", id]");
  return {(*it)[0].get<std::string>(), (*it)[1].get<int64_t>()};
}

std::vector<PostProcessor::Item> parseTemplate(const json& spec, const char* key, const json& specials,
                                               const std::string& file) {
  const std::string field = std::string("post_processor.") + key;
  const auto it = spec.find(key);
  if (it == spec.end() || !it->is_array())
    throw Error("missing template").file(file).field(field).expected("a list of pieces");
  std::vector<PostProcessor::Item> items;
  for (const json& piece : *it) {
    if (piece.contains("Sequence")) {
      const json& s = piece["Sequence"];
      const int64_t typeId = typeIdOf(s, file, field + ".Sequence");
      const std::string id = optionalString(s, "id", "A", file, field + ".Sequence");
      if (id != "A" && id != "B")
        throw Error("unknown sequence in template").file(file).field(field).expected("A or B").got(id);
      // A single sequence has no B to put there (found by fuzzing: it was read through a null pointer).
      if (id == "B" && std::string(key) == "single")
        throw Error("the single-sequence template refers to the second sequence").file(file).field(field)
            .expected("only sequence A (B belongs in the pair template)").got(id);
      items.push_back(sequence(id == "A" ? 0 : 1, typeId));
    } else if (piece.contains("SpecialToken")) {
      const json& s = piece["SpecialToken"];
      const int64_t typeId = typeIdOf(s, file, field + ".SpecialToken");
      const std::string id = optionalString(s, "id", "", file, field + ".SpecialToken");
      if (!specials.is_object() || !specials.contains(id))
        throw Error("template names a special token that special_tokens does not define")
            .file(file).field(field).got(id);
      const json& def = specials[id];
      PostProcessor::Item item;
      const std::string defField = "post_processor.special_tokens." + id;
      const json ids = def.is_object() ? def.value("ids", json::array()) : json();
      const json tokens = def.is_object() ? def.value("tokens", json::array()) : json();
      if (!ids.is_array() || !tokens.is_array())
        throw Error("special token needs lists of ids and tokens").file(file).field(defField).got(def.dump());
      for (const json& v : ids) {
        if (!v.is_number_integer()) throw Error("special token id is not an integer").file(file).field(defField + ".ids").got(v.dump());
        checkTokenId(v.get<int64_t>(), file, defField + ".ids");
        item.ids.push_back(v.get<int64_t>());
      }
      for (const json& v : tokens) {
        if (!v.is_string()) throw Error("special token is not a string").file(file).field(defField + ".tokens").got(v.dump());
        item.tokens.push_back(v.get<std::string>());
      }
      if (item.ids.size() != item.tokens.size())
        throw Error("special token has different numbers of ids and tokens")
            .file(file).field("post_processor.special_tokens." + id);
      item.typeId = typeId;
      items.push_back(std::move(item));
    } else {
      throw Error("unknown template piece").file(file).field(field).got(piece.dump())
          .expected("Sequence or SpecialToken");
    }
  }
  return items;
}

}  // namespace

PostProcessor PostProcessor::fromTemplate(std::vector<Item> single, std::vector<Item> pair) {
  PostProcessor p;
  p.hasTemplate_ = true;
  p.single_ = std::move(single);
  p.pair_ = std::move(pair);
  return p;
}

PostProcessor PostProcessor::bert(const std::string& cls, int64_t clsId, const std::string& sep,
                                  int64_t sepId) {
  return fromTemplate({special(cls, clsId, 0), sequence(0, 0), special(sep, sepId, 0)},
                      {special(cls, clsId, 0), sequence(0, 0), special(sep, sepId, 0), sequence(1, 1),
                       special(sep, sepId, 1)});
}

PostProcessor PostProcessor::roberta(const std::string& cls, int64_t clsId, const std::string& sep,
                                     int64_t sepId) {
  // RoBERTa sets every type id to 0, the second text's included.
  return fromTemplate({special(cls, clsId, 0), sequence(0, 0), special(sep, sepId, 0)},
                      {special(cls, clsId, 0), sequence(0, 0), special(sep, sepId, 0),
                       special(sep, sepId, 0), sequence(1, 0), special(sep, sepId, 0)});
}

PostProcessor PostProcessor::fromJson(const json& spec, const std::string& file) {
  if (spec.is_null()) return {};
  if (!spec.is_object()) throw Error("post_processor is not an object").file(file).field("post_processor");
  const std::string type = optionalString(spec, "type", "", file, "post_processor");
  if (type == "TemplateProcessing") {
    const json specials = spec.value("special_tokens", json::object());
    return fromTemplate(parseTemplate(spec, "single", specials, file),
                        parseTemplate(spec, "pair", specials, file));
  }
  if (type == "BertProcessing") {
    const auto cls = tokenPair(spec, "cls", file), sep = tokenPair(spec, "sep", file);
    return bert(cls.first, cls.second, sep.first, sep.second);
  }
  if (type == "RobertaProcessing") {
    const auto cls = tokenPair(spec, "cls", file), sep = tokenPair(spec, "sep", file);
    return roberta(cls.first, cls.second, sep.first, sep.second);
  }
  if (type == "ByteLevel") return {};  // only trims offsets, which we do not keep
  if (type == "Sequence") {
    // Sequences inside sequences: a hostile file could nest them until the stack runs out.
    static thread_local int depth = 0;
    if (depth >= 8)
      throw Error("post_processor Sequences are nested too deeply").file(file).field("post_processor")
          .expected("at most 8 levels");
    ++depth;
    struct Leave {
      ~Leave() { --depth; }
    } leave;
    // e.g. [ByteLevel, TemplateProcessing]: the one that adds tokens decides.
    PostProcessor result;
    for (const json& inner : spec.value("processors", json::array())) {
      PostProcessor p = fromJson(inner, file);
      if (p.hasTemplate_) {
        if (result.hasTemplate_)
          throw Error("more than one post-processor adds special tokens").file(file).field("post_processor");
        result = std::move(p);
      }
    }
    return result;
  }
  throw Error("unsupported post-processor").file(file).field("post_processor.type").got(type)
      .expected("TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence or null");
}

size_t PostProcessor::addedTokens(bool pair) const {
  size_t n = 0;
  for (const Item& item : pair ? pair_ : single_)
    if (item.sequence < 0) n += item.ids.size();
  return n;
}

Encoding PostProcessor::apply(Encoding a, const Encoding* b, bool addSpecialTokens) const {
  if (!hasTemplate_) {
    std::fill(a.typeIds.begin(), a.typeIds.end(), 0);
    if (b) {
      const size_t start = a.size();
      a.append(*b);
      std::fill(a.typeIds.begin() + static_cast<long>(start), a.typeIds.end(), 1);
    }
    return a;
  }
  Encoding out;
  out.ids.reserve(a.size() + (b ? b->size() : 0) + 4);
  for (const Item& item : b ? pair_ : single_) {
    if (item.sequence >= 0) {
      const Encoding& part = item.sequence == 0 ? a : *b;
      const size_t start = out.size();
      out.append(part);
      // The template's type id wins, even without special tokens (as in Hugging Face).
      std::fill(out.typeIds.begin() + static_cast<long>(start), out.typeIds.end(), item.typeId);
    } else if (addSpecialTokens) {
      for (size_t k = 0; k < item.ids.size(); ++k) out.push(item.ids[k], item.tokens[k], item.typeId);
    }
  }
  return out;
}

}  // namespace fw::tokenizers
