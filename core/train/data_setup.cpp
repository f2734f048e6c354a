#include "train/data_setup.h"

#include "data/glue.h"
#include "data/idx_images.h"
#include "data/image_folder.h"
#include "data/instructions.h"
#include "data/label_set.h"
#include "data/table.h"
#include "tokenizers/tokenizer.h"
#include "util/error.h"

#include <map>
#include <memory>

namespace fw::train {

namespace {

// IDX files come in pairs: ...-images-idx3-ubyte[.gz] and ...-labels-idx1-ubyte[.gz].
std::string labelsFileFor(const std::string& images) {
  const auto at = images.find("images-idx3");
  if (at == std::string::npos)
    throw Error("cannot find the labels file for these IDX images").file(images)
        .hint("name the images file ...-images-idx3-ubyte[.gz], with ...-labels-idx1-ubyte[.gz] beside it");
  return images.substr(0, at) + "labels-idx1" + images.substr(at + std::string("images-idx3").size());
}

void limit(data::Dataset& d, int64_t n) {
  if (n > 0 && int64_t(d.examples.size()) > n) d.examples.resize(size_t(n));
}

TrainData loadTrainDataAs(const DatasetSpec& d, const std::string& tokenizerDir);

}  // namespace

bool isTextDataset(const DatasetSpec& d) { return d.kind == "glue" || d.kind == "table" || d.kind == "instructions"; }

TrainData loadTrainData(const DatasetSpec& d, const std::string& tokenizerDir, const std::string& fieldPrefix) {
  try {
    return loadTrainDataAs(d, tokenizerDir);
  } catch (Error& err) {
    // The readers name their own options ("classes", "size"); the user wrote the experiment's.
    static const std::map<std::string, std::string> experimentField{
        {"classes", "classes"}, {"text", "text"}, {"std", "std"}, {"channels", "channels"}, {"size", "image_size"},
        {"eval", "eval"}};
    if (auto it = experimentField.find(err.fieldName()); it != experimentField.end())
      err.field(fieldPrefix + "." + it->second);
    throw;
  }
}

namespace {

TrainData loadTrainDataAs(const DatasetSpec& d, const std::string& tokenizerDir) {
  TrainData out;
  const auto policy = d.bad_rows == "skip" ? data::BadRows::Skip : data::BadRows::Fail;
  std::unique_ptr<tokenizers::Tokenizer> tok;
  const bool text = isTextDataset(d);
  if (text) {
    if (tokenizerDir.empty())
      throw Error("a text dataset needs a tokenizer").field("model.tokenizer")
          .hint("give the folder with tokenizer.json or vocab files (a checkpoint folder has them)");
    tok = tokenizers::loadTokenizer(tokenizerDir);
    out.padId = tok->padId();
  }
  auto load = [&](const std::string& path) -> data::Dataset {
    if (d.kind == "glue") return data::loadGlue(d.task, path, *tok, d.max_length, policy);
    if (d.kind == "table") {
      data::TableOptions o;
      o.kind = d.regression ? data::TaskKind::Regression : data::TaskKind::Classification;
      o.labels = d.labels;
      o.maxLength = d.max_length;
      o.badRows = policy;
      return data::loadTable(path, {d.text, d.text_pair, d.label}, *tok, o);
    }
    if (d.kind == "instructions") {
      data::InstructionOptions o;
      o.maxLength = d.max_length;
      o.badRows = policy;
      if (!d.prompt_template.empty()) o.prompt.withInput = o.prompt.withoutInput = d.prompt_template;
      return data::loadInstructions(path, *tok, o);
    }
    if (d.kind == "idx_images") {
      data::IdxOptions o;
      o.classes = d.classes;
      o.mean = d.mean;
      o.std = d.std;
      o.badRows = policy;
      if (path.find("fashion") != std::string::npos) o.labelNames = data::fashionMnistLabelNames();
      return data::loadIdx(path, labelsFileFor(path), o);
    }
    data::ImageFolderOptions o;  // image_folder
    if (d.image_size > 0) o.size = d.image_size;
    if (d.channels > 0) o.channels = d.channels;
    o.mean = {d.mean};
    o.std = {d.std};
    o.badRows = policy;
    return data::loadImageFolder(path, o);
  };
  out.train = load(d.train);
  limit(out.train, d.train_limit);
  if (!d.eval.empty()) {
    out.eval = load(d.eval);
    // Empty (no rows, or every row skipped as bad), the run would end without an evaluation,
    // silently.
    if (out.eval.examples.empty())
      throw Error("the evaluation set is empty").file(d.eval).field("eval")
          .got(out.eval.skippedRows > 0 ? std::to_string(out.eval.skippedRows) + " bad rows skipped" : "no rows")
          .hint("fix the file, or leave the evaluation set out");
    limit(out.eval, d.eval_limit);
    // Class numbers come from the training set (Hugging Face fixes label2id there): an eval file
    // or folder that infers its own sorted names would number the same class differently.
    if (d.kind == "image_folder")
      data::adoptTrainingLabels(out.eval, out.train, "class folder",
                                "give the training folder a sub-folder of that name (it may be empty), or fix the evaluation folder");
    else if (d.kind == "idx_images")
      data::adoptTrainingLabels(out.eval, out.train, "class", "fix the files, or keep only shared classes with the dataset's classes");
    else
      data::adoptTrainingLabels(out.eval, out.train);
  }
  if (d.kind == "glue") out.glueTask = data::glueTask(d.task).name;
  return out;
}

}  // namespace

}  // namespace fw::train
