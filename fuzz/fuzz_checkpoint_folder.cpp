// A pretrained checkpoint folder through models::loadPretrained, as the application opens one:
// config.json, model.safetensors.index.json and its shards. The input is config.json NUL
// index NUL shards, where the shards are binary, each preceded by its 4-byte length
// (splitSized), at most 4, written as model-0000K-of-0000N.safetensors; an empty index means no
// index file, and the first shard is then model.safetensors. The folder's tensors are
// first read through models::CheckpointTensors (every one materialised), then the model is
// loaded and run. Sizes as in fuzz_model_config: above the 2e11 limit loadPretrained must refuse,
// up to kBuildLimit the model is loaded, in between nothing is built. Links LibTorch.
#include "fuzz_common.h"
#include "fuzz_models.h"
#include "models/checkpoint.h"
#include "models/config_reader.h"
#include "util/files.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fw::fuzz::initTorch();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = fw::fuzz::splitNul(data, size, 3);
  const std::string dir = fw::fuzz::freshDir("checkpoint");
  fw::fuzz::writeFile(dir + "/config.json", parts[0]);
  const bool indexed = parts.size() > 1 && !parts[1].empty();
  if (indexed) fw::fuzz::writeFile(dir + "/model.safetensors.index.json", parts[1]);
  if (parts.size() > 2) {
    const auto shards = fw::fuzz::splitSized(parts[2], 4);
    for (size_t i = 0; i < shards.size(); ++i) {
      char name[64];
      std::snprintf(name, sizeof name, "/model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
      fw::fuzz::writeFile(dir + (indexed ? name : i == 0 ? "/model.safetensors" : name), shards[i]);
    }
  }
  try {
    const auto ckpt = fw::models::CheckpointTensors::open(dir);
    for (const auto& name : ckpt.names())
      if (auto t = ckpt.tensor(name); t.numel() > 0) (void)t.to(at::kDouble).sum().item<double>();
  } catch (const fw::Error& e) {
    fw::fuzz::note(e);
  }
  try {
    // The size check loadPretrained makes, done first so that mid-sized models are not built.
    const nlohmann::json config = fw::readJsonFile(dir + "/config.json");
    const auto& arch = fw::models::architectureFor(fw::models::ConfigReader(config, dir).text("model_type"), dir);
    const double estimate = arch.parameterCount(config, dir);
    if (estimate > fw::fuzz::kBuildLimit && estimate <= fw::models::kMaxParameters) return 0;
    auto loaded = fw::models::loadPretrained(dir, at::TensorOptions(at::kFloat));
    if (estimate > fw::fuzz::kBuildLimit) fw::fuzz::fail("loadPretrained accepted a config above the parameter limit");
    (void)loaded.report.summary();
    fw::fuzz::runForward(*loaded.model);
  } catch (const fw::Error& e) {
    fw::fuzz::note(e);
  }
  return 0;
}
