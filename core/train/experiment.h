#pragma once
// The experiment file (DESIGN.md "Contracts"): one JSON document that the GUI edits and the CLI
// runs. Parsing is strict: an unknown field or a wrong type is an fw::Error naming the field and
// the file, so a typo never silently falls back to a default. toJson() writes the resolved
// experiment, every default filled in, which is what a run folder records.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace fw::train {

inline constexpr int kExperimentSchemaVersion = 1;

// A full fine-tuning stage that makes the base model when no checkpoint exists: the default
// experiment trains a small ViT on some Fashion-MNIST classes first and caches it.
struct DatasetSpec {
  std::string kind;     // glue, table, instructions, idx_images, image_folder
  std::string task;     // glue task name
  std::string train, eval;  // files or folders
  std::string text, text_pair, label;  // table column mapping
  std::vector<std::string> labels;     // table label set (empty: from the data)
  bool regression = false;
  int64_t max_length = 128;
  std::string bad_rows = "fail";  // fail or skip
  std::vector<int64_t> classes;   // idx_images / image_folder: kept classes, relabelled 0..k-1
  int64_t train_limit = 0, eval_limit = 0;  // 0: all
  int64_t image_size = 0, channels = 0;     // image_folder; 0: 224 and 3 (idx_images: as stored)
  double mean = 0.0, std = 1.0;             // pixel normalisation after /255
  std::string prompt_template;              // instructions: empty = Alpaca's
};

struct PretrainSpec {
  bool enabled = false;
  DatasetSpec dataset;
  int64_t epochs = 3, batch_size = 64;
  double lr = 1e-3, weight_decay = 0.0, warmup_ratio = 0.0;
  std::string cache;  // folder where the trained base checkpoint is kept
};

struct ModelSpec {
  std::string preset;      // a preset name, or
  std::string checkpoint;  // a Hugging Face checkpoint folder
  nlohmann::json config = nlohmann::json::object();  // overrides merged into the preset's config
  std::string tokenizer;   // folder; empty: the checkpoint folder (text tasks)
  std::string dtype = "fp32";
  bool fresh_head = false;  // start the task head anew even when the checkpoint has one that fits
  PretrainSpec pretrain;
};

struct MethodSpec {
  std::string name;  // label in plots and folders; defaults to the type
  std::string type;  // fourierft, lora, full, head-only
  double lr = 0.0;   // adapter (or, for full, every parameter) learning rate
  std::vector<std::string> target_modules;
  // fourierft
  int64_t n_frequency = 1000;
  double scaling = 150.0;
  int64_t random_loc_seed = 2024;
  bool init_weights = false;
  std::string path = "auto";
  // lora
  int64_t r = 8;
  double alpha = 16.0, dropout = 0.0;
  bool rslora = false;
};

struct Experiment {
  int schema_version = kExperimentSchemaVersion;
  std::string name = "experiment";
  ModelSpec model;
  DatasetSpec dataset;
  std::vector<MethodSpec> methods;
  std::vector<std::string> trainable_modules;  // trained in full beside adapters (the head)
  double head_lr = 1e-3, weight_decay = 0.0, adam_beta1 = 0.9, adam_beta2 = 0.999, adam_eps = 1e-8;
  double warmup_ratio = 0.06, grad_clip = 1.0;
  int64_t batch_size = 32, epochs = 1, max_steps = 0, eval_every = 0, eval_batch_size = 64;
  int64_t checkpoint_every = 0, keep_checkpoints = 2, log_every = 1;
  int64_t seed = 0;
  std::string device = "auto", precision = "fp32";
  // ΔW analysis snapshots for the GUI's rank view: the layers (name patterns; empty: the first
  // and last adapted layer) and the share of training time they may take (0: none).
  std::vector<std::string> analysis_layers;
  double analysis_budget = 0.05;

  static Experiment fromJson(const nlohmann::json& j, const std::string& file = "experiment.json");
  nlohmann::json toJson() const;
  // Makes every file and folder path absolute: a leading ~ is the home folder, and relative
  // paths are relative to `baseDir` (the experiment file's folder). A run folder records the
  // result, so a resumed run finds the same files from anywhere.
  void resolvePaths(const std::string& baseDir);
};

// Expands a leading ~ and makes a relative path relative to `baseDir` (empty stays empty).
std::string resolvePath(const std::string& path, const std::string& baseDir);

// Reads a file and applies --set overrides ("methods.0.lr=0.1", "epochs=2", "dataset.classes=[5,6]"):
// the value is JSON when it parses as JSON, a string otherwise. The path must exist in the
// resolved experiment (or be a method index one past the end).
Experiment loadExperiment(const std::string& path, const std::vector<std::string>& overrides = {});
nlohmann::json applyOverrides(nlohmann::json resolved, const std::vector<std::string>& overrides, const std::string& file);

}  // namespace fw::train
