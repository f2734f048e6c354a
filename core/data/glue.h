#pragma once
// GLUE tasks from their TSV files, in either layout, told apart by the header line:
//   the original GLUE download (RTE `index sentence1 sentence2 label` with string labels, CoLA
//   train/dev with no header `source label original_label sentence`, MRPC `Quality #1 ID #2 ID
//   #1 String #2 String`, QQP `id qid1 qid2 question1 question2 is_duplicate`, MNLI `...
//   sentence1 sentence2 ... gold_label`, STS-B `... sentence1 sentence2 score`, ...);
//   the Hugging Face export (`sentence1 sentence2 label idx`, `premise hypothesis label idx`,
//   integer labels, -1 on test splits).
// Fields are split on tabs with no quoting (GLUE's files contain bare quotes; Hugging Face reads
// them with csv.QUOTE_NONE). Labels may be integers or the task's label names; an empty label,
// -1, or no label column at all (test splits) gives hasLabel = false, never class -1.
#include "data/example.h"
#include "tokenizers/tokenizer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fw::data {

struct GlueTaskInfo {
  std::string name;                     // "CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI", "MNLI-m", "MNLI-mm", "QNLI", "RTE", "WNLI"
  int64_t numLabels = 0;                // 1 for STS-B
  bool regression = false;              // STS-B: a similarity score from 0 to 5
  std::vector<std::string> metrics;     // the keys fw::train::glueMetrics returns, e.g. {"f1", "accuracy"}
  std::vector<std::string> labelNames;  // class names in index order, as Hugging Face's ClassLabel
  bool pair = false;                    // two texts per example
};

// Accepts any case with or without '-', '_' ("sst2", "SST-2", "sst_2", "mnli-mm",
// "mnli_mismatched"); throws fw::Error listing the known names otherwise.
const GlueTaskInfo& glueTask(const std::string& name);
const std::vector<std::string>& glueTaskNames();  // the canonical names, in GLUE's order

// Reads one split, tokenizing each text (or pair) with special tokens and truncation to
// maxLength (0: none). Bad rows (wrong column count, non-numeric label, label outside the label
// set, invalid UTF-8, empty text) throw or are skipped as `policy` says. A header that fits
// neither layout throws fw::Error naming the file, the columns found and those expected.
Dataset loadGlue(const std::string& task, const std::string& tsvPath, const tokenizers::Tokenizer& tok,
                 int64_t maxLength, BadRows policy = BadRows::Fail);

}  // namespace fw::data
