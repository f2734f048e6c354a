#include "train/step_memory.h"

#include "util/error.h"

#include <cstdlib>
#include <iomanip>
#include <sstream>

namespace fw::train {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// The first of `names` that the config has as a number, else `fallback`.
double dim(const nlohmann::json& c, std::initializer_list<const char*> names, double fallback) {
  for (const char* n : names) {
    const auto it = c.find(n);
    if (it != c.end() && it->is_number() && it->get<double>() > 0) return it->get<double>();
  }
  return fallback;
}

std::string size(double mib) {
  std::ostringstream o;
  o << std::fixed;
  if (mib < 1024) o << std::setprecision(1) << mib << " MiB";
  else o << std::setprecision(2) << mib / 1024.0 << " GiB";
  return o.str();
}

}  // namespace

StepMemory estimateStepMemory(const nlohmann::json& config, const StepShape& shape) {
  const double hidden = dim(config, {"hidden_size", "n_embd", "d_model"}, 768);
  const double layers = dim(config, {"num_hidden_layers", "n_layer"}, 12);
  const double heads = dim(config, {"num_attention_heads", "n_head"}, 12);
  const double inner = dim(config, {"intermediate_size", "n_inner"}, 4 * hidden);
  const double vocab = dim(config, {"vocab_size"}, 0);
  const double b = double(shape.batch), s = double(shape.sequence);

  StepMemory m;
  m.gradientsMiB = 4.0 * double(shape.trainable) / kMiB;
  m.optimizerMiB = 2.0 * m.gradientsMiB;  // AdamW's exp_avg and exp_avg_sq
  // Coefficients fitted to peak RSS of this project's layers (docs/reliability.md, "Memory").
  const double perLayerToken = 18.0 * hidden + 2.0 * inner + 2.0 * heads * s;
  double floats = b * s * layers * perLayerToken + 4.0 * b * s * hidden;  // + embeddings and head input
  if (shape.causalLm && vocab > 0) floats += 3.0 * b * s * vocab;  // logits, log-softmax, their gradient
  m.activationsMiB = 4.0 * floats / kMiB;
  return m;
}

std::string StepMemory::describe() const {
  return size(totalMiB()) + " (activations " + size(activationsMiB) + ", gradients " + size(gradientsMiB) +
         ", AdamW state " + size(optimizerMiB) + ")";
}

void checkStepMemory(const StepMemory& need, double availableMiB, int processesHere, const std::string& method,
                     const StepShape& shape) {
  const char* skip = std::getenv("FW_SKIP_MEMORY_CHECK");
  if (availableMiB <= 0 || (skip && std::string(skip) == "1")) return;
  const double total = need.totalMiB() * double(std::max(1, processesHere));
  if (total <= 0.9 * availableMiB) return;
  std::ostringstream got, hint;
  got << "about " << need.describe() << " for a batch of " << shape.batch << " x " << shape.sequence << " tokens";
  if (processesHere > 1) got << ", times " << processesHere << " processes on this machine";
  hint << "lower batch_size or max_length, train fewer parameters, or free memory; "
       << "FW_SKIP_MEMORY_CHECK=1 trains anyway";
  throw Error("a training step of method '" + method + "' will not fit in memory")
      .expected(size(0.9 * availableMiB) + " (90 % of the memory available now)")
      .got(got.str())
      .hint(hint.str());
}

}  // namespace fw::train
