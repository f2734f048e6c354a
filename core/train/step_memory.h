#pragma once
// What one training step will need on top of the weights already loaded: gradients and AdamW's two
// moments for the trainable parameters, and the activations autograd keeps for a batch, estimated
// from the model's shape (issue 10, "Memory"). Checked against the memory available before a
// method trains, so a batch that cannot fit is refused with the sizes instead of the kernel
// killing the process mid-step. The estimate follows Korthikanti et al. (2022, "Reducing
// activation recomputation"), per layer and token: the hidden-size tensors autograd saves
// (18 x hidden here), the MLP's two intermediate tensors, and the attention probabilities
// (2 x heads x sequence); in float32. The coefficients are fitted to the peak RSS of our layers
// (docs/reliability.md, "Memory").
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace fw::train {

struct StepShape {
  int64_t batch = 0;       // examples per step in this process
  int64_t sequence = 0;    // tokens per example (patches + 1 for ViT)
  int64_t trainable = 0;   // trainable parameters
  bool causalLm = false;   // logits over the vocabulary at every token
};

struct StepMemory {
  double gradientsMiB = 0, optimizerMiB = 0, activationsMiB = 0;
  double totalMiB() const { return gradientsMiB + optimizerMiB + activationsMiB; }
  std::string describe() const;  // "1.2 GiB: activations 0.9 GiB, gradients ..., AdamW ..."
};

// `config`: the model's config.json (BERT/RoBERTa/ViT/Llama or GPT-2 names).
StepMemory estimateStepMemory(const nlohmann::json& config, const StepShape& shape);

// Throws fw::Error naming the method when `need` times the processes sharing this machine does
// not fit in 90 % of `availableMiB` (<= 0: unknown, no check). FW_SKIP_MEMORY_CHECK=1 skips it.
void checkStepMemory(const StepMemory& need, double availableMiB, int processesHere, const std::string& method,
                     const StepShape& shape);

}  // namespace fw::train
