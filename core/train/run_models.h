#pragma once
// The trained model of one method of a finished run, rebuilt from its run folder: the base
// model the experiment names (or its cached pretrained base) with the method's saved adapter,
// or the saved checkpoint of a full or head-only method.
#include "models/model.h"
#include "runs/run_folder.h"
#include "train/experiment.h"

#include <memory>
#include <string>

namespace fw::train {

// In a cached pretrained base's folder: the recipe that made it (Trainer::prepareBase).
inline constexpr const char* kPretrainRecipeFile = "workbench_pretrain.json";

struct TrainedModel {
  std::shared_ptr<models::PretrainedModel> model;
  const MethodSpec* method = nullptr;
  std::string source;  // the folder the trained weights came from
};

// The method and the folder of its trained weights (an adapter, or a full or head-only
// checkpoint), checked to exist; `model` stays empty. What an adapter export needs: the base
// model is not read, so a large one costs nothing and one moved away since does not matter.
// Throws fw::Error naming the run folder when the method is unknown or its files are missing.
TrainedModel locateTrainedMethod(const runs::RunFolder& run, const Experiment& e, const std::string& method);

// locateTrainedMethod, then the model: the base with the adapter attached, or the checkpoint.
TrainedModel loadTrainedModel(const runs::RunFolder& run, const Experiment& e, const std::string& method,
                              const c10::Device& device);

// The base model a run's adapters were trained on (summary.json's base_model). A cached
// pretrained base that was trained again since (another run with another seed or stage shares
// the cache) is refused: the run's adapters and a merge would silently use the wrong W0.
// `summary`: the run's summary.json as the caller read it.
std::string runBaseModel(const runs::RunFolder& run, const nlohmann::json& summary);

// The folder a full or head-only method saves its weights to.
std::string methodCheckpointDir(const runs::RunFolder& run, const std::string& method);

}  // namespace fw::train
