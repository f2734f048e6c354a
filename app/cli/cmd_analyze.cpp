// fourierft analyze RUN|ADAPTER: how much ΔW moved and how much of its rank and spectrum it
// uses, per layer: ‖ΔW‖/‖W0‖, effective rank, σ for 90/99 % energy, stable rank, and the
// Fourier coefficients holding 90 % of the energy.
#include "adapters/adapter_folder.h"
#include "analysis/delta_weights.h"
#include "analysis/snapshot.h"
#include "commands.h"
#include "util/path_checks.h"
#include "models/checkpoint.h"
#include "models/model_adapters.h"
#include "models/presets.h"
#include "runs/run_folder.h"
#include "train/experiment.h"
#include "train/run_models.h"
#include "util/error.h"
#include "util/files.h"
#include "util/runtime.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <optional>

namespace fw::cli {

namespace {

struct AnalyzeArgs {
  std::string path, method, base;
  std::vector<std::string> layers;
  bool json = false;
  int64_t k = 128, fullLimit = 1024;
};

struct MethodReport {
  std::string method, type, source, note;
  std::vector<analysis::LayerSnapshot> layers;
  bool unfinished = false;  // a method the run did not finish: named, not analysed
};

std::string countText(int64_t v, int64_t k) { return v == analysis::kBeyondTopK ? ">" + std::to_string(k) : std::to_string(v); }

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  // A ΔW that barely moved (DESIGN.md asks to say so) would print as 0.00000.
  if (v != 0 && std::abs(v) < 1e-3) std::snprintf(buf, sizeof buf, "%.2e", v);
  else std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

void printTable(const MethodReport& m) {
  std::cout << m.method << (m.type.empty() || m.type == m.method ? "" : " (" + m.type + ")") << ": " << m.source << "\n";
  if (!m.note.empty()) std::cout << "  " << m.note << "\n";
  if (m.layers.empty()) return;
  size_t width = 5;
  for (const auto& l : m.layers) width = std::max(width, l.name.size());
  char line[512];
  std::snprintf(line, sizeof line, "  %-*s %11s %10s %9s %6s %6s %8s %7s\n", int(width), "layer", "shape", "|dW|/|W0|",
                "eff.rank", "sig90", "sig99", "stable", "F90");
  std::cout << line;
  bool truncated = false;
  for (const auto& l : m.layers) {
    const auto shape = std::to_string(l.shape[0]) + "x" + std::to_string(l.shape[1]);
    const auto effRank = fixed(l.effectiveRank, 1) + (l.truncated ? "*" : "");
    std::snprintf(line, sizeof line, "  %-*s %11s %10s %9s %6s %6s %8s %7s\n", int(width), l.name.c_str(), shape.c_str(),
                  fixed(l.normRatio, 5).c_str(), effRank.c_str(), countText(l.energy90, l.k).c_str(),
                  countText(l.energy99, l.k).c_str(), fixed(l.stableRank, 2).c_str(),
                  l.fourier90 >= 0 ? std::to_string(l.fourier90).c_str() : "-");
    std::cout << line;
    truncated = truncated || l.truncated;
  }
  if (truncated)
    std::cout << "  * randomized SVD of the top k singular values (layer larger than --full-limit): effective rank "
                 "and sig90/99 count those only\n";
}

nlohmann::json toJson(const MethodReport& m) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : m.layers) {
    auto j = l.toJson();
    j.erase("singular_values");
    layers.push_back(std::move(j));
  }
  nlohmann::json out = {{"method", m.method}, {"type", m.type}, {"source", m.source}, {"layers", std::move(layers)}};
  if (!m.note.empty()) out["note"] = m.note;
  return out;
}

// The layer names a filter could have matched, for the error.
std::string someNames(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < 6; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > 6) s += ", ... (" + std::to_string(names.size()) + " layers)";
  return s.empty() ? "none" : s;
}

void checkLayersMatched(const AnalyzeArgs& a, const MethodReport& m, const std::vector<std::string>& candidates) {
  if (!a.layers.empty() && m.layers.empty() && !candidates.empty())
    throw Error("no layer of method '" + m.method + "' matches --layer").field("--layer").expected(someNames(candidates));
}

std::vector<std::string> linearNames(torch::nn::Module& tuned, torch::nn::Module& base) {
  std::vector<std::string> names;
  analysis::visitFullDeltas(tuned, base, {}, [&](analysis::LayerDelta&& d) { names.push_back(d.layer); });
  return names;
}

MethodReport analyzeAdapterFolder(const AnalyzeArgs& a, const analysis::SnapshotOptions& options) {
  if (a.base.empty())
    throw Error("analysing an adapter folder needs the model it adapts").field("--base").file(a.path)
        .hint("give --base CHECKPOINT (a Hugging Face folder or a preset name)");
  auto folder = adapters::readAdapterFolder(a.path);
  MethodReport m;
  m.method = m.type = folder.config.peft_type == adapters::PeftType::FourierFT ? "fourierft" : "lora";
  if (!a.method.empty() && a.method != m.method)
    throw Error("the adapter folder holds another method").file(a.path).field("--method").expected(m.method).got(a.method);
  m.source = a.path;
  auto loaded = models::openModel(a.base, at::TensorOptions(at::kFloat));
  models::attachAdapterFolder(*loaded.model, std::move(folder));
  analysis::visitAdapterDeltas(*loaded.model, a.layers,
                               [&](analysis::LayerDelta&& d) { m.layers.push_back(analysis::analyzeLayer(d, options)); });
  checkLayersMatched(a, m, analysis::adaptedLayerNames(*loaded.model));
  // A preset's weights are drawn at random here: |dW|/|W0| against them would mean nothing. The
  // rest depends on the adapter alone.
  if (models::isPreset(a.base)) {
    for (auto& l : m.layers) l.normRatio = std::numeric_limits<double>::quiet_NaN();
    m.note = "|dW|/|W0| left out: the preset '" + a.base + "' has random weights here, not the ones trained on "
             "(give the Hugging Face folder for it)";
  }
  return m;
}

std::vector<MethodReport> analyzeRun(const AnalyzeArgs& a, const analysis::SnapshotOptions& options) {
  auto run = runs::RunFolder::open(a.path);
  const auto experimentFile = run.file(runs::run_files::kExperiment);
  auto e = train::Experiment::fromJson(run.readExperiment(), experimentFile);
  std::vector<const train::MethodSpec*> chosen;
  std::vector<std::string> known;
  for (const auto& spec : e.methods) {
    known.push_back(spec.name);
    if (a.method.empty() || spec.name == a.method) chosen.push_back(&spec);
  }
  if (chosen.empty()) throw Error("the run has no method '" + a.method + "'").file(run.path()).field("--method").expected(someNames(known));
  const auto summary = run.readSummary().value_or(nlohmann::json::object());
  // A method with nothing to analyse: named, with the reason.
  auto noteOnly = [&](const train::MethodSpec& spec, std::string note) {
    MethodReport m;
    m.method = spec.name;
    m.type = spec.type;
    m.source = run.path();
    m.note = std::move(note);
    return m;
  };
  std::optional<models::LoadedModel> base;  // loaded once, for every full fine-tuning method
  std::vector<MethodReport> out;
  for (const auto* chosenSpec : chosen) {
    const auto& spec = *chosenSpec;
    const std::string& name = spec.name;
    // A stopped run: the methods it did not finish are named and left out (as eval does), unless asked for.
    if (const auto status = runs::methodStatus(summary, name); a.method.empty() && status != "finished") {
      out.push_back(noteOnly(spec, "not analysed: " + status + " (fourierft train --resume " + a.path + " trains it)"));
      out.back().unfinished = true;
      continue;
    }
    if (spec.type == "head-only") {  // nothing to load for a note
      out.push_back(noteOnly(spec, "trains only the task head, so no layer has a ΔW to analyse"));
      continue;
    }
    auto trained = train::loadTrainedModel(run, e, name, c10::Device(c10::kCPU));
    MethodReport m;
    m.method = name;
    m.type = trained.method->type;
    m.source = trained.source;
    auto add = [&](analysis::LayerDelta&& d) { m.layers.push_back(analysis::analyzeLayer(d, options)); };
    if (m.type == "fourierft" || m.type == "lora") {
      analysis::visitAdapterDeltas(*trained.model, a.layers, add);
      checkLayersMatched(a, m, analysis::adaptedLayerNames(*trained.model));
    } else if (m.type == "full") {
      if (!base) {
        std::string basePath = a.base;
        if (basePath.empty()) {
          try {
            basePath = train::runBaseModel(run, summary);
          } catch (Error& err) {
            throw err.hint("give the checkpoint full fine-tuning started from with --base");
          }
        }
        if (models::isPreset(basePath))
          throw Error("the run's base model is a preset with random weights, which were not saved").file(run.path())
              .hint("full fine-tuning is compared with its starting weights: give them with --base");
        base = models::loadPretrained(basePath, at::TensorOptions(at::kFloat),
                                      summary.value("model_overrides", nlohmann::json::object()));
      }
      // A head the base model initialised fresh has no meaningful W0.
      analysis::visitFullDeltas(*trained.model, *base->model, a.layers, add, base->report.fresh);
      checkLayersMatched(a, m, linearNames(*trained.model, *base->model));
    }
    out.push_back(std::move(m));
  }
  return out;
}

void run(const AnalyzeArgs& a) {
  checkNotAFile(a.path, "PATH", "the run or adapter folder");
  if (!a.base.empty()) checkNotAFile(a.base, "--base", "the base model folder");
  configureThreads();
  analysis::SnapshotOptions options;
  options.rank.k = a.k;
  options.rank.fullLimit = a.fullLimit;
  if (a.k <= 0) throw Error("--k must be positive").field("--k").got(std::to_string(a.k));
  std::vector<MethodReport> reports;
  std::string kind;
  if (fileExists(a.path + "/adapter_config.json")) {
    kind = "adapter";
    reports.push_back(analyzeAdapterFolder(a, options));
  } else if (fileExists(a.path + "/" + runs::run_files::kExperiment)) {
    kind = "run";
    reports = analyzeRun(a, options);
  } else {
    throw Error("neither a run folder nor an adapter folder").file(a.path)
        .hint("a run folder holds experiment.json, an adapter folder adapter_config.json");
  }
  if (a.json) {
    nlohmann::json out = {{"path", a.path}, {"kind", kind}, {"methods", nlohmann::json::array()}};
    if (!a.base.empty()) out["base"] = a.base;
    for (const auto& m : reports) out["methods"].push_back(toJson(m));
    std::cout << out.dump(2) << "\n";
  } else {
    for (size_t i = 0; i < reports.size(); ++i) {
      if (i) std::cout << "\n";
      printTable(reports[i]);
    }
  }
  if (std::all_of(reports.begin(), reports.end(), [](const MethodReport& m) { return m.unfinished; }))
    throw Error("no method of the run finished").file(a.path).hint("fourierft train --resume " + a.path + " trains them");
}

}  // namespace

void addAnalyzeCommand(CLI::App& app) {
  auto a = std::make_shared<AnalyzeArgs>();
  auto* cmd = app.add_subcommand("analyze", "Rank and Fourier analysis of ΔW per layer, for a run or an adapter folder");
  cmd->add_option("PATH", a->path, "Run folder, or adapter folder (PEFT or native; needs --base)")->required();
  cmd->add_option("--method", a->method, "Only this method of the run");
  cmd->add_option("--layer", a->layers,
                  "Only layers matching NAME: the full module name or a run of its dotted parts (repeatable)");
  cmd->add_option("--base", a->base,
                  "The model an adapter folder adapts (checkpoint or preset); for a run, the base of full fine-tuning");
  cmd->add_flag("--json", a->json, "Print the per-layer figures as JSON");
  cmd->add_option("--k", a->k, "Singular values a randomized SVD computes for large layers")->capture_default_str();
  cmd->add_option("--full-limit", a->fullLimit, "Layers with a shorter side above this get the randomized SVD")
      ->capture_default_str();
  cmd->callback([a] { run(*a); });
}

}  // namespace fw::cli
