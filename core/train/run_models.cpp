#include "train/run_models.h"

#include "adapters/adapter_folder.h"
#include "models/checkpoint.h"
#include "models/model_adapters.h"
#include "models/presets.h"
#include "util/error.h"
#include "util/files.h"

#include <filesystem>

namespace fw::train {

namespace fs = std::filesystem;

std::string methodCheckpointDir(const runs::RunFolder& run, const std::string& method) {
  return run.file(std::string(runs::run_files::kAdapters) + "/" + method + "/checkpoint");
}

std::string runBaseModel(const runs::RunFolder& run, const nlohmann::json& summary) {
  const auto summaryPath = run.file(runs::run_files::kSummary);
  const auto* base = summary.contains("base_model") ? &summary["base_model"] : nullptr;
  if (!base || !base->is_string() || base->get<std::string>().empty())
    throw Error("summary.json does not name the base model").file(summaryPath).field("base_model");
  const std::string folder = base->get<std::string>();
  if (!models::isPreset(folder) && !fs::is_directory(folder))
    throw Error("the run's base model is not there (moved or deleted since the run?)")
        .file(folder)
        .hint("put the checkpoint back at this path, or train the run's experiment again; an adapter export "
              "(--peft, --native) does not need it");
  // Runs on a cached pretrained base record the cache's recipe (runs before that record nothing).
  if (summary.contains("base_recipe")) {
    const auto recipePath = (fs::path(folder) / kPretrainRecipeFile).string();
    if (!fs::exists(recipePath) || readJsonFile(recipePath) != summary["base_recipe"])
      throw Error("the cached base model was trained again since this run (another run with another preset, seed or "
                  "pretraining stage shares the cache): the run's adapters were trained on other weights")
          .file(folder)
          .field("model.pretrain.cache")
          .hint("train the run's experiment again (the same recipe remakes the cache, identical where training is "
                "deterministic), and give each experiment its own model.pretrain.cache");
  }
  return folder;
}

TrainedModel locateTrainedMethod(const runs::RunFolder& run, const Experiment& e, const std::string& method) {
  TrainedModel out;
  std::string known;
  for (const auto& m : e.methods) {
    if (m.name == method) out.method = &m;
    known += (known.empty() ? "" : ", ") + m.name;
  }
  if (!out.method) throw Error("the run has no method '" + method + "'").file(run.path()).expected(known);
  if (out.method->type == "full" || out.method->type == "head-only") {
    out.source = methodCheckpointDir(run, method);
    if (!fs::exists(out.source + "/model.safetensors"))
      throw Error("the method's trained weights are missing").file(out.source).hint("did the method finish?");
    return out;
  }
  out.source = run.adapterDir(method, runs::AdapterFormat::Native);
  if (!fs::exists(out.source + "/adapter_config.json"))
    throw Error("the method's adapter is missing").file(out.source).hint("did the method finish?");
  return out;
}

TrainedModel loadTrainedModel(const runs::RunFolder& run, const Experiment& e, const std::string& method,
                              const c10::Device& device) {
  TrainedModel out = locateTrainedMethod(run, e, method);
  const auto options = at::TensorOptions(at::kFloat).device(device);
  if (out.method->type == "full" || out.method->type == "head-only") {
    out.model = models::loadPretrained(out.source, options).model;
    return out;
  }
  auto folder = adapters::readAdapterFolder(out.source);
  // The trainer records the base it used and the model overrides that fit it to the data.
  const auto summary = run.readSummary().value_or(nlohmann::json::object());
  const std::string base = runBaseModel(run, summary);
  if (models::isPreset(base))
    throw Error("the run's base model is a preset with random weights, which were not saved").file(run.path())
        .hint("only runs on a checkpoint (or a cached pretrained base) can be rebuilt");
  out.model = models::loadPretrained(base, options, summary.value("model_overrides", nlohmann::json::object())).model;
  models::attachAdapterFolder(*out.model, folder);
  out.model->eval();
  return out;
}

}  // namespace fw::train
