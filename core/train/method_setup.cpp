#include "train/method_setup.h"

#include "adapters/adapted_linear.h"
#include "adapters/inject.h"
#include "models/model_adapters.h"
#include "util/error.h"

#include <set>
#include <sstream>

namespace fw::train {

adapters::AdapterConfig adapterConfigFor(const MethodSpec& m, const Experiment& e) {
  nlohmann::json j = {{"target_modules", m.target_modules}, {"modules_to_save", e.trainable_modules}};
  if (m.type == "fourierft") {
    j["peft_type"] = "FOURIERFT";
    j["n_frequency"] = m.n_frequency;
    j["scaling"] = m.scaling;
    j["random_loc_seed"] = m.random_loc_seed;
    j["init_weights"] = m.init_weights;
  } else if (m.type == "lora") {
    j["peft_type"] = "LORA";
    j["r"] = m.r;
    j["lora_alpha"] = m.alpha;
    j["lora_dropout"] = m.dropout;
    j["use_rslora"] = m.rslora;
    j["init_lora_weights"] = true;
  } else {
    throw Error("method '" + m.name + "' has no adapter");
  }
  auto c = adapters::AdapterConfig::fromJson(j, "experiment method '" + m.name + "'");
  c.fourierft.path = adapters::pathFromName(m.path);
  return c;
}

PreparedMethod prepareMethod(std::shared_ptr<models::PretrainedModel> model, const MethodSpec& m, const Experiment& e) {
  PreparedMethod p;
  p.model = std::move(model);
  auto& net = *p.model;
  std::ostringstream summary;
  if (m.type == "fourierft" || m.type == "lora") {
    p.adapterConfig = adapterConfigFor(m, e);
    auto s = models::attachNewAdapters(net, *p.adapterConfig);
    p.adapterParameters = s.adapterParameters;
    summary << s.table();
  } else if (m.type == "head-only") {
    adapters::AdapterConfig none;
    none.modules_to_save = e.trainable_modules;
    adapters::freezeForAdapterTraining(net, none);
  } else {  // full
    for (auto& q : net.parameters()) q.set_requires_grad(true);
  }
  // Groups: adapter parameters at the method's rate, the modules trained in full at head_lr.
  std::set<const void*> adapterTensors;
  for (const auto& [name, lin] : adapters::adaptedLinears(net))
    if (lin->adapter())
      for (const auto& [n, t] : lin->adapter()->namedParameters()) adapterTensors.insert(t.unsafeGetTensorImpl());
  ParamGroup adapter{"adapter", m.lr, {}}, head{"head", e.head_lr, {}}, all{"all", m.lr, {}};
  for (const auto& item : net.named_parameters(true)) {
    if (!item.value().requires_grad()) continue;
    p.trainableParameters += item.value().numel();
    if (m.type == "full") all.params.emplace_back(item.key(), item.value());
    else if (adapterTensors.count(item.value().unsafeGetTensorImpl())) adapter.params.emplace_back(item.key(), item.value());
    else head.params.emplace_back(item.key(), item.value());
  }
  for (auto* g : {&adapter, &head, &all})
    if (!g->params.empty()) p.groups.push_back(*g);
  if (p.groups.empty())
    throw Error("method '" + m.name + "' trains nothing").field("trainable_modules")
        .hint("head-only needs trainable_modules naming the head, e.g. [\"classifier\"]");
  if (m.type == "head-only" || m.type == "full") {
    summary << m.name << ": " << p.trainableParameters << " trainable parameters"
            << (m.type == "full" ? " (every parameter)" : " (the modules trained in full)") << "\n";
  }
  p.summary = summary.str();
  return p;
}

}  // namespace fw::train
