#include "data/instructions.h"

#include "data/bad_rows.h"
#include "data/text_fields.h"
#include "util/error.h"
#include "util/files.h"
#include "util/json_depth.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace fw::data {

namespace {

// Byte offsets where the elements of a top-level JSON array start. The text has already
// parsed, so only strings (which may hold brackets) need care.
std::vector<size_t> arrayElementOffsets(std::string_view text) {
  std::vector<size_t> offsets;
  int depth = 0;
  bool inString = false, escaped = false, expectElement = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') inString = false;
      continue;
    }
    if (depth == 1 && expectElement && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != ']') {
      offsets.push_back(i);
      expectElement = false;
    }
    if (c == '"') inString = true;
    else if (c == '[' || c == '{') expectElement = ++depth == 1;
    else if (c == ']' || c == '}') --depth;
    else if (c == ',' && depth == 1) expectElement = true;
  }
  return offsets;
}

std::string fileStem(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = name.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

}  // namespace

const PromptTemplate& alpacaTemplate() {
  static const PromptTemplate alpaca{
      "Below is an instruction that describes a task, paired with an input that provides further context. "
      "Write a response that appropriately completes the request.\n\n"
      "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:",
      "Below is an instruction that describes a task. "
      "Write a response that appropriately completes the request.\n\n"
      "### Instruction:\n{instruction}\n\n### Response:"};
  return alpaca;
}

std::string formatPrompt(const PromptTemplate& prompt, const std::string& instruction, const std::string& input) {
  const std::string& pattern = input.empty() ? prompt.withoutInput : prompt.withInput;
  static const std::string kInstruction = "{instruction}", kInput = "{input}";
  std::string out;
  out.reserve(pattern.size() + instruction.size() + input.size());
  for (size_t i = 0; i < pattern.size();) {
    if (pattern.compare(i, kInstruction.size(), kInstruction) == 0) {
      out += instruction;
      i += kInstruction.size();
    } else if (pattern.compare(i, kInput.size(), kInput) == 0) {
      out += input;
      i += kInput.size();
    } else {
      out.push_back(pattern[i++]);
    }
  }
  return out;
}

Example encodeInstruction(const tokenizers::Tokenizer& tok, const std::string& prompt, const std::string& output,
                          int64_t maxLength) {
  const auto eos = tok.eosId();
  if (!eos) throw Error("the tokenizer has no end-of-text token to end each response").file(tok.source());
  // Stanford Alpaca's train.py: the prompt and the response are one text, tokenized once (so the
  // first response token merges as it would in running text: GPT-2's "ĠParis" after a template
  // ending in a space, no second "▁" with SentencePiece), and the prompt is masked by the length
  // of the prompt tokenized on its own.
  const size_t promptLen = tok.encode(prompt, nullptr, {true, 0, 0}).ids.size();
  if (maxLength > 0 && promptLen >= static_cast<size_t>(maxLength))
    throw Error("the prompt leaves no room for the response within max length")
        .expected("fewer than " + std::to_string(maxLength) + " prompt tokens").got(std::to_string(promptLen));

  Example ex;
  ex.ids = tok.encode(prompt + output, nullptr, {true, 0, 0}).ids;
  ex.ids.push_back(*eos);
  ex.lmLabels = ex.ids;
  std::fill(ex.lmLabels.begin(), ex.lmLabels.begin() + static_cast<long>(std::min(promptLen, ex.lmLabels.size())), -100);
  if (maxLength > 0 && ex.ids.size() > static_cast<size_t>(maxLength)) {
    ex.ids.resize(static_cast<size_t>(maxLength));
    ex.lmLabels.resize(static_cast<size_t>(maxLength));
  }
  return ex;
}

Dataset loadInstructions(const std::string& path, const tokenizers::Tokenizer& tok, const InstructionOptions& options) {
  if (options.maxLength < 0) throw Error("negative max length").file(path).got(std::to_string(options.maxLength));
  if (!tok.eosId()) throw Error("the tokenizer has no end-of-text token to end each response").file(tok.source());
  const std::string text = readTextFile(path);
  const std::string_view body = trim(stripBom(text));

  // Records with the line each starts on: a JSON array, or JSONL when the file starts with '{'.
  std::vector<std::pair<nlohmann::json, int64_t>> records;
  Dataset ds;
  ds.name = options.name.empty() ? fileStem(path) : options.name;
  ds.source = path;
  ds.kind = TaskKind::CausalLM;
  if (!body.empty() && body.front() == '{') {
    int64_t line = 0;
    for (size_t pos = 0; pos < text.size();) {
      const size_t end = std::min(text.find('\n', pos), text.size());
      const std::string_view content = trim(stripBom(std::string_view(text).substr(pos, end - pos)));
      pos = end + 1;
      ++line;
      if (content.empty()) continue;
      nlohmann::json record = nlohmann::json::parse(content.begin(), content.end(), nullptr, false);
      if (record.is_discarded() || jsonDeeperThan(record)) {
        rejectRow(ds, options.badRows, Error(record.is_discarded() ? "invalid JSON" : jsonTooDeepReason()).file(path).line(line));
        continue;
      }
      records.emplace_back(std::move(record), line);
    }
  } else {
    nlohmann::json all = readJsonFile(path);  // a syntax error names the line
    if (!all.is_array())
      throw Error("instruction data must be a JSON array of records (or JSONL)").file(path)
          .got(std::string("a JSON ") + all.type_name());
    const std::vector<size_t> offsets = arrayElementOffsets(text);
    int64_t line = 1;
    size_t counted = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      // Lines only grow, so count newlines once over the whole file.
      const size_t at = i < offsets.size() ? offsets[i] : counted;
      line += std::count(text.begin() + static_cast<long>(counted), text.begin() + static_cast<long>(at), '\n');
      counted = at;
      records.emplace_back(std::move(all[i]), line);
    }
  }

  const InstructionFields& f = options.fields;
  for (size_t i = 0; i < records.size(); ++i) {
    // Not a structured binding: C++17 lambdas may not capture one (clang rejects it).
    const nlohmann::json& record = records[i].first;
    const int64_t line = records[i].second;
    const std::string where = "[" + std::to_string(i) + "]";
    auto bad = [&](const std::string& reason, const std::string& field) {
      return Error(reason).file(path).line(line).field(where + (field.empty() ? "" : "." + field));
    };
    if (!record.is_object()) {
      rejectRow(ds, options.badRows, bad("record is not a JSON object", "").got(std::string("a JSON ") + record.type_name()));
      continue;
    }
    // A string field, "" when missing and optional; the reason when it does not fit.
    auto stringField = [&](const std::string& key, bool required, std::string& out) -> std::optional<std::string> {
      const auto it = record.find(key);
      if (it == record.end() || it->is_null()) {
        if (required) return std::string("missing field");
        out.clear();
        return std::nullopt;
      }
      if (!it->is_string()) return "field is not a string, got " + it->dump();
      out = it->get<std::string>();
      if (required) return textProblem(out);
      if (auto problem = textProblem(out); problem && *problem != "empty text") return problem;
      return std::nullopt;
    };
    std::string instruction, input, output;
    std::optional<std::string> problem;
    std::string field;
    if ((problem = stringField(f.instruction, true, instruction))) field = f.instruction;
    else if ((problem = stringField(f.input, false, input))) field = f.input;
    else if ((problem = stringField(f.output, true, output))) field = f.output;
    if (problem) {
      rejectRow(ds, options.badRows, bad(*problem, field));
      continue;
    }
    try {
      ds.examples.push_back(encodeInstruction(tok, formatPrompt(options.prompt, instruction, input), output,
                                              options.maxLength));
    } catch (const Error& e) {
      rejectRow(ds, options.badRows, bad(e.what(), ""));
    }
  }
  return ds;
}

}  // namespace fw::data
