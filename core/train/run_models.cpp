#include "train/run_models.h"

#include "adapters/adapter_folder.h"
#include "models/checkpoint.h"
#include "models/model_adapters.h"
#include "models/presets.h"
#include "util/error.h"

#include <filesystem>

namespace fw::train {

namespace fs = std::filesystem;

std::string methodCheckpointDir(const runs::RunFolder& run, const std::string& method) {
  return run.file(std::string(runs::run_files::kAdapters) + "/" + method + "/checkpoint");
}

TrainedModel loadTrainedModel(const runs::RunFolder& run, const Experiment& e, const std::string& method,
                              const c10::Device& device) {
  TrainedModel out;
  std::string known;
  for (const auto& m : e.methods) {
    if (m.name == method) out.method = &m;
    known += (known.empty() ? "" : ", ") + m.name;
  }
  if (!out.method) throw Error("the run has no method '" + method + "'").file(run.path()).expected(known);
  const auto options = at::TensorOptions(at::kFloat).device(device);
  if (out.method->type == "full" || out.method->type == "head-only") {
    out.source = methodCheckpointDir(run, method);
    if (!fs::exists(out.source + "/model.safetensors"))
      throw Error("the method's trained weights are missing").file(out.source).hint("did the method finish?");
    out.model = models::loadPretrained(out.source, options).model;
    return out;
  }
  out.source = run.adapterDir(method, runs::AdapterFormat::Native);
  if (!fs::exists(out.source + "/adapter_config.json"))
    throw Error("the method's adapter is missing").file(out.source).hint("did the method finish?");
  auto folder = adapters::readAdapterFolder(out.source);
  // The trainer records the base it used and the model overrides that fit it to the data.
  const auto summary = run.readSummary().value_or(nlohmann::json::object());
  const std::string base = summary.value("base_model", std::string());
  if (base.empty()) throw Error("summary.json does not name the base model").file(run.file(runs::run_files::kSummary));
  if (models::isPreset(base))
    throw Error("the run's base model is a preset with random weights, which were not saved").file(run.path())
        .hint("only runs on a checkpoint (or a cached pretrained base) can be rebuilt");
  out.model = models::loadPretrained(base, options, summary.value("model_overrides", nlohmann::json::object())).model;
  models::attachAdapterFolder(*out.model, folder);
  out.model->eval();
  return out;
}

}  // namespace fw::train
