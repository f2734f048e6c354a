#include "train/trainer.h"

#include "adapters/adapter_folder.h"
#include "distributed/data_parallel.h"
#include "analysis/delta_weights.h"
#include "analysis/snapshot.h"
#include "models/checkpoint.h"
#include "models/presets.h"
#include "runs/run_index.h"
#include "train/data_setup.h"
#include "train/evaluate.h"
#include "train/label_alignment.h"
#include "train/method_setup.h"
#include "train/run_models.h"
#include "train/step_memory.h"
#include "io/atomic_file.h"
#include "util/error.h"
#include "util/files.h"
#include "util/path_checks.h"
#include "util/runtime.h"

#include <torch/cuda.h>

#include <filesystem>
#include <optional>
#include <set>

namespace fw::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

at::ScalarType dtypeOf(const std::string& s) {
  return s == "bf16" ? at::kBFloat16 : s == "fp16" ? at::kHalf : at::kFloat;
}

// Overrides that make a base model fit the data: the number of labels and, as Hugging Face's
// run_glue.py does, the data's class names (id2label, label2id: what an exported checkpoint's
// pipeline prints), unless the experiment's model config names its own.
json fitToData(const Experiment& e, const data::Dataset& train) {
  json o = e.model.config;
  if (train.kind == data::TaskKind::Classification || train.kind == data::TaskKind::ImageClassification) {
    o["num_labels"] = train.numLabels;
    const auto& names = train.labelNames;
    const bool named = int64_t(names.size()) == train.numLabels &&
                       std::set<std::string>(names.begin(), names.end()).size() == names.size();
    if (named && !o.contains("id2label") && !o.contains("label2id")) {
      json id2label = json::object(), label2id = json::object();
      for (size_t i = 0; i < names.size(); ++i) {
        id2label[std::to_string(i)] = names[i];
        label2id[names[i]] = int64_t(i);
      }
      o["id2label"] = id2label;
      o["label2id"] = label2id;
    }
  }
  if (train.kind == data::TaskKind::Regression) o["num_labels"] = 1;
  return o;
}

// Refuses, before a method trains on the CPU, a step that will not fit in the memory available now
// (train/step_memory.h): the longest example sets the sequence, each rank takes its share of a batch.
void checkStepFits(const PreparedMethod& p, const TrainData& data, const LoopConfig& cfg, int world, int processesHere) {
  if (!cfg.device.is_cpu() || data.train.examples.empty()) return;
  StepShape shape;
  shape.batch = std::min<int64_t>(cfg.batchSize, int64_t(data.train.examples.size())) / std::max(1, world);
  shape.trainable = p.trainableParameters;
  shape.causalLm = data.train.kind == data::TaskKind::CausalLM;
  if (data.train.kind == data::TaskKind::ImageClassification) {
    const auto& c = p.model->config();
    const int64_t side = c.value("image_size", int64_t(224)) / std::max<int64_t>(1, c.value("patch_size", int64_t(16)));
    shape.sequence = side * side + 1;
  } else {
    for (const auto& ex : data.train.examples) shape.sequence = std::max<int64_t>(shape.sequence, int64_t(ex.ids.size()));
  }
  checkStepMemory(estimateStepMemory(p.model->config(), shape), availableMemoryMiB(), processesHere, cfg.method, shape);
}

LoopConfig loopConfigFor(const Experiment& e, const std::string& method, const c10::Device& device) {
  LoopConfig c;
  c.method = method;
  c.epochs = e.epochs;
  c.maxSteps = e.max_steps;
  c.batchSize = e.batch_size;
  c.evalBatchSize = e.eval_batch_size;
  c.evalEvery = e.eval_every;
  c.checkpointEvery = e.checkpoint_every;
  c.logEvery = e.log_every;
  c.warmupRatio = e.warmup_ratio;
  c.gradClip = e.grad_clip;
  c.weightDecay = e.weight_decay;
  c.beta1 = e.adam_beta1;
  c.beta2 = e.adam_beta2;
  c.eps = e.adam_eps;
  c.seed = uint64_t(e.seed);
  c.device = device;
  c.autocastBf16 = e.precision == "bf16";
  return c;
}

json resultJson(const MethodResult& r) {
  auto finite = [](const std::map<std::string, double>& m) {
    json j = json::object();
    for (const auto& [k, v] : m) j[k] = std::isfinite(v) ? json(v) : json(nullptr);
    return j;
  };
  return {{"type", r.type}, {"status", r.status}, {"steps", r.steps}, {"seconds", r.seconds},
          {"trainable_parameters", r.trainableParameters}, {"final_metrics", finite(r.finalMetrics)},
          {"best_metrics", finite(r.bestMetrics)}, {"error", r.error},
          {"time", {{"steps_s", r.stepSeconds}, {"data_wait_s", r.dataWaitSeconds}, {"eval_s", r.evalSeconds},
                    {"checkpoint_s", r.checkpointSeconds}, {"snapshot_s", r.snapshotSeconds},
                    {"step_share", r.stepShare}}},
          {"bytes_all_reduced", r.bytesReduced}};
}

// The folder where methods find the tokenizer of a text dataset.
std::string tokenizerDirFor(const Experiment& e, const std::string& base) {
  if (!e.model.tokenizer.empty()) return e.model.tokenizer;
  return models::isPreset(base) ? std::string() : base;
}

// What the run index keeps of the results (runs::formatRunTable's METRIC column): each method's
// final metrics from summary.json's `methods`, and the metric the task is ranked by when known.
json indexMetricsOf(const json& methods, const std::string& mainMetric) {
  json out = json::object();
  if (!mainMetric.empty()) out["main_metric"] = mainMetric;
  if (methods.is_object())
    for (const auto& [name, m] : methods.items())
      if (m.is_object() && m.contains("final_metrics") && m["final_metrics"].is_object() && !m["final_metrics"].empty())
        out[name] = m["final_metrics"];
  return out;
}

}  // namespace

void checkBeforeRun(const Experiment& e) {
  if (!e.model.preset.empty() && !models::isPreset(e.model.preset)) {
    try {
      models::presetConfig(e.model.preset);  // throws, naming the presets
    } catch (Error& err) {
      err.field("model.preset");
      throw;
    }
  }
  auto folder = [](const std::string& path, const char* field, const char* what) {
    if (path.empty() || fs::is_directory(path)) return;
    checkNotAFile(path, field, what);  // tokenizer.json for its folder
    throw Error("folder not found").file(path).field(field).expected(what);
  };
  folder(e.model.checkpoint, "model.checkpoint", "a Hugging Face folder: config.json and model.safetensors");
  // The tokenizer is read for a text dataset only (an image experiment may keep an old path).
  if (isTextDataset(e.dataset))
    folder(e.model.tokenizer, "model.tokenizer", "a folder with tokenizer.json, vocab.txt or vocab.json and merges.txt");
  // The pretrain stage's data is not checked: a cached base never reads it.
  for (const auto& [path, name] : {std::pair{e.dataset.train, "train"}, std::pair{e.dataset.eval, "eval"}})
    if (!path.empty() && !fs::exists(path))
      throw Error("dataset file or folder not found").file(path).field(std::string("dataset.") + name);
}

namespace {

// The model's head must fit the data: a causal LM's logits are per token, an encoder's per
// sequence, ViT's per image (a mismatch failed inside the loss, in LibTorch's words).
void checkModelFitsData(const models::PretrainedModel& model, const std::string& base, const data::Dataset& train) {
  using models::Task;
  const Task task = model.task();
  const data::TaskKind kind = train.kind;
  const bool fits = task == Task::CausalLM ? kind == data::TaskKind::CausalLM
                  : task == Task::ImageClassification ? kind == data::TaskKind::ImageClassification
                  : kind == data::TaskKind::Classification || kind == data::TaskKind::Regression;
  if (fits) return;
  const char* what = task == Task::CausalLM ? "a causal language model"
                   : task == Task::ImageClassification ? "an image classifier" : "a text encoder";
  const char* data = kind == data::TaskKind::CausalLM ? "instruction data"
                   : kind == data::TaskKind::ImageClassification ? "images"
                   : kind == data::TaskKind::Regression ? "regression data" : "text classification data";
  throw Error(model.modelType() + " is " + what + " and cannot train on " + data).field("model").got(base)
      .hint("GLUE and tables train an encoder such as BERT or RoBERTa, instructions a causal LM such as GPT-2 "
            "or LLaMA, images ViT");
}

}  // namespace

std::shared_ptr<models::PretrainedModel> buildBaseModel(const Experiment& e, const std::string& base,
                                                        const data::Dataset& train, const c10::Device& device) {
  at::manual_seed(uint64_t(e.seed));
  auto loaded = models::openModel(base, at::TensorOptions(dtypeOf(e.model.dtype)).device(device), fitToData(e, train));
  auto model = loaded.model;
  checkModelFitsData(*model, base, train);
  if (e.model.fresh_head && model->numLabels() == 0)
    throw Error("fresh_head starts a classification head afresh, and a causal LM has none: its lm_head is the "
                "pretrained output layer, which it would wipe")
        .field("model.fresh_head")
        .hint("leave fresh_head out for a causal LM");
  if (e.model.fresh_head) {
    at::NoGradGuard noGrad;
    const double std = model->config().value("initializer_range", 0.02);
    for (const auto& head : model->headModules())
      for (auto& p : model->named_parameters(true))
        if (p.key().rfind(head + ".", 0) == 0) {
          if (p.key().size() > 5 && p.key().compare(p.key().size() - 5, 5, ".bias") == 0) p.value().zero_();
          else p.value().normal_(0.0, std);
        }
  }
  return model;
}

std::string Trainer::prepareBase(const Experiment& e, TrainObserver* observer, const std::atomic<bool>* stop,
                                 const std::atomic<bool>* pause) {
  if (!e.model.pretrain.enabled) return e.model.checkpoint.empty() ? e.model.preset : e.model.checkpoint;
  const auto& p = e.model.pretrain;
  // The cache remembers what made it; another preset, config, stage or seed trains it again.
  const json recipe = {{"preset", e.model.preset}, {"config", models::presetConfig(e.model.preset)},
                       {"overrides", e.model.config}, {"pretrain", e.toJson()["model"]["pretrain"]}, {"seed", e.seed},
                       {"dtype", e.model.dtype}};
  const auto recipePath = (fs::path(p.cache) / kPretrainRecipeFile).string();
  if (fs::exists(fs::path(p.cache) / "config.json") && fs::exists(fs::path(p.cache) / "model.safetensors")) {
    if (fs::exists(recipePath) && readJsonFile(recipePath) == recipe) {
      if (observer) observer->onLog("base model: " + p.cache + " (cached)");
      return p.cache;
    }
    if (observer) observer->onLog("base model: the cache in " + p.cache + " was made another way; training it again");
  }
  if (observer) observer->onLog("base model: training " + e.model.preset + " in full first; it is cached in " + p.cache);
  const auto device = parseDevice(e.device);
  auto data = loadTrainData(p.dataset, e.model.tokenizer, "model.pretrain.dataset");
  Experiment stage = e;
  stage.model.pretrain.enabled = false;
  stage.model.fresh_head = false;
  stage.epochs = p.epochs;
  stage.batch_size = p.batch_size;
  stage.weight_decay = p.weight_decay;
  stage.warmup_ratio = p.warmup_ratio;
  stage.max_steps = 0;
  stage.eval_every = 0;
  MethodSpec full;
  full.name = "base";
  full.type = "full";
  full.lr = p.lr;
  auto prepared = prepareMethod(buildBaseModel(stage, e.model.preset, data.train, device), full, stage);
  auto config = loopConfigFor(stage, "base", device);
  config.pause = pause;
  checkStepFits(prepared, data, config, 1, 1);
  auto result = runTrainLoop(prepared, data, config, {}, observer, stop);
  if (result.status != "finished") {  // a user stop: nothing is cached, and the caller ends the run "stopped"
    if (observer) {
      observer->onLog("base model: training was stopped; nothing was cached");
      observer->onMethodFinished(result);
    }
    return std::string();
  }
  prepared.model->eval();
  // The recipe goes first: a kill while the new weights are written must not leave them (or
  // half of them) under the old recipe, which would be taken as a valid cache next time.
  std::error_code ec;
  fs::remove(recipePath, ec);
  if (ec) throw Error("cannot remove the old recipe of the cached base model: " + ec.message()).file(recipePath);
  models::saveCheckpointFolder(*prepared.model, p.cache);
  io::writeFileAtomic(recipePath, recipe.dump(2) + "\n");
  if (observer) observer->onMethodFinished(result);
  return p.cache;
}

Trainer::Trainer(Experiment experiment, TrainerOptions options, TrainObserver* observer, const std::atomic<bool>* stop)
    : e_(std::move(experiment)), opts_(std::move(options)), observer_(observer), stop_(stop) {}

std::string Trainer::run() {
  const int threads = configureThreads(opts_.threads);
  auto device = parseDevice(e_.device);
  // Data-parallel when launched as one of several workers (fourierft train --nproc, torchrun).
  std::unique_ptr<dist::DataParallel> parallel;
  if (opts_.worker.worldSize > 1) {
    if (device.is_cuda()) {
      // One GPU per worker on a machine: more workers than GPUs would share one, or index none.
      const int gpus = int(torch::cuda::device_count());
      if (opts_.worker.localRank >= gpus)
        throw Error("worker " + std::to_string(opts_.worker.rank) + " has LOCAL_RANK " +
                    std::to_string(opts_.worker.localRank) + ", but this machine shows " + std::to_string(gpus) +
                    " CUDA device" + (gpus == 1 ? "" : "s"))
            .field("LOCAL_RANK")
            .hint("start at most one worker per GPU on each machine (--nproc, or torchrun's --nproc-per-node)");
      device = c10::Device(c10::kCUDA, c10::DeviceIndex(opts_.worker.localRank));
    }
    parallel = std::make_unique<dist::DataParallel>(opts_.worker, opts_.collectiveTimeout, device);
  }
  // Rank 0 alone writes the run folder, the index and the adapters; the others read it.
  const bool lead = !parallel || parallel->lead();
  const bool resuming = !opts_.resumeDir.empty();
  std::optional<runs::RunFolder> folder;
  if (resuming) {
    folder = runs::RunFolder::open(opts_.resumeDir);
    e_ = Experiment::fromJson(folder->readExperiment(), folder->file(runs::run_files::kExperiment));
  } else {
    checkBeforeRun(e_);  // on every rank (it only reads): each says what is wrong, none waits on rank 0
  }
  // Opened before a new run folder is made: an --index that cannot be used (a folder, no
  // permission, not a run index) leaves no run folder behind.
  std::optional<runs::RunIndex> index;
  if (lead && !opts_.indexPath.empty()) index = runs::RunIndex::open(opts_.indexPath);
  if (!resuming && lead) {
    runs::checkWritableFolder(opts_.runsDir, 64ull << 20);
    folder = runs::RunFolder::create(opts_.runsDir, runs::runName(e_.name, std::time(nullptr)), e_.toJson());
  }
  if (parallel) {
    const auto path = parallel->shareFromLead("run_folder", lead ? folder->path() : std::string());
    if (!lead && !resuming) folder = runs::RunFolder::open(path);
    parallel->checkSame("experiment", dist::fingerprint(e_.toJson().dump()));
  }
  auto& run = *folder;
  // The run's record in the index, added when it has none (a run made with --no-index).
  auto recordId = [&]() -> int64_t {
    if (auto rec = index->byFolder(run.path())) return rec->id;
    runs::RunRecord r;
    r.folder = run.path();
    r.name = e_.name;
    r.experiment = e_.toJson();
    r.model = e_.model.checkpoint.empty() ? e_.model.preset : e_.model.checkpoint;
    r.dataset = e_.dataset.kind == "glue" ? e_.dataset.task : e_.dataset.train;
    for (const auto& m : e_.methods) r.methods.push_back(m.name);
    return index->add(r);
  };
  if (resuming) {
    const json before = run.readSummary().value_or(json::object());
    // A finished run has nothing to train: it changes nothing but its index record, which is
    // made to say "finished" (a kill after the summary's "finished" left it running, or the run
    // was made without an index), and ends "finished" whatever the number of processes.
    std::string done = lead && before.value("status", json()) == json("finished") ? "1" : "";
    if (parallel) done = parallel->shareFromLead("resume_finished", done);
    if (!done.empty()) {
      if (index) {
        const int64_t id = recordId();
        if (index->get(id)->status != runs::RunStatus::Finished) {
          index->claim(id);
          index->finish(id, indexMetricsOf(before.value("methods", json()), ""), runs::RunStatus::Finished);
        }
      }
      if (observer_ && lead) {
        observer_->onRunFolder(run.path());
        observer_->onLog("this run has finished: nothing to resume");
        observer_->onFinished(run.path(), "finished");
      }
      status_ = "finished";
      return run.path();
    }
    const auto& worldSize = before.contains("world_size") ? before["world_size"] : nlohmann::json(1);
    if (!worldSize.is_number_integer() || worldSize.get<int64_t>() < 1 || worldSize.get<int64_t>() > 1 << 20)
      throw Error("world size is not a process count").file(run.file(runs::run_files::kSummary)).field("world_size")
          .got(worldSize.dump()).hint("the run's summary.json is damaged");
    const int trainedWith = worldSize.get<int>();
    const int now = parallel ? parallel->worldSize() : 1;
    if (trainedWith != now)
      throw Error("this run was trained with " + std::to_string(trainedWith) + " process" + (trainedWith == 1 ? "" : "es") +
                  "; resuming it with " + std::to_string(now) + " would change its batches")
          .file(run.path())
          .hint("resume with --nproc " + std::to_string(trainedWith));
  }
  if (opts_.onRunFolder) opts_.onRunFolder(run.path(), parallel ? parallel->rank() : 0);
  if (observer_ && lead) observer_->onRunFolder(run.path());
  int64_t indexId = 0;
  if (index) {
    indexId = recordId();
    // A resume after a kill finds the record still "running" with a dead owner: claim() takes it
    // over, and refuses while the process that runs it is alive.
    index->claim(indexId);
  }
  json summary = run.readSummary().value_or(json::object());
  if (!summary.contains("methods")) summary["methods"] = json::object();
  // What only rank 0 does; the others skip it.
  auto asLead = [&](auto&& f) {
    if (lead) f();
  };
  asLead([&] {
    run.updateSummary({{"status", "running"}, {"name", e_.name}, {"methods", summary["methods"]},
                       {"threads", threads}, {"device", device.str()}, {"torch", torchVersion()},
                       {"world_size", parallel ? parallel->worldSize() : 1}});
    run.log(resuming ? "resumed" : "started");
  });
  // What the run index keeps of the results (runs::formatRunTable's METRIC column): each method's
  // final metrics and the metric the task is ranked by, once the data says which.
  std::string mainMetric;
  auto indexMetrics = [&] { return indexMetricsOf(summary["methods"], mainMetric); };
  auto fail = [&](const std::string& message) {
    asLead([&] {
      run.log("failed: " + message);
      run.updateSummary({{"status", "failed"}, {"error", message}});
      if (index) index->finish(indexId, indexMetrics(), runs::RunStatus::Failed, message);
    });
    if (observer_) observer_->onFinished(run.path(), "failed");
  };

  std::string status = "finished";
  try {
    // Rank 0 makes (or finds) the base model; the others wait for it rather than race its cache.
    std::string base;
    if (lead) base = prepareBase(e_, observer_, stop_, opts_.pause);
    if (parallel) base = parallel->shareFromLead("base_model", base);
    // Stopped in the pretrain stage: no method runs, the run ends "stopped" (every rank learns it
    // from the lead's empty answer).
    if (base.empty()) {
      status = "stopped";
    } else {
      auto data = loadTrainData(e_.dataset, tokenizerDirFor(e_, base));
      // Every rank renumbers alike: the same files, the same config. A fresh head has no order to keep.
      const std::string labelNote =
          e_.model.fresh_head ? "" : alignLabelsToConfig({&data.train, &data.eval}, baseConfigWith(base, e_.model.config));
      mainMetric = primaryMetric(data.eval.examples.empty() ? data.train : data.eval, data.glueTask);
      asLead([&] {
        // Absolute: eval and export read it later from another working folder (the window's
        // in-process runs keep the experiment's paths as typed).
        const std::string recorded = models::isPreset(base) ? base : fs::absolute(base).lexically_normal().string();
        json patch = {{"base_model", recorded}, {"model_overrides", fitToData(e_, data.train)},
                      {"train_examples", data.train.examples.size()}, {"eval_examples", data.eval.examples.size()},
                      {"skipped_rows", data.train.skippedRows + data.eval.skippedRows}};
        // What made a cached base: eval and export check it (runBaseModel), since a later run
        // with another recipe trains the shared cache again.
        if (e_.model.pretrain.enabled) patch["base_recipe"] = readJsonFile((fs::path(base) / kPretrainRecipeFile).string());
        run.updateSummary(patch);
        if (data.train.skippedRows > 0) run.log("skipped " + std::to_string(data.train.skippedRows) + " bad training rows");
        if (data.eval.skippedRows > 0) run.log("skipped " + std::to_string(data.eval.skippedRows) + " bad evaluation rows");
        // Told at the start, not when eval, export --merged or analyze refuses the run later.
        auto note = [&](const std::string& line) {
          run.log(line);
          if (observer_) observer_->onLog(line);
        };
        if (!labelNote.empty()) note(labelNote);
        if (models::isPreset(base))
          note("note: the base model is the preset " + base + " with random weights, which are not saved: eval, "
               "export --merged and analyze cannot rebuild this run's model (train on a checkpoint, or cache a "
               "pretrained base with model.pretrain)");
        if (e_.dataset.eval.empty() && e_.dataset.eval_limit > 0)
          note("note: dataset.eval_limit is set but there is no dataset.eval: nothing is evaluated");
      });
      std::optional<runs::MetricsWriter> metrics;
      if (lead) metrics.emplace(run.metrics());
      auto logSnapshotFailure = [&](const std::string& method, int64_t step, const std::string& what) {
        const std::string line = "analysis of method '" + method + "' at step " + std::to_string(step) +
                                 " failed, and no more snapshots of it are taken (training goes on): " + what;
        run.log(line);
        if (observer_) observer_->onLog(line);
      };
      for (const auto& m : e_.methods) {
        if (runs::methodStatus(summary, m.name) == "finished") {
          if (observer_) observer_->onLog(m.name + ": finished before, skipped");
          continue;
        }
        auto prepared = prepareMethod(buildBaseModel(e_, base, data.train, device), m, e_);
        asLead([&] { run.log(m.name + ":\n" + prepared.summary); });
        if (observer_) observer_->onLog(prepared.summary);
        if (parallel) {
          std::vector<at::Tensor> state;
          for (const auto& p : prepared.model->parameters()) state.push_back(p);
          for (const auto& b : prepared.model->buffers()) state.push_back(b);
          parallel->checkSame("weights, adapters and frequency positions of '" + m.name + "'", dist::fingerprint(state));
        }
        LoopOutput out;
        if (lead) {
          out.metrics = [&](const json& line) { metrics->append(line); };
          out.checkpointDir = [&](int64_t step) { return run.createCheckpointDir(step, m.name); };
          out.checkpointWritten = [&](const std::string& dir) {
            run.markCheckpointComplete(dir);
            run.pruneCheckpoints(int(e_.keep_checkpoints), m.name);
          };
        }
        // Every rank resumes from rank 0's checkpoint: the run folder must be shared (one machine,
        // or a shared file system).
        if (auto latest = run.latestCheckpoint(m.name)) out.resumeFrom = latest->dir;
        if (parallel) parallel->checkSame("checkpoint to resume from", dist::fingerprint(out.resumeFrom.value_or("")));
        std::vector<std::string> analysed;
        if (lead && prepared.adapterConfig && e_.analysis_budget > 0) {
          analysed = analysis::SnapshotPolicy::chooseLayers(analysis::adaptedLayerNames(*prepared.model), e_.analysis_layers);
          out.snapshotBudget = e_.analysis_budget;
          // A snapshot that fails (an SVD that does not converge on a ΔW gone non-finite, a full
          // disk) is told once and the method trains on: the analysis must not cost the run.
          out.snapshot = [&, failed = false](int64_t step) mutable {
            if (failed) return;
            try {
              auto snap = analysis::makeSnapshot(m.name, step, analysis::adapterDeltas(*prepared.model, analysed));
              analysis::writeSnapshot(run, snap);
            } catch (const std::exception& err) {
              failed = true;
              logSnapshotFailure(m.name, step, err.what());
            }
          };
        }
        auto config = loopConfigFor(e_, m.name, device);
        config.parallel = parallel.get();
        config.pause = opts_.pause;
        checkStepFits(prepared, data, config, parallel ? parallel->worldSize() : 1, parallel ? opts_.worker.localWorldSize : 1);
        const int64_t bytesBefore = parallel ? parallel->bytesReduced() : 0;
        auto result = runTrainLoop(prepared, data, config, out, observer_, stop_);
        result.type = m.type;
        if (parallel) result.bytesReduced = parallel->bytesReduced() - bytesBefore;
        // Rank 0 alone writes the method's adapters, checkpoint and analysis (the others wait for it
        // here rather than in the next method's first collective, whose timeout the writes can pass).
        auto methodWritten = [&] {
          if (parallel) parallel->waitForLead("method/" + m.name);
        };
        if (!lead) {
          methodWritten();
          if (result.status == "stopped") {
            status = "stopped";
            break;
          }
          continue;
        }
        if (prepared.adapterConfig) {
          auto saved = adapters::captureAdapters(*prepared.model, *prepared.adapterConfig);
          adapters::writeAdapterFolder(run.adapterDir(m.name, runs::AdapterFormat::Peft), saved, false);
          adapters::writeAdapterFolder(run.adapterDir(m.name, runs::AdapterFormat::Native), saved, true);
        } else if (result.status == "finished") {
          models::saveCheckpointFolder(*prepared.model, methodCheckpointDir(run, m.name));
          if (m.type == "full" && e_.analysis_budget > 0) {
            // ΔW = W - W0 of the layers the adapters target elsewhere in the run, once at the end.
            std::vector<std::string> layers = e_.analysis_layers;
            for (const auto& other : e_.methods)
              if (layers.empty() && !other.target_modules.empty()) layers = other.target_modules;
            try {
              // Inside: a second copy of the model that does not fit fails the snapshot, not the method.
              auto base0 = buildBaseModel(e_, base, data.train, device);
              auto deltas = analysis::fullDeltas(*prepared.model, *base0, layers);
              if (deltas.size() > 2) deltas.erase(deltas.begin() + 1, deltas.end() - 1);  // first and last, as for adapters
              analysis::writeSnapshot(run, analysis::makeSnapshot(m.name, result.steps, deltas));
            } catch (const std::exception& err) {  // the method's checkpoint is written: it stays finished
              logSnapshotFailure(m.name, result.steps, err.what());
            }
          }
        }
        summary["methods"][m.name] = resultJson(result);
        run.updateSummary({{"methods", {{m.name, summary["methods"][m.name]}}}});
        if (observer_) observer_->onMethodFinished(result);
        methodWritten();
        if (result.status == "stopped") {
          status = "stopped";
          break;
        }
      }
    }
  } catch (const Error& err) {
    fail(err.what());
    throw;
  } catch (const std::exception& err) {
    fail(err.what());
    throw;
  }
  asLead([&] {
    run.updateSummary({{"status", status}});
    run.log(status);
  });
  if (index) index->finish(indexId, indexMetrics(), status == "finished" ? runs::RunStatus::Finished : runs::RunStatus::Stopped);
  status_ = status;
  if (observer_) observer_->onFinished(run.path(), status);
  return run.path();
}

}  // namespace fw::train
