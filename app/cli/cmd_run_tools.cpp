// fourierft eval RUN / fourierft export RUN: use the trained methods of a finished run.
#include "adapters/adapted_linear.h"
#include "adapters/adapter_folder.h"
#include "adapters/inject.h"
#include "commands.h"
#include "util/path_checks.h"
#include "models/checkpoint.h"
#include "runs/run_folder.h"
#include "train/label_alignment.h"
#include "train/data_setup.h"
#include "train/evaluate.h"
#include "train/export_folder.h"
#include "train/run_models.h"
#include "util/error.h"
#include "util/runtime.h"

#include <filesystem>
#include <iomanip>
#include <iostream>

namespace fw::cli {

namespace {

std::vector<std::string> methodsOf(const train::Experiment& e, const std::string& only) {
  std::vector<std::string> out;
  for (const auto& m : e.methods)
    if (only.empty() || m.name == only) out.push_back(m.name);
  if (out.empty()) throw Error("the run has no method '" + only + "'").field("--method");
  return out;
}

}  // namespace

void addRunToolCommands(CLI::App& app) {
  struct Args {
    std::string run, method, device = "auto", peft, native, merged;
    int64_t batch = 0;
    bool force = false;
  };
  auto a = std::make_shared<Args>();
  auto* eval = app.add_subcommand("eval", "Evaluate each trained method of a run on the experiment's evaluation set");
  eval->add_option("RUN", a->run, "Run folder")->required();
  eval->add_option("--method", a->method, "Only this method");
  eval->add_option("--device", a->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  eval->add_option("--batch", a->batch, "Evaluation batch size (default: the experiment's)")->check(atLeast(1));
  eval->callback([a] {
    checkNotAFile(a->run, "RUN", "the run folder");
    configureThreads();
    auto run = runs::RunFolder::open(a->run);
    auto e = train::Experiment::fromJson(run.readExperiment(), run.file(runs::run_files::kExperiment));
    const auto device = parseDevice(a->device, "--device");
    const auto summary = run.readSummary().value_or(nlohmann::json::object());
    auto data = train::loadTrainData(e.dataset, e.model.tokenizer.empty() ? summary.value("base_model", std::string()) : e.model.tokenizer);
    // The classes numbered as the run trained them (in a checkpoint's own order, as run_glue.py).
    train::alignLabelsToConfig({&data.train, &data.eval},
                               train::baseConfigWith(summary.value("base_model", std::string()),
                                                     summary.value("model_overrides", nlohmann::json::object())));
    if (data.eval.examples.empty()) throw Error("the experiment has no evaluation set").file(run.file(runs::run_files::kExperiment)).field("dataset.eval");
    // A stopped run: the methods it did not finish are named and left out, unless asked for.
    size_t skipped = 0;
    const auto names = methodsOf(e, a->method);
    for (const auto& name : names) {
      if (const auto status = runs::methodStatus(summary, name); a->method.empty() && status != "finished") {
        std::cout << std::left << std::setw(20) << name << " not evaluated: " << status
                  << " (fourierft train --resume " << a->run << " trains it)\n";
        ++skipped;
        continue;
      }
      auto trained = train::loadTrainedModel(run, e, name, device);
      // Under the run's precision, so that the figures are those the run logged.
      auto r = train::evaluate(*trained.model, data.eval, a->batch > 0 ? a->batch : e.eval_batch_size, data.padId, device,
                               data.glueTask, nullptr, e.precision == "bf16");
      std::cout << std::left << std::setw(20) << name << std::fixed << std::setprecision(4) << " loss " << r.loss;
      for (const auto& [k, v] : r.metrics) std::cout << "  " << k << " " << v;
      std::cout << "  (" << r.examples << " examples)\n";
    }
    if (skipped == names.size())
      throw Error("no method of the run finished").file(a->run).hint("fourierft train --resume " + a->run + " trains them");
  });

  auto b = std::make_shared<Args>();
  auto* exp = app.add_subcommand("export", "Export a trained method: PEFT or native adapter folder, or a merged checkpoint");
  exp->add_option("RUN", b->run, "Run folder")->required();
  exp->add_option("--method", b->method, "The method to export (default: the only or first one)");
  exp->add_option("--peft", b->peft, "Write the PEFT adapter folder here");
  exp->add_option("--native", b->native, "Write the native adapter folder (with frequency positions) here");
  exp->add_option("--merged", b->merged, "Write a full Hugging Face checkpoint with W0 + ΔW here");
  exp->add_flag("--force", b->force,
                "Export into a folder that is not empty, removing first the files the export writes there "
                "(adapter or checkpoint files of an earlier export; other files stay)");
  exp->callback([b] {
    if (b->peft.empty() && b->native.empty() && b->merged.empty())
      throw Error("nothing to export").hint("give --peft DIR, --native DIR or --merged DIR");
    {
      namespace fs = std::filesystem;
      const std::vector<std::pair<std::string, std::string>> targets{
          {"--peft", b->peft}, {"--native", b->native}, {"--merged", b->merged}};
      auto normal = [](const std::string& dir) {
        auto n = fs::absolute(dir).lexically_normal();
        return n.has_filename() ? n : n.parent_path();  // "out/" and "out" alike
      };
      for (size_t i = 0; i < targets.size(); ++i)
        for (size_t j = i + 1; j < targets.size(); ++j)
          if (!targets[i].second.empty() && !targets[j].second.empty() &&
              normal(targets[i].second) == normal(targets[j].second))
            throw Error(targets[i].first + " and " + targets[j].first + " name the same folder")
                .file(targets[j].second)
                .field(targets[j].first)
                .hint("give each export a folder of its own");
      // All of them checked before anything is written: a refusal leaves no export half done.
      for (const auto& [flag, dir] : targets)
        if (!dir.empty()) train::checkExportFolder(dir, flag, b->force);
      checkNotAFile(b->run, "RUN", "the run folder");
    }
    configureThreads();
    auto run = runs::RunFolder::open(b->run);
    auto e = train::Experiment::fromJson(run.readExperiment(), run.file(runs::run_files::kExperiment));
    const std::string name = b->method.empty() ? e.methods.front().name : b->method;
    // An adapter export reads only the adapter: the base model is loaded for --merged alone.
    auto trained = [&] {
      // The method and its adapter first: their errors are not --merged's.
      auto located = train::locateTrainedMethod(run, e, name);
      if (b->merged.empty()) return located;
      if (located.method->type != "fourierft" && located.method->type != "lora")
        return train::loadTrainedModel(run, e, name, c10::Device(c10::kCPU));  // its own checkpoint, no base
      (void)adapters::readAdapterFolder(located.source);
      try {
        return train::loadTrainedModel(run, e, name, c10::Device(c10::kCPU));
      } catch (Error& err) {  // the base model: --merged alone needs it
        if (err.fieldName().empty()) err.field("--merged");
        if (!b->peft.empty() || !b->native.empty())
          err.hint(err.hintText() + (err.hintText().empty() ? "" : "; ") + "--peft and --native need no base: leave --merged out");
        throw;
      }
    }();
    const bool adapter = trained.method->type == "fourierft" || trained.method->type == "lora";
    if ((!b->peft.empty() || !b->native.empty()) && !adapter)
      throw Error("method '" + name + "' (" + trained.method->type + ") has no adapter to export").field("--peft")
          .hint("export it with --merged");
    // --force clears a target only now, with everything read: a failure before leaves it as it was.
    if (adapter) {
      auto folder = adapters::readAdapterFolder(trained.source);
      if (!b->peft.empty()) {
        train::clearExportFolder(b->peft, "--peft", false, b->force);
        adapters::writeAdapterFolder(b->peft, folder, false);
        std::cout << "PEFT adapter: " << b->peft << "\n";
      }
      if (!b->native.empty()) {
        train::clearExportFolder(b->native, "--native", false, b->force);
        adapters::writeAdapterFolder(b->native, folder, true);
        std::cout << "native adapter: " << b->native << "\n";
      }
    }
    if (!b->merged.empty()) {
      train::clearExportFolder(b->merged, "--merged", true, b->force);
      adapters::mergeAdapters(*trained.model);
      models::saveCheckpointFolder(*trained.model, b->merged);
      std::cout << "merged checkpoint: " << b->merged << "\n";
    }
  });
}

}  // namespace fw::cli
