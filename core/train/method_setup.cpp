#include "train/method_setup.h"

#include "adapters/adapted_linear.h"
#include "adapters/inject.h"
#include "models/model_adapters.h"
#include "util/error.h"

#include <torch/nn/modules/normalization.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

namespace fw::train {

namespace {

// Every trainable_modules entry must name a module (PEFT's modules_to_save matches the end of a
// module's name): a misspelt head would otherwise stay frozen, and the run learn nothing.
void checkTrainableModules(torch::nn::Module& net, const std::vector<std::string>& names) {
  const auto modules = net.named_modules("", false);
  for (const auto& name : names) {
    adapters::AdapterConfig one;
    one.modules_to_save = {name};
    bool found = false;
    std::set<std::string> lastParts;  // what could be named: the last part of each module's name
    for (const auto& item : modules) {
      found = found || one.savesModule(item.key());
      const auto last = item.key().substr(item.key().rfind('.') + 1);
      if (!last.empty() && last.find_first_not_of("0123456789") != std::string::npos) lastParts.insert(last);
    }
    if (found) continue;
    std::string known;
    for (const auto& n : lastParts) known += (known.empty() ? "" : ", ") + n;
    throw Error("trainable_modules names no module of the model: '" + name + "'").field("trainable_modules")
        .expected("a module name or the end of one: " + known);
  }
}

// HF Trainer's get_decay_parameter_names: no weight decay for the parameters of LayerNorm modules
// and for names that hold "bias", "layernorm" or "rmsnorm" (lower-cased). LLaMA's final "norm"
// is an RMSNorm by neither rule, and is decayed there too.
std::set<const void*> noDecayTensors(torch::nn::Module& net) {
  std::set<const void*> out;
  for (const auto& item : net.named_modules("", false))
    if (dynamic_cast<torch::nn::LayerNormImpl*>(item.value().get()))
      for (const auto& t : item.value()->parameters(/*recurse=*/false)) out.insert(t.unsafeGetTensorImpl());
  for (const auto& item : net.named_parameters(true)) {
    std::string lower = item.key();
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    for (const char* part : {"bias", "layernorm", "rmsnorm"})
      if (lower.find(part) != std::string::npos) out.insert(item.value().unsafeGetTensorImpl());
  }
  return out;
}

}  // namespace

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
  const auto at = std::find_if(e.methods.begin(), e.methods.end(), [&](const MethodSpec& x) { return x.name == m.name; });
  const std::string field = "methods." + std::to_string(at == e.methods.end() ? 0 : at - e.methods.begin());
  checkTrainableModules(net, e.trainable_modules);
  if (m.type == "fourierft" || m.type == "lora") {
    p.adapterConfig = adapterConfigFor(m, e);
    adapters::AdapterSummary s;
    try {
      s = models::attachNewAdapters(net, *p.adapterConfig);
    } catch (Error& err) {
      if (err.fieldName() == "target_modules") err.field(field + ".target_modules");  // the experiment's field
      throw;
    }
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
  const auto noDecay = noDecayTensors(net);
  for (auto* g : {&adapter, &head, &all}) {
    ParamGroup decayed{g->name, g->lr, {}, true}, spared{g->name + " (no decay)", g->lr, {}, false};
    for (auto& named : g->params) (noDecay.count(named.second.unsafeGetTensorImpl()) ? spared : decayed).params.push_back(named);
    for (auto* part : {&decayed, &spared})
      if (!part->params.empty()) p.groups.push_back(std::move(*part));
  }
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
