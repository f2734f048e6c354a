// config.json into the model builder, as a checkpoint folder's config is read: fw::readJsonFile,
// models::linearShapesOf (the GUI's parameter counts) and models::buildModel (loadPretrained).
// Sizes must be refused before anything is allocated, so the target never builds what would be
// big: a config whose parameter estimate is above the 2e11 sanity limit must be refused by
// buildModel; one below kBuildLimit is built; the ones in between (what would fit in memory) are
// not built. A built model must have exactly the estimated parameters (the refusal relies on
// that number; the 2 GB rss limit catches an estimate far too low), the linear layers
// linearShapesOf listed, and must run a forward pass. Links LibTorch.
#include "fuzz_common.h"
#include "fuzz_models.h"
#include "models/architectures.h"
#include "models/config_reader.h"
#include "util/files.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fw::fuzz::initTorch();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fw::fuzz::scratchDir() + "/config.json";
  fw::fuzz::writeFile(path, std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const nlohmann::json config = fw::readJsonFile(path);
    const auto shapes = fw::models::linearShapesOf(config, path);
    const auto& arch = fw::models::architectureFor(fw::models::ConfigReader(config, path).text("model_type"), path);
    const double estimate = arch.parameterCount(config, path);
    if (estimate > fw::models::kMaxParameters) {
      fw::models::buildModel(config, path, at::TensorOptions(at::kFloat));
      fw::fuzz::fail("buildModel accepted a config above the parameter limit");
    }
    if (estimate > fw::fuzz::kBuildLimit) return 0;
    auto model = fw::models::buildModel(config, path, at::TensorOptions(at::kFloat));
    fw::fuzz::checkBuiltModel(*model, estimate, shapes);
    fw::fuzz::runForward(*model);
  } catch (const fw::Error& e) {
    fw::fuzz::note(e);
  }
  return 0;
}
