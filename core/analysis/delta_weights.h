#pragma once
// ΔW per layer, the input of every analysis: from the adapters a model carries (FourierFT:
// α·Re(IDFT2(S)), LoRA: s·B·A, through Adapter::deltaWeight()), or W − W0 for full fine-tuning
// given the tuned and the base model. Everything comes out as float32 [out, in] on the CPU,
// copied: take the deltas on the training thread between two steps, then analyse them on
// another thread while training goes on.
#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <vector>

namespace torch::nn { class Module; }

namespace fw::analysis {

struct LayerDelta {
  std::string layer;    // full module name, "bert.encoder.layer.0.attention.self.query"
  std::string method;   // "fourierft", "lora" or "full"
  at::Tensor delta;     // ΔW [out, in] float32
  at::Tensor base;      // W0 [out, in] float32
  at::Tensor positions; // FourierFT [2, n] int64 (rows u, v); undefined for other methods
};

// Which layers to keep. A pattern selects a layer when it equals the name or a run of its
// dotted segments: "query" and "layer.1" select "bert.encoder.layer.1.attention.self.query",
// "layer.1" does not select "layer.10". Empty: every layer.
bool layerSelected(const std::string& layer, const std::vector<std::string>& patterns);

using DeltaVisitor = std::function<void(LayerDelta&&)>;

// Every AdaptedLinear that carries an adapter, in module order, one at a time (so that only one
// layer's ΔW is alive when the visitor drops it). A merged layer still reports W0 as its base.
void visitAdapterDeltas(torch::nn::Module& model, const std::vector<std::string>& layers, const DeltaVisitor& visit);
std::vector<LayerDelta> adapterDeltas(torch::nn::Module& model, const std::vector<std::string>& layers = {});

// The names of the adapted layers (AdaptedLinears with an adapter), in module order.
std::vector<std::string> adaptedLayerNames(torch::nn::Module& model);

// W − W0 for the weight of every Linear and AdaptedLinear of `tuned`, against the module of the
// same name in `base` (an adapter the tuned model carries is not counted: only its weights).
// Layers named in `skip` (e.g. a head the base model initialised fresh) are left out. Throws
// fw::Error naming the layer when `base` lacks it or its shape differs.
void visitFullDeltas(torch::nn::Module& tuned, torch::nn::Module& base, const std::vector<std::string>& layers,
                     const DeltaVisitor& visit, const std::vector<std::string>& skip = {});
std::vector<LayerDelta> fullDeltas(torch::nn::Module& tuned, torch::nn::Module& base,
                                   const std::vector<std::string>& layers = {}, const std::vector<std::string>& skip = {});

}  // namespace fw::analysis
