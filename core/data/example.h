#pragma once
// The dataset model shared by every reader and the batcher: plain vectors, no LibTorch, no Qt.
// A reader turns one file (or folder) into a Dataset of tokenized or decoded Examples; the
// Batcher groups them into padded batches and the trainer turns those into tensors.
#include <cstdint>
#include <string>
#include <vector>

namespace fw::data {

enum class TaskKind { Classification, Regression, CausalLM, ImageClassification };
const char* taskKindName(TaskKind kind);  // "classification", "regression", "causal_lm", "image_classification"

struct Example {
  std::vector<int64_t> ids, typeIds;  // token ids and segment ids (0 for the first text, 1 for the pair)
  std::vector<int64_t> lmLabels;      // causal LM targets, -100 where the loss is masked; unshifted
  int64_t label = -1;                 // class index (classification), valid when hasLabel
  double target = 0.0;                // regression target, valid when hasLabel
  bool hasLabel = true;               // false for test splits (GLUE's label -1 or no label column)
  std::vector<float> pixels;          // C*H*W, normalised
};

struct Dataset {
  std::string name, source;  // e.g. "RTE" and the file or folder it was read from
  TaskKind kind = TaskKind::Classification;
  int64_t numLabels = 0;                 // classes (1 for regression, 0 for causal LM)
  std::vector<std::string> labelNames;   // class names in index order
  std::vector<Example> examples;
  int64_t channels = 0, height = 0, width = 0;  // images only
  int64_t skippedRows = 0;                // rows dropped under BadRows::Skip
  std::vector<std::string> skipped;       // the first kMaxSkippedReasons reasons, with file:line

  static constexpr size_t kMaxSkippedReasons = 20;
};

// What a reader does with a bad row (wrong column count, non-numeric label, label outside the
// label set, invalid UTF-8, empty text, unreadable image): throw an fw::Error that names the file
// and line, or skip the row and count it in Dataset::skippedRows.
enum class BadRows { Fail, Skip };

}  // namespace fw::data
