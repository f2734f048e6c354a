#include "data/glue.h"

#include "data/bad_rows.h"
#include "data/delimited.h"
#include "data/label_set.h"
#include "data/text_fields.h"
#include "util/error.h"
#include "util/files.h"

#include <algorithm>
#include <optional>

namespace fw::data {

namespace {

// Header names (lowercase) that hold each part of a row, original GLUE name first.
struct ColumnNames {
  std::vector<std::string> text, pair, label;
};

struct TaskEntry {
  GlueTaskInfo info;
  ColumnNames columns;
  std::vector<std::string> aliases;  // normalised: lowercase, no '-', '_' or spaces
};

const std::vector<TaskEntry>& taskTable() {
  // Label names and order are Hugging Face's (datasets "glue" ClassLabel), which is also the
  // meaning of GLUE's integer labels.
  static const std::vector<TaskEntry> table = [] {
    const std::vector<std::string> acc{"accuracy"}, f1acc{"f1", "accuracy"};
    const std::vector<std::string> nli2{"entailment", "not_entailment"};
    const std::vector<std::string> mnli{"entailment", "neutral", "contradiction"};
    const ColumnNames mnliColumns{{"sentence1", "premise"}, {"sentence2", "hypothesis"}, {"gold_label", "label"}};
    return std::vector<TaskEntry>{
        {{"CoLA", 2, false, {"matthews_correlation"}, {"unacceptable", "acceptable"}, false},
         {{"sentence"}, {}, {"label"}}, {"cola"}},
        {{"SST-2", 2, false, acc, {"negative", "positive"}, false}, {{"sentence"}, {}, {"label"}}, {"sst2", "sst"}},
        {{"MRPC", 2, false, f1acc, {"not_equivalent", "equivalent"}, true},
         {{"#1 string", "sentence1"}, {"#2 string", "sentence2"}, {"quality", "label"}}, {"mrpc"}},
        {{"STS-B", 1, true, {"pearson", "spearmanr"}, {}, true},
         {{"sentence1"}, {"sentence2"}, {"score", "label"}}, {"stsb", "sts"}},
        {{"QQP", 2, false, f1acc, {"not_duplicate", "duplicate"}, true},
         {{"question1"}, {"question2"}, {"is_duplicate", "label"}}, {"qqp"}},
        {{"MNLI", 3, false, acc, mnli, true}, mnliColumns, {"mnli"}},
        {{"MNLI-m", 3, false, acc, mnli, true}, mnliColumns, {"mnlim", "mnlimatched"}},
        {{"MNLI-mm", 3, false, acc, mnli, true}, mnliColumns, {"mnlimm", "mnlimismatched"}},
        {{"QNLI", 2, false, acc, nli2, true}, {{"question"}, {"sentence"}, {"label"}}, {"qnli"}},
        {{"RTE", 2, false, acc, nli2, true}, {{"sentence1"}, {"sentence2"}, {"label"}}, {"rte"}},
        {{"WNLI", 2, false, acc, {"not_entailment", "entailment"}, true},
         {{"sentence1"}, {"sentence2"}, {"label"}}, {"wnli"}},
    };
  }();
  return table;
}

const TaskEntry& taskEntry(const std::string& name) {
  std::string key;
  for (char c : toLower(name))
    if (c != '-' && c != '_' && c != ' ') key.push_back(c);
  for (const TaskEntry& e : taskTable())
    if (std::find(e.aliases.begin(), e.aliases.end(), key) != e.aliases.end()) return e;
  throw Error("unknown GLUE task").expected("one of " + joinNames(glueTaskNames())).got("'" + name + "'");
}

// Where the parts of a row are: column indices, -1 for a part the file lacks.
struct Layout {
  int text = -1, pair = -1, label = -1;
  size_t columns = 0;
  bool hasHeader = true;
  // A Hugging Face export (an `idx` column: `Dataset.to_csv`, pandas) quotes every field that holds
  // a '"', as `load_dataset("csv")` reads it back; GLUE's own files are QUOTE_NONE, where a '"' is text.
  bool quoted = false;
};

int findColumn(const std::vector<std::string>& header, const std::vector<std::string>& names) {
  for (const std::string& name : names)
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return static_cast<int>(i);
  return -1;
}

std::optional<Layout> detectLayout(const TaskEntry& task, const std::vector<std::string>& rawHeader) {
  std::vector<std::string> header;
  for (const std::string& h : rawHeader) header.push_back(toLower(trim(h)));
  Layout layout;
  layout.columns = header.size();
  layout.text = findColumn(header, task.columns.text);
  layout.pair = task.info.pair ? findColumn(header, task.columns.pair) : -1;
  layout.label = findColumn(header, task.columns.label);
  layout.quoted = findColumn(header, {"idx"}) >= 0;
  if (layout.text >= 0 && (!task.info.pair || layout.pair >= 0)) return layout;
  // CoLA's original train and dev files have no header: source, label, original label, sentence.
  if (task.info.name == "CoLA" && header.size() == 4 && parseInt(header[1]))
    return Layout{3, -1, 1, 4, false};
  return std::nullopt;
}

std::string expectedHeader(const TaskEntry& task) {
  std::string out = "columns " + joinNames(task.columns.text, " or ");
  if (task.info.pair) out += " and " + joinNames(task.columns.pair, " or ");
  out += ", with " + joinNames(task.columns.label, " or ") + " where labelled";
  if (task.info.name == "CoLA") out += " (or CoLA's headerless source, label, original label, sentence)";
  return out;
}

}  // namespace

const std::vector<std::string>& glueTaskNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const TaskEntry& e : taskTable()) out.push_back(e.info.name);
    return out;
  }();
  return names;
}

const GlueTaskInfo& glueTask(const std::string& name) { return taskEntry(name).info; }

Dataset loadGlue(const std::string& taskName, const std::string& tsvPath, const tokenizers::Tokenizer& tok,
                 int64_t maxLength, BadRows policy) {
  const TaskEntry& task = taskEntry(taskName);
  if (maxLength < 0) throw Error("negative max length").got(std::to_string(maxLength));
  const std::string text = readTextFile(tsvPath);

  Dataset ds;
  ds.name = task.info.name;
  ds.source = tsvPath;
  ds.kind = task.info.regression ? TaskKind::Regression : TaskKind::Classification;
  ds.numLabels = task.info.numLabels;
  ds.labelNames = task.info.labelNames;
  const LabelSet labels(task.info.labelNames);

  DelimitedReader reader(text, '\t', false);
  Record record;
  if (!reader.next(record)) throw Error("empty GLUE file, not even a header").file(tsvPath);
  const std::optional<Layout> found = detectLayout(task, record.fields);
  if (!found)
    throw Error("header does not fit GLUE " + task.info.name).file(tsvPath).line(record.line)
        .expected(expectedHeader(task)).got(joinNames(record.fields));
  const Layout layout = *found;
  if (layout.quoted) {
    reader = DelimitedReader(text, '\t', true);
    reader.next(record);  // the header again, as it was read
  }
  const std::string textName = layout.hasHeader ? record.fields[static_cast<size_t>(layout.text)] : "sentence";
  const std::string pairName = layout.pair >= 0 ? record.fields[static_cast<size_t>(layout.pair)] : "";
  const std::string labelName = layout.label < 0 ? "" : layout.hasHeader ? record.fields[static_cast<size_t>(layout.label)] : "label";

  const tokenizers::EncodeOptions encodeOptions{true, static_cast<size_t>(maxLength), 0};
  bool pending = !layout.hasHeader;  // a headerless file's first line is a row
  while (pending || reader.next(record)) {
    pending = false;
    auto bad = [&](const std::string& reason, const std::string& field = "") {
      Error e(reason);
      e.file(tsvPath).line(record.line);
      if (!field.empty()) e.field(field);
      return e;
    };
    // Never skipped: the open quote took every line after it into one field.
    if (!record.error.empty())
      throw bad(record.error).hint("this file has an idx column, so it is read as Hugging Face writes it: a field "
                                   "that starts with '\"' ends at the next '\"' not doubled");
    if (record.fields.size() != layout.columns) {
      rejectRow(ds, policy, bad("wrong column count").expected(std::to_string(layout.columns))
                                .got(std::to_string(record.fields.size())));
      continue;
    }
    const std::string& first = record.fields[static_cast<size_t>(layout.text)];
    const std::string* second = layout.pair >= 0 ? &record.fields[static_cast<size_t>(layout.pair)] : nullptr;
    if (auto problem = textProblem(first)) { rejectRow(ds, policy, bad(*problem, textName)); continue; }
    if (second)
      if (auto problem = textProblem(*second)) { rejectRow(ds, policy, bad(*problem, pairName)); continue; }

    Example ex;
    const std::string_view labelField = layout.label >= 0 ? trim(record.fields[static_cast<size_t>(layout.label)]) : "";
    const auto integral = parseIntegral(labelField);
    if (labelField.empty() || (integral && *integral == -1)) {
      ex.hasLabel = false;  // test split
    } else if (task.info.regression) {
      const auto score = parseDouble(labelField);
      if (!score) {
        rejectRow(ds, policy, bad("non-numeric label", labelName).got("'" + std::string(labelField) + "'"));
        continue;
      }
      if (*score < 0 || *score > 5) {
        rejectRow(ds, policy, bad("label outside the label set", labelName).expected("a score from 0 to 5")
                                  .got(std::string(labelField)));
        continue;
      }
      ex.target = *score;
    } else if (const auto index = labels.find(labelField)) {
      ex.label = *index;
    } else {
      const char* reason = parseDouble(labelField) ? "label outside the label set" : "non-numeric label";
      rejectRow(ds, policy, bad(reason, labelName).expected(labels.describe()).got(std::string(labelField)));
      continue;
    }

    tokenizers::Encoding enc = tok.encode(first, second, encodeOptions);
    ex.ids = std::move(enc.ids);
    ex.typeIds = std::move(enc.typeIds);
    ds.examples.push_back(std::move(ex));
  }
  return ds;
}

}  // namespace fw::data
