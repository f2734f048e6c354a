// fourierft bench: training steps of an encoder stack, one JSON line out, shaped like
// ../shared/bench/peft_cpu_anchor.py's `model` case: a preset's encoder layers on random hidden
// states [batch, seq, hidden], loss = mean(y²), forward + backward + AdamW on what the method trains
// (limit: nothing, the input's gradient only). Query and value carry the adapters.
#include "adapters/adapted_linear.h"
#include "adapters/inject.h"
#include "commands.h"
#include "step_timer.h"
#include "models/bert.h"
#include "models/model_adapters.h"
#include "models/presets.h"
#include "models/roberta.h"
#include "models/vit.h"
#include "util/error.h"
#include "util/runtime.h"

#include <torch/optim/adamw.h>

#include <cmath>
#include <iostream>

namespace fw::cli {

namespace {

struct ModelBench {
  std::string model = "roberta-base", method = "fourierft", path = "auto", device = "cpu";
  int64_t layers = 2, batch = 8, seq = 128, n = 1000, r = 8;
  double scaling = 150.0;
  int threads = 0, steps = 7, warmup = 2;
};

// The encoder of a BERT-style or ViT preset, and its hidden size.
std::pair<std::function<at::Tensor(const at::Tensor&)>, int64_t> encoderOf(models::PretrainedModel& m) {
  if (auto* r = dynamic_cast<models::RobertaForSequenceClassification*>(&m))
    return {[enc = r->roberta->encoder](const at::Tensor& x) mutable { return enc->forward(x, {}); }, r->config().value("hidden_size", 768)};
  if (auto* b = dynamic_cast<models::BertForSequenceClassification*>(&m))
    return {[enc = b->bert->encoder](const at::Tensor& x) mutable { return enc->forward(x, {}); }, b->config().value("hidden_size", 768)};
  if (auto* v = dynamic_cast<models::ViTForImageClassification*>(&m))
    return {[enc = v->vit->encoder](const at::Tensor& x) mutable { return enc->forward(x); }, v->config().value("hidden_size", 768)};
  throw Error("bench needs an encoder preset").field("--model").expected("bert-base, roberta-base, roberta-large or vit-base");
}

void run(const ModelBench& b) {
  if (b.method != "limit" && b.method != "lora" && b.method != "fourierft" && b.method != "full")
    throw Error("unknown method '" + b.method + "'").field("--method").expected("limit, lora, fourierft or full");
  const int threads = configureThreads(b.threads);
  const auto device = parseDevice(b.device, "--device");
  at::manual_seed(0);
  auto model = models::buildModel(models::presetConfig(b.model, b.layers), "preset '" + b.model + "'",
                                  at::TensorOptions(at::kFloat).device(device));
  models::initWeights(*model);
  model->eval();  // no dropout: the anchor has none
  for (auto& p : model->parameters()) p.set_requires_grad(b.method == "full");
  if (b.method == "fourierft" || b.method == "lora") {
    nlohmann::json cfg = {{"target_modules", {"query", "value"}}};
    if (b.method == "fourierft") cfg.update({{"peft_type", "FOURIERFT"}, {"n_frequency", b.n}, {"scaling", b.scaling}, {"random_loc_seed", 777}});
    else cfg.update({{"peft_type", "LORA"}, {"r", b.r}, {"lora_alpha", 2 * b.r}, {"init_lora_weights", false}});
    auto config = adapters::AdapterConfig::fromJson(cfg, "bench");
    config.fourierft.path = adapters::pathFromName(b.path);
    models::attachNewAdapters(*model, config);
  }
  // Not a structured binding: the step lambda captures the encoder (C++17 forbids capturing one).
  auto encoderAndHidden = encoderOf(*model);
  auto& encoder = encoderAndHidden.first;
  const int64_t hidden = encoderAndHidden.second;
  std::vector<at::Tensor> params;
  int64_t trainable = 0;
  for (auto& p : model->parameters())
    if (p.requires_grad()) params.push_back(p), trainable += p.numel();
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-4));
  auto x = at::randn({b.batch, b.seq, hidden}, at::TensorOptions(at::kFloat).device(device)).requires_grad_(b.method == "limit");
  auto step = [&] {
    encoder(x).pow(2).mean().backward();
    if (!params.empty()) {
      opt.step();
      opt.zero_grad();
    }
    if (x.requires_grad()) x.mutable_grad() = at::Tensor();
  };
  const auto times = timeSteps(step, device, b.warmup, b.steps);
  nlohmann::json paths = nlohmann::json::object();
  for (auto& [name, lin] : adapters::adaptedLinears(*model))
    if (auto* ff = dynamic_cast<adapters::FourierFTAdapter*>(lin->adapter())) paths[name] = adapters::pathName(ff->lastPath());
  nlohmann::json out = {{"impl", "fourier-workbench"}, {"torch", torchVersion()}, {"kind", "model"}, {"model", b.model},
                        {"method", b.method}, {"layers", b.layers}, {"batch", b.batch}, {"seq", b.seq}, {"n", b.n},
                        {"r", b.r}, {"threads", threads}, {"device", device.str()}, {"ms_median", times.medianMs},
                        {"ms_min", times.minMs}, {"trainable", trainable}, {"peak_rss_mib", std::lround(peakRssMiB())}};
  if (!paths.empty()) out["paths"] = paths;
  std::cout << out.dump() << std::endl;
}

}  // namespace

void addBenchModelCommand(CLI::App& app) {
  auto b = std::make_shared<ModelBench>();
  auto* cmd = app.add_subcommand("bench", "Time training steps of a preset's encoder layers; prints one JSON line");
  cmd->add_option("--model", b->model, "Encoder preset (bert-base, roberta-base, roberta-large, vit-base)")->capture_default_str();
  cmd->add_option("--layers", b->layers, "Encoder layers")->capture_default_str();
  cmd->add_option("--batch", b->batch, "Batch size")->capture_default_str();
  cmd->add_option("--seq", b->seq, "Sequence length")->capture_default_str();
  cmd->add_option("--method", b->method, "limit, lora, fourierft or full")->capture_default_str();
  cmd->add_option("--n", b->n, "FourierFT coefficients per layer")->capture_default_str();
  cmd->add_option("--r", b->r, "LoRA rank (alpha = 2r)")->capture_default_str();
  cmd->add_option("--scaling", b->scaling, "FourierFT scaling")->capture_default_str();
  cmd->add_option("--path", b->path, "FourierFT computation: auto, dense, merged or spectral")->capture_default_str();
  cmd->add_option("--device", b->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_option("--threads", b->threads, "CPU threads (0: all cores)")->capture_default_str();
  cmd->add_option("--steps", b->steps, "Timed steps")->capture_default_str();
  cmd->add_option("--warmup", b->warmup, "Untimed steps first")->capture_default_str();
  cmd->callback([b] { run(*b); });
}

}  // namespace fw::cli
