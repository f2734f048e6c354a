// fourierft bench: training steps of a preset's layer stack, one JSON line out, shaped like
// ../shared/bench/peft_cpu_anchor.py's `model` case: the encoder layers (or a LLaMA's decoder layers
// and final norm) on random hidden states [batch, seq, hidden], loss = mean(y²), forward + backward
// + AdamW on what the method trains (limit, alias frozen-input-grad: nothing, the input's gradient
// only). Query and value (q_proj, v_proj) carry the adapters; GPT-2's blocks (causal attention, then
// ln_f) carry them on c_attn, its query, key and value in one projection. On a GPU it also reports the caching
// allocator's peak, and bench/gpu-vs-peft runs the same cases through transformers and PEFT.
#include "adapters/adapted_linear.h"
#include "adapters/fourierft_ops.h"
#include "adapters/inject.h"
#include "commands.h"
#include "step_timer.h"
#include "models/bert.h"
#include "models/gpt2.h"
#include "models/layers.h"
#include "models/llama.h"
#include "models/model_adapters.h"
#include "models/presets.h"
#include "models/roberta.h"
#include "models/vit.h"
#include "train/foreach_adamw.h"
#include "train/memory.h"
#include "util/error.h"
#include "util/runtime.h"

#include <cmath>
#include <iostream>

namespace fw::cli {

namespace {

struct ModelBench {
  std::string model = "roberta-base", method = "fourierft", path = "auto", grad = "auto", device = "cpu", dtype = "fp32";
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
  if (auto* l = dynamic_cast<models::LlamaForCausalLM*>(&m))
    return {[dec = l->model](const at::Tensor& x) mutable { return dec->forwardEmbeddings(x, {}); }, l->config().value("hidden_size", 4096)};
  if (auto* g = dynamic_cast<models::GPT2LMHeadModel*>(&m))
    return {[gpt = g->transformer](const at::Tensor& x) mutable {
              auto h = x;
              const auto mask = models::causalMask(x.size(1), {}, x.scalar_type(), x.device());
              for (const auto& block : *gpt->h) h = block->as<models::GPT2BlockImpl>()->forward(h, mask);
              return gpt->ln_f(h);
            },
            g->config().value("n_embd", 768)};
  throw Error("bench needs an encoder, GPT-2 or LLaMA preset").field("--model")
      .expected("bert-base, roberta-base, roberta-large, vit-base, gpt2 or llama-7b");
}

at::ScalarType benchDtype(const std::string& s) {
  if (s == "fp32") return at::kFloat;
  if (s == "bf16") return at::kBFloat16;
  throw Error("unknown dtype '" + s + "'").field("--dtype").expected("fp32 or bf16");
}

void run(const ModelBench& b) {
  const bool limit = b.method == "limit" || b.method == "frozen-input-grad";
  if (!limit && b.method != "lora" && b.method != "fourierft" && b.method != "full")
    throw Error("unknown method '" + b.method + "'").field("--method").expected("limit (frozen-input-grad), lora, fourierft or full");
  const int threads = configureThreads(b.threads);
  const auto device = parseDevice(b.device, "--device");
  const auto dtype = benchDtype(b.dtype);
  adapters::setSpectrumGrad(adapters::spectrumGradFromName(b.grad));
  at::manual_seed(0);
  auto model = models::buildModel(models::presetConfig(b.model, b.layers), "preset '" + b.model + "'",
                                  at::TensorOptions(dtype).device(device));
  models::initWeights(*model);
  model->eval();  // no dropout: the anchor has none
  // Not a structured binding: the step lambda captures the encoder (C++17 forbids capturing one).
  // Taken before the adapters: a preset without a layer stack to time is refused first.
  auto encoderAndHidden = encoderOf(*model);
  auto& encoder = encoderAndHidden.first;
  const int64_t hidden = encoderAndHidden.second;
  for (auto& p : model->parameters()) p.set_requires_grad(b.method == "full");
  if (b.method == "fourierft" || b.method == "lora") {
    nlohmann::json cfg = {{"target_modules", model->modelType() == "gpt2" ? nlohmann::json{"c_attn"}
                                                                          : nlohmann::json{"query", "value", "q_proj", "v_proj"}}};
    if (b.method == "fourierft") cfg.update({{"peft_type", "FOURIERFT"}, {"n_frequency", b.n}, {"scaling", b.scaling}, {"random_loc_seed", 777}});
    else cfg.update({{"peft_type", "LORA"}, {"r", b.r}, {"lora_alpha", 2 * b.r}, {"init_lora_weights", false}});
    auto config = adapters::AdapterConfig::fromJson(cfg, "bench");
    config.fourierft.path = adapters::pathFromName(b.path);
    models::attachNewAdapters(*model, config);
  }
  std::vector<at::Tensor> params;
  int64_t trainable = 0;
  for (auto& p : model->parameters())
    if (p.requires_grad()) params.push_back(p), trainable += p.numel();
  train::ForeachAdamW opt(params, torch::optim::AdamWOptions(1e-4));
  auto x = at::randn({b.batch, b.seq, hidden}, at::TensorOptions(dtype).device(device)).requires_grad_(limit);
  auto step = [&] {
    encoder(x).to(at::kFloat).pow(2).mean().backward();
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
                        {"r", b.r}, {"dtype", b.dtype}, {"threads", threads}, {"device", device.str()},
                        {"ms_median", times.medianMs}, {"ms_min", times.minMs}, {"trainable", trainable},
                        {"tokens_per_s", std::lround(double(b.batch * b.seq) / (times.medianMs / 1000.0))},
                        {"peak_rss_mib", std::lround(peakRssMiB())}};
  const auto memory = train::readMemory(device);
  if (memory.cuda) out["peak_alloc_mib"] = std::lround(memory.peakMiB), out["reserved_mib"] = std::lround(memory.reservedMiB);
  if (!paths.empty()) out["paths"] = paths;
  if (b.method == "fourierft") out["grad"] = b.grad;
  std::cout << out.dump() << std::endl;
}

}  // namespace

void addBenchModelCommand(CLI::App& app) {
  auto b = std::make_shared<ModelBench>();
  auto* cmd = app.add_subcommand("bench", "Time training steps of a preset's encoder layers; prints one JSON line");
  cmd->add_option("--model", b->model, "Preset (bert-base, roberta-base, roberta-large, vit-base, gpt2, llama-7b)")->capture_default_str();
  cmd->add_option("--layers", b->layers, "Encoder layers")->capture_default_str();
  cmd->add_option("--batch", b->batch, "Batch size")->capture_default_str()->check(atLeast(1));
  cmd->add_option("--seq", b->seq, "Sequence length")->capture_default_str();
  cmd->add_option("--method", b->method, "limit (alias frozen-input-grad), lora, fourierft or full")->capture_default_str();
  cmd->add_option("--n", b->n, "FourierFT coefficients per layer")->capture_default_str();
  cmd->add_option("--r", b->r, "LoRA rank (alpha = 2r)")->capture_default_str();
  cmd->add_option("--scaling", b->scaling, "FourierFT scaling")->capture_default_str();
  cmd->add_option("--path", b->path, "FourierFT computation: auto, dense, merged or spectral")->capture_default_str();
  cmd->add_option("--grad", b->grad, "FourierFT merged path off the CPU: spectrum gradient from auto, weight or rows")->capture_default_str();
  cmd->add_option("--device", b->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_option("--dtype", b->dtype, "Weights and hidden states: fp32 or bf16 (adapters stay float32)")->capture_default_str();
  cmd->add_option("--threads", b->threads, "CPU threads (0: all cores)")->capture_default_str()->check(CLI::Range(0, kMaxThreads));
  cmd->add_option("--steps", b->steps, "Timed steps")->capture_default_str()->check(atLeast(1));
  cmd->add_option("--warmup", b->warmup, "Untimed steps first")->capture_default_str()->check(atLeast(0));
  cmd->callback([b] { run(*b); });
}

}  // namespace fw::cli
