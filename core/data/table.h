#pragma once
// Text classification and regression from a table: CSV (RFC 4180 quoting), TSV, or JSONL (one
// JSON object per line), with the columns (or JSON keys) named by a ColumnMapping.
// Labels:
//   regression: a number per row;
//   classification with options.labels: a name from that list; an integer ("1", "1.0") is the
//   name of that value when the names are numbers (1 to 5 stars), else the index; a JSON true
//   or false is the name "true" or "false" where the list has it, else 1 or 0;
//   classification without: integers 0..max as they are (numLabels = max + 1), otherwise the
//   sorted set of the label strings found (names in byte order, index = position).
// "No label" (hasLabel = false): an empty or missing label or JSON null; in classification also
// -1 (GLUE's test-split convention, SNLI's rows without a gold label) unless options.labels names
// it. Without options.labels, -1 beside classes 1 to N and no 0 is refused as ambiguous (a
// -1/+1 file would lose a class). In regression -1 is a value like any other. A JSONL line
// that does not parse (invalid UTF-8 included) is a bad row.
// An evaluation file read on its own infers its own label set; data::adoptTrainingLabels
// (data/label_set.h) re-numbers it by name to the training set's.
#include "data/example.h"
#include "tokenizers/tokenizer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fw::data {

enum class TableFormat { Auto, Csv, Tsv, Jsonl };

// Header names (CSV/TSV) or keys (JSONL); without a header, CSV/TSV columns are named "0", "1"...
struct ColumnMapping {
  std::string text;      // required
  std::string textPair;  // optional second text
  std::string label;     // optional; empty: no labels (a prediction set)
};

struct TableOptions {
  TableFormat format = TableFormat::Auto;   // Auto: .csv, .tsv/.tab, .jsonl/.ndjson by extension
  TaskKind kind = TaskKind::Classification;  // Classification or Regression
  std::vector<std::string> labels;          // explicit label set in class order; empty: inferred
  bool header = true;                       // CSV/TSV: the first record names the columns
  bool tsvQuoting = false;                  // TSV: honour CSV-style quotes (pandas writes them)
  int64_t maxLength = 0;                    // truncation including special tokens; 0: none
  BadRows badRows = BadRows::Fail;
  std::string name;                         // default: the file name without extension
};

TableFormat tableFormatFor(const std::string& path);  // by extension; throws for an unknown one

// Throws fw::Error naming the file when a mapped column is not in the header (listing those
// that are), and for bad rows under BadRows::Fail (naming file and line).
Dataset loadTable(const std::string& path, const ColumnMapping& columns, const tokenizers::Tokenizer& tok,
                  const TableOptions& options = {});

}  // namespace fw::data
