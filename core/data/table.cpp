#include "data/table.h"

#include "data/bad_rows.h"
#include "data/delimited.h"
#include "data/label_set.h"
#include "data/text_fields.h"
#include "util/error.h"
#include "util/files.h"
#include "util/json_depth.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <optional>
#include <set>

namespace fw::data {

namespace {

// One row that passed the per-row checks; its label is resolved once all rows are read,
// because an inferred label set depends on every row.
struct RawRow {
  int64_t line = 0;
  std::string text, pair;
  std::optional<std::string> label;  // nothing: no label
  std::string boolName;              // a JSON true or false ("true", "false"), whose label is "1" or "0"
};

std::string fileStem(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = name.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

// Empty is "no label" everywhere; -1 only in classification (a regression target may be -1),
// and not where an explicit label list names it ("-1", "0", "1" as classes).
bool isMissingLabel(std::string_view field, TaskKind kind, const LabelSet* explicitLabels) {
  field = trim(field);
  if (field.empty()) return true;
  if (kind == TaskKind::Regression) return false;
  const auto integral = parseIntegral(field);
  return integral && *integral == -1 && !(explicitLabels && explicitLabels->find(field));
}

class TableReader {
public:
  TableReader(const std::string& path, const ColumnMapping& columns, const TableOptions& options,
              const LabelSet* explicitLabels, Dataset& ds)
      : path_(path), columns_(columns), options_(options), explicitLabels_(explicitLabels), ds_(ds) {}

  std::vector<RawRow> read(TableFormat format) {
    const std::string text = readTextFile(path_);
    if (format == TableFormat::Jsonl) readJsonl(text);
    else readDelimited(text, format == TableFormat::Csv ? ',' : '\t',
                       format == TableFormat::Csv || options_.tsvQuoting);
    return std::move(rows_);
  }

  int64_t minusOnes() const { return minusOnes_; }  // rows whose -1 was read as "no label"

  Error bad(int64_t line, const std::string& reason, const std::string& field = "") const {
    Error e(reason);
    e.file(path_).line(line);
    if (!field.empty()) e.field(field);
    return e;
  }

private:
  // Checks the texts and keeps the row, or rejects it.
  void keep(RawRow row) {
    if (auto problem = textProblem(row.text)) return rejectRow(ds_, options_.badRows, bad(row.line, *problem, columns_.text));
    if (!columns_.textPair.empty())
      if (auto problem = textProblem(row.pair))
        return rejectRow(ds_, options_.badRows, bad(row.line, *problem, columns_.textPair));
    if (row.label && isMissingLabel(*row.label, options_.kind, explicitLabels_)) {
      if (!trim(*row.label).empty()) ++minusOnes_;  // a -1 (an empty field is not counted)
      row.label.reset();
    }
    rows_.push_back(std::move(row));
  }

  void readDelimited(const std::string& text, char delimiter, bool quoting) {
    DelimitedReader reader(text, delimiter, quoting);
    Record record;
    std::vector<std::string> header;
    bool pending = false;  // without a header, the first record is a row
    if (!reader.next(record)) return;
    if (options_.header) {
      for (const std::string& h : record.fields) header.push_back(std::string(trim(h)));
    } else {
      for (size_t i = 0; i < record.fields.size(); ++i) header.push_back(std::to_string(i));
      pending = true;
    }
    auto column = [&](const std::string& name) -> int {
      if (name.empty()) return -1;
      const auto it = std::find(header.begin(), header.end(), name);
      if (it == header.end())
        throw Error("column not found").file(path_).field(name).expected("one of " + joinNames(header))
            .hint(options_.header ? "the column mapping names header columns" : "without a header, columns are named 0, 1, ...");
      return static_cast<int>(it - header.begin());
    };
    const int textCol = column(columns_.text), pairCol = column(columns_.textPair), labelCol = column(columns_.label);

    while (pending || reader.next(record)) {
      pending = false;
      if (!record.error.empty()) { rejectRow(ds_, options_.badRows, bad(record.line, record.error)); continue; }
      if (record.fields.size() != header.size()) {
        rejectRow(ds_, options_.badRows, bad(record.line, "wrong column count").expected(std::to_string(header.size()))
                                             .got(std::to_string(record.fields.size())));
        continue;
      }
      RawRow row;
      row.line = record.line;
      row.text = record.fields[static_cast<size_t>(textCol)];
      if (pairCol >= 0) row.pair = record.fields[static_cast<size_t>(pairCol)];
      if (labelCol >= 0) row.label = record.fields[static_cast<size_t>(labelCol)];
      keep(std::move(row));
    }
  }

  void readJsonl(const std::string& text) {
    int64_t line = 0;
    size_t pos = 0;
    const std::string_view all = stripBom(text);
    while (pos < all.size()) {
      const size_t end = std::min(all.find('\n', pos), all.size());
      const std::string_view content = trim(all.substr(pos, end - pos));
      pos = end + 1;
      ++line;
      if (content.empty()) continue;
      const nlohmann::json object = nlohmann::json::parse(content.begin(), content.end(), nullptr, false);
      if (!object.is_discarded() && jsonDeeperThan(object)) {  // its message would print it
        rejectRow(ds_, options_.badRows, bad(line, jsonTooDeepReason()));
        continue;
      }
      if (object.is_discarded() || !object.is_object()) {
        rejectRow(ds_, options_.badRows, bad(line, object.is_discarded() ? "invalid JSON" : "not a JSON object"));
        continue;
      }
      RawRow row;
      row.line = line;
      if (!textField(object, columns_.text, line, row.text)) continue;
      if (!columns_.textPair.empty() && !textField(object, columns_.textPair, line, row.pair)) continue;
      if (!columns_.label.empty()) {
        const auto it = object.find(columns_.label);
        if (it != object.end() && !it->is_null()) {
          if (it->is_string()) row.label = it->get<std::string>();
          else if (it->is_boolean()) {
            row.label = it->get<bool>() ? "1" : "0";
            row.boolName = it->get<bool>() ? "true" : "false";
          }
          // Integers as written (get<int64_t> would wrap one above 2^63 to a negative, -1 being
          // "no label"), other numbers in their shortest round-trip form.
          else if (it->is_number()) row.label = it->dump();
          else {
            rejectRow(ds_, options_.badRows, bad(line, "non-numeric label", columns_.label).got(it->dump()));
            continue;
          }
        }
      }
      keep(std::move(row));
    }
  }

  bool textField(const nlohmann::json& object, const std::string& key, int64_t line, std::string& out) {
    const auto it = object.find(key);
    if (it == object.end() || !it->is_string()) {
      rejectRow(ds_, options_.badRows,
                bad(line, it == object.end() ? "missing field" : "field is not a string", key)
                    .got(it == object.end() ? "keys " + keysOf(object) : it->dump()));
      return false;
    }
    out = it->get<std::string>();
    return true;
  }

  static std::string keysOf(const nlohmann::json& object) {
    std::vector<std::string> keys;
    for (auto it = object.begin(); it != object.end(); ++it) keys.push_back(it.key());
    return keys.empty() ? std::string("none") : joinNames(keys);
  }

  const std::string& path_;
  const ColumnMapping& columns_;
  const TableOptions& options_;
  const LabelSet* explicitLabels_;  // options_.labels, or nothing when inferred
  Dataset& ds_;
  std::vector<RawRow> rows_;
  int64_t minusOnes_ = 0;
};

// The label set inferred from the rows: integers as they are when all labels are non-negative
// integers, else the sorted distinct strings. `minusOnes` rows had -1, read as "no label".
std::vector<std::string> inferLabelNames(const std::vector<RawRow>& rows, int64_t minusOnes, const std::string& path,
                                         const std::string& column) {
  std::set<std::string> distinct;
  bool integers = true, zero = false;
  int64_t maxIndex = -1;
  for (const RawRow& row : rows) {
    if (!row.label) continue;
    const std::string label(trim(*row.label));
    distinct.insert(label);
    const auto index = parseIntegral(label);
    zero = zero || (index && *index == 0);
    if (index && *index >= 0) maxIndex = std::max(maxIndex, *index);
    else if (!index) integers = false;  // negative integers are rejected as out of the set below
  }
  std::vector<std::string> names;
  if (integers) {
    // A class index in the millions is a wrong column, not a label set.
    constexpr int64_t kMaxClasses = 1 << 20;
    if (maxIndex >= kMaxClasses)
      throw Error("integer labels imply too many classes").file(path).field(column)
          .expected("at most " + std::to_string(kMaxClasses)).got(std::to_string(maxIndex + 1))
          .hint("check the label column, or pass the label list");
    // -1 is "no label" (Hugging Face's convention: SNLI's rows without a gold label), but with
    // no 0 beside it the labels are -1 and 1 (to N): read as "no label", such a file would train
    // on one side alone, silently.
    if (minusOnes > 0 && maxIndex >= 1 && !zero)
      throw Error("-1 reads as \"no label\", and no row has the class 0").file(path).field(column)
          .got(std::to_string(minusOnes) + " rows of -1, beside classes 1 to " + std::to_string(maxIndex))
          .hint("if -1 is a class, list the classes in the dataset's \"labels\", such as [\"-1\", \"1\"]");
    for (int64_t i = 0; i <= maxIndex; ++i) names.push_back(std::to_string(i));
  } else {
    names.assign(distinct.begin(), distinct.end());
  }
  return names;
}

}  // namespace

TableFormat tableFormatFor(const std::string& path) {
  const size_t dot = path.find_last_of('.');
  const std::string ext = dot == std::string::npos ? "" : toLower(path.substr(dot + 1));
  if (ext == "csv") return TableFormat::Csv;
  if (ext == "tsv" || ext == "tab") return TableFormat::Tsv;
  if (ext == "jsonl" || ext == "ndjson") return TableFormat::Jsonl;
  throw Error("cannot tell the table format from the file name").file(path)
      .expected(".csv, .tsv, .tab, .jsonl or .ndjson").hint("set the format explicitly");
}

Dataset loadTable(const std::string& path, const ColumnMapping& columns, const tokenizers::Tokenizer& tok,
                  const TableOptions& options) {
  if (columns.text.empty()) throw Error("the column mapping names no text column").file(path).field("text");
  if (options.kind != TaskKind::Classification && options.kind != TaskKind::Regression)
    throw Error("a table holds classification or regression data").file(path).got(taskKindName(options.kind));
  if (options.maxLength < 0) throw Error("negative max length").file(path).got(std::to_string(options.maxLength));
  const TableFormat format = options.format == TableFormat::Auto ? tableFormatFor(path) : options.format;

  Dataset ds;
  ds.name = options.name.empty() ? fileStem(path) : options.name;
  ds.source = path;
  ds.kind = options.kind;
  const bool regression = options.kind == TaskKind::Regression;
  std::optional<LabelSet> labels;
  if (!regression && !options.labels.empty()) labels.emplace(options.labels);
  TableReader reader(path, columns, options, labels ? &*labels : nullptr, ds);
  std::vector<RawRow> rows = reader.read(format);

  if (regression) {
    ds.numLabels = 1;
  } else {
    if (!labels) labels.emplace(inferLabelNames(rows, reader.minusOnes(), path, columns.label));
    ds.labelNames = labels->names();
    ds.numLabels = labels->size();
  }

  // A JSON true is the class named "true" where the list has one, else class 1.
  auto classOf = [&](const RawRow& row) {
    if (!row.boolName.empty())
      if (auto named = labels->find(row.boolName)) return named;
    return labels->find(*row.label);
  };
  const tokenizers::EncodeOptions encodeOptions{true, static_cast<size_t>(options.maxLength), 0};
  ds.examples.reserve(rows.size());
  for (const RawRow& row : rows) {
    Example ex;
    if (!row.label) {
      ex.hasLabel = false;
      if (regression) ex.target = std::numeric_limits<double>::quiet_NaN();  // what the batcher sends
    } else if (regression) {
      const auto value = parseDouble(*row.label);
      if (!value) {
        rejectRow(ds, options.badRows, reader.bad(row.line, "non-numeric label", columns.label).got("'" + *row.label + "'"));
        continue;
      }
      ex.target = *value;
    } else if (const auto index = classOf(row)) {
      ex.label = *index;
    } else {
      // Only an explicit list or negative integers can leave a label outside the set.
      rejectRow(ds, options.badRows, reader.bad(row.line, "label outside the label set", columns.label)
                                         .expected(labels->describe())
                                         .got(row.boolName.empty() ? std::string(trim(*row.label)) : row.boolName));
      continue;
    }
    tokenizers::Encoding enc = tok.encode(row.text, columns.textPair.empty() ? nullptr : &row.pair, encodeOptions);
    ex.ids = std::move(enc.ids);
    ex.typeIds = std::move(enc.typeIds);
    ds.examples.push_back(std::move(ex));
  }
  return ds;
}

}  // namespace fw::data
