#pragma once
// Shared by the targets that build models (LibTorch): the size up to which a config is built,
// and the checks run on a built model. A failed check aborts, so libFuzzer records the input.
#include "adapters/inject.h"
#include "models/architectures.h"

#include <ATen/Parallel.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace fw::fuzz {

// Configs are built only up to this many (estimated) parameters, 8 MB in float32: the rest of
// libFuzzer's 2 GB is what an estimate that is too low would run into.
inline constexpr double kBuildLimit = 2e6;

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz: %s\n", what.c_str());
  std::abort();
}

// One intra-op thread: the fuzzer runs at nice 19 next to other work, and single-threaded runs
// reproduce.
inline void initTorch() { at::set_num_threads(1); }

// The model has exactly the parameters its architecture's estimate gave (buildModel refuses
// sizes on that number) and the linear layers linearShapesOf listed.
inline void checkBuiltModel(models::PretrainedModel& model, double estimate, const std::vector<models::LinearShape>& shapes) {
  double n = 0;
  for (const auto& p : model.parameters()) n += double(p.numel());
  if (n != estimate)
    fail("built " + std::to_string(int64_t(n)) + " parameters, estimated " + std::to_string(int64_t(estimate)));
  const auto linears = adapters::adaptedLinears(model);
  if (linears.size() != shapes.size()) fail("linearShapesOf disagrees with the built model (count)");
  for (size_t i = 0; i < shapes.size(); ++i)
    if (shapes[i].name != linears[i].first || shapes[i].out != linears[i].second->outFeatures() ||
        shapes[i].in != linears[i].second->inFeatures())
      fail("linearShapesOf disagrees with the built model at " + linears[i].first);
}

inline int64_t configInt(const nlohmann::json& j, const char* key, int64_t fallback) {
  return j.contains(key) && j[key].is_number_integer() ? j[key].get<int64_t>() : fallback;
}

// Two tokens (or one image, when small) through the model in eval mode; the logits must have the
// task's shape. A model that builds must run: only fw::Error may come out.
inline void runForward(models::PretrainedModel& model) {
  at::NoGradGuard noGrad;
  model.eval();
  models::ModelInputs in;
  if (model.task() == models::Task::ImageClassification) {
    const auto& c = model.config();
    const int64_t channels = configInt(c, "num_channels", 3), image = configInt(c, "image_size", 224),
                  patch = configInt(c, "patch_size", 16);
    if (channels * image * image > (1 << 20) || (image / patch) * (image / patch) > 4096) return;
    in.pixel_values = at::randn({1, channels, image, image});
  } else {
    in.input_ids = at::zeros({1, 2}, at::kLong);
    in.attention_mask = at::ones({1, 2}, at::kLong);
  }
  const auto logits = model.forward(in);
  if (logits.scalar_type() != at::kFloat || logits.size(0) != 1 ||
      (model.task() != models::Task::CausalLM && (logits.dim() != 2 || logits.size(1) != model.numLabels())))
    fail("logits of the wrong shape or type");
}

}  // namespace fw::fuzz
