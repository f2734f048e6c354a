#include "tokenizers/hf_config.h"

#include "util/files.h"
#include "util/error.h"

namespace fw::tokenizers {

namespace {

using json = nlohmann::json;

// A special token is stored as "[PAD]" or as {"content": "[PAD]", ...}.
std::string tokenContent(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string())
    return value["content"].get<std::string>();
  return {};
}

}  // namespace

void checkTokenId(int64_t id, const std::string& path, const std::string& field) {
  if (id < 0 || id > kMaxTokenId)
    throw Error("token id out of range").file(path).field(field)
        .expected("0 to " + std::to_string(kMaxTokenId)).got(std::to_string(id));
}

namespace {

const json* optionalMember(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string memberField(const std::string& field, const char* key) {
  return field.empty() ? std::string(key) : field + "." + key;
}

}  // namespace

bool optionalBool(const json& obj, const char* key, bool fallback, const std::string& path, const std::string& field) {
  const json* v = optionalMember(obj, key);
  if (!v) return fallback;
  if (!v->is_boolean())
    throw Error("not a boolean").file(path).field(memberField(field, key)).expected("true or false").got(v->dump());
  return v->get<bool>();
}

std::string optionalString(const json& obj, const char* key, const std::string& fallback, const std::string& path,
                           const std::string& field) {
  const json* v = optionalMember(obj, key);
  if (!v) return fallback;
  if (!v->is_string())
    throw Error("not a string").file(path).field(memberField(field, key)).expected("a string").got(v->dump());
  return v->get<std::string>();
}

std::string folderOf(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

std::vector<AddedToken> parseAddedTokens(const json& j, const std::string& path) {
  std::vector<AddedToken> out;
  const auto it = j.find("added_tokens");
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) throw Error("added_tokens is not a list").file(path).field("added_tokens");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& t = (*it)[i];
    const std::string field = "added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() || !t.contains("content") ||
        !t["content"].is_string())
      throw Error("malformed added token").file(path).field(field).expected("an object with id and content");
    AddedToken a;
    a.id = t["id"].get<int64_t>();
    checkTokenId(a.id, path, field + ".id");
    a.content = t["content"].get<std::string>();
    a.singleWord = optionalBool(t, "single_word", false, path, field);
    a.lstrip = optionalBool(t, "lstrip", false, path, field);
    a.rstrip = optionalBool(t, "rstrip", false, path, field);
    a.special = optionalBool(t, "special", false, path, field);
    a.normalized = optionalBool(t, "normalized", !a.special, path, field);
    out.push_back(std::move(a));
  }
  return out;
}

std::string ClassicConfig::specialToken(const char* key) const {
  const auto it = config.find(key);
  return it == config.end() ? std::string() : tokenContent(*it);
}

ClassicConfig readClassicConfig(const std::string& folder) {
  ClassicConfig c;
  c.config = readOptionalJsonFile(folder + "tokenizer_config.json");
  if (!c.config.is_object()) c.config = json::object();
  const json map = readOptionalJsonFile(folder + "special_tokens_map.json");
  if (map.is_object())
    for (auto it = map.begin(); it != map.end(); ++it)
      if (!c.config.contains(it.key()) || c.config[it.key()].is_null()) c.config[it.key()] = it.value();

  const std::string configPath = folder + "tokenizer_config.json";
  if (c.config.contains("added_tokens_decoder") && c.config["added_tokens_decoder"].is_object()) {
    for (auto it = c.config["added_tokens_decoder"].begin(); it != c.config["added_tokens_decoder"].end(); ++it) {
      AddedToken a;
      const std::string field = "added_tokens_decoder." + it.key();
      try {
        a.id = std::stoll(it.key());
      } catch (const std::exception&) {
        throw Error("added_tokens_decoder key is not an id").file(configPath)
            .field("added_tokens_decoder").got(it.key());
      }
      checkTokenId(a.id, configPath, field);
      a.content = tokenContent(it.value());
      if (it.value().is_object()) {
        a.singleWord = optionalBool(it.value(), "single_word", false, configPath, field);
        a.lstrip = optionalBool(it.value(), "lstrip", false, configPath, field);
        a.rstrip = optionalBool(it.value(), "rstrip", false, configPath, field);
        a.special = optionalBool(it.value(), "special", true, configPath, field);
        a.normalized = optionalBool(it.value(), "normalized", !a.special, configPath, field);
      }
      c.addedTokens.push_back(std::move(a));
    }
  }
  const json extra = readOptionalJsonFile(folder + "added_tokens.json");  // older transformers
  if (extra.is_object())
    for (auto it = extra.begin(); it != extra.end(); ++it)
      if (it.value().is_number_integer()) {
        AddedToken a;
        a.content = it.key();
        a.id = it.value().get<int64_t>();
        checkTokenId(a.id, folder + "added_tokens.json", it.key());
        a.special = false;
        a.normalized = true;
        c.addedTokens.push_back(std::move(a));
      }
  return c;
}

}  // namespace fw::tokenizers
