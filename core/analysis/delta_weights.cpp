#include "analysis/delta_weights.h"

#include "adapters/adapted_linear.h"
#include "adapters/fourierft.h"
#include "util/error.h"

#include <torch/nn/modules/linear.h>

#include <map>

namespace fw::analysis {

namespace {

// A copy on the CPU in float32: never an alias of a weight that training may change.
at::Tensor detachedCopy(const at::Tensor& t) {
  return t.detach().to(at::TensorOptions(at::kFloat).device(at::kCPU), /*non_blocking=*/false, /*copy=*/true)
      .contiguous();
}

// The [out, in] weight of a Linear or AdaptedLinear; undefined for any other module.
at::Tensor linearWeight(const std::shared_ptr<torch::nn::Module>& m) {
  if (auto lin = std::dynamic_pointer_cast<adapters::AdaptedLinearImpl>(m)) return lin->baseWeight();
  if (auto lin = std::dynamic_pointer_cast<torch::nn::LinearImpl>(m)) return lin->weight;
  return {};
}

}  // namespace

bool layerSelected(const std::string& layer, const std::vector<std::string>& patterns) {
  if (patterns.empty()) return true;
  const std::string dotted = "." + layer + ".";
  for (const auto& p : patterns)
    if (!p.empty() && dotted.find("." + p + ".") != std::string::npos) return true;
  return false;
}

void visitAdapterDeltas(torch::nn::Module& model, const std::vector<std::string>& layers, const DeltaVisitor& visit) {
  at::NoGradGuard noGrad;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    auto lin = std::dynamic_pointer_cast<adapters::AdaptedLinearImpl>(item.value());
    if (!lin || !lin->adapter() || !layerSelected(item.key(), layers)) continue;
    LayerDelta d;
    d.layer = item.key();
    d.method = lin->adapter()->method();
    d.delta = detachedCopy(lin->adapter()->deltaWeight());
    d.base = detachedCopy(lin->baseWeight());
    // A merged weight holds W0 + ΔW; the base is what it was before.
    if (lin->merged()) d.base.sub_(d.delta);
    if (auto* f = dynamic_cast<const adapters::FourierFTAdapter*>(lin->adapter())) d.positions = f->positions().cpu().clone();
    visit(std::move(d));
  }
}

std::vector<LayerDelta> adapterDeltas(torch::nn::Module& model, const std::vector<std::string>& layers) {
  std::vector<LayerDelta> out;
  visitAdapterDeltas(model, layers, [&](LayerDelta&& d) { out.push_back(std::move(d)); });
  return out;
}

std::vector<std::string> adaptedLayerNames(torch::nn::Module& model) {
  std::vector<std::string> out;
  for (const auto& item : model.named_modules("", /*include_self=*/false))
    if (auto lin = std::dynamic_pointer_cast<adapters::AdaptedLinearImpl>(item.value()); lin && lin->adapter())
      out.push_back(item.key());
  return out;
}

void visitFullDeltas(torch::nn::Module& tuned, torch::nn::Module& base, const std::vector<std::string>& layers,
                     const DeltaVisitor& visit, const std::vector<std::string>& skip) {
  at::NoGradGuard noGrad;
  std::map<std::string, std::shared_ptr<torch::nn::Module>> baseModules;
  for (const auto& item : base.named_modules("", /*include_self=*/false)) baseModules.emplace(item.key(), item.value());
  for (const auto& item : tuned.named_modules("", /*include_self=*/false)) {
    const auto w = linearWeight(item.value());
    if (!w.defined() || !layerSelected(item.key(), layers)) continue;
    bool skipped = false;
    for (const auto& s : skip) skipped = skipped || s == item.key() || s == item.key() + ".weight";
    if (skipped) continue;
    auto it = baseModules.find(item.key());
    const auto w0 = it == baseModules.end() ? at::Tensor() : linearWeight(it->second);
    if (!w0.defined())
      throw Error("the base model has no linear layer of this name").tensor(item.key() + ".weight")
          .hint("full fine-tuning is compared with the model it started from: the same architecture and names");
    if (w0.sizes() != w.sizes())
      throw Error("the base model's layer has another shape").tensor(item.key() + ".weight")
          .expected(w.sizes().vec()).got(w0.sizes().vec());
    LayerDelta d;
    d.layer = item.key();
    d.method = "full";
    d.base = detachedCopy(w0);
    d.delta = detachedCopy(w).sub_(d.base);
    visit(std::move(d));
  }
}

std::vector<LayerDelta> fullDeltas(torch::nn::Module& tuned, torch::nn::Module& base, const std::vector<std::string>& layers,
                                   const std::vector<std::string>& skip) {
  std::vector<LayerDelta> out;
  visitFullDeltas(tuned, base, layers, [&](LayerDelta&& d) { out.push_back(std::move(d)); }, skip);
  return out;
}

}  // namespace fw::analysis
