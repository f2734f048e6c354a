// fourierft bench-layer: one adapted linear layer, timed per training step, one JSON line out.
// A step is what ../shared/bench/peft_cpu_anchor.py times: forward, backward (with the input's
// gradient, as for a layer inside a network) and AdamW on the trainable parameters.
#include "adapters/adapted_linear.h"
#include "adapters/fourierft.h"
#include "adapters/lora.h"
#include "commands.h"
#include "step_timer.h"
#include "train/foreach_adamw.h"
#include "util/error.h"
#include "util/runtime.h"

#include <cmath>
#include <iostream>

namespace fw::cli {

namespace {

struct LayerBench {
  std::string method = "fourierft", path = "auto", device = "cpu", dtype = "fp32";
  int64_t dOut = 768, dIn = 768, tokens = 512, n = 1000, r = 8;
  double scaling = 150.0;
  int threads = 0, steps = 7, warmup = 2;
};

void run(const LayerBench& b) {
  if (b.method != "limit" && b.method != "lora" && b.method != "fourierft")
    throw Error("unknown method '" + b.method + "'").field("--method").expected("limit, lora or fourierft");
  const int threads = configureThreads(b.threads);
  const auto device = parseDevice(b.device, "--device");
  const auto dtype = parseDtype(b.dtype, "--dtype");
  checkDtypeOnDevice(dtype, device, "--dtype");
  adapters::FourierPath requested;
  try {
    requested = adapters::pathFromName(b.path);
  } catch (Error& e) {
    throw e.field("--path");
  }
  at::manual_seed(0);

  adapters::AdaptedLinear layer(b.dIn, b.dOut, true, false, at::TensorOptions(dtype).device(device));
  std::shared_ptr<adapters::FourierFTAdapter> fourier;
  if (b.method == "fourierft") {
    adapters::FourierFTConfig c;
    c.n_frequency = b.n;
    c.scaling = b.scaling;
    c.path = requested;
    fourier = std::make_shared<adapters::FourierFTAdapter>(b.dOut, b.dIn, b.n, c);
    layer->setAdapter(fourier);
  } else if (b.method == "lora") {
    adapters::LoRAConfig c;
    c.init_lora_weights = "false";  // B non-zero, so backward does real work (as the anchor)
    layer->setAdapter(std::make_shared<adapters::LoRAAdapter>(b.dOut, b.dIn, b.r, 2.0 * b.r, c));
  }
  layer->weight.set_requires_grad(false);
  layer->bias.set_requires_grad(false);
  std::vector<at::Tensor> params;
  int64_t trainable = 0;
  for (auto& p : layer->parameters())
    if (p.requires_grad()) params.push_back(p), trainable += p.numel();
  train::ForeachAdamW opt(params, torch::optim::AdamWOptions(1e-4));
  auto x = at::randn({b.tokens, b.dIn}, at::TensorOptions(dtype).device(device)).requires_grad_();

  auto step = [&] {
    layer->forward(x).to(at::kFloat).pow(2).mean().backward();
    if (!params.empty()) {
      opt.step();
      opt.zero_grad();
    }
    x.mutable_grad() = at::Tensor();
  };
  const auto times = timeSteps(step, device, b.warmup, b.steps);
  nlohmann::json out = {{"impl", "fourier-workbench"}, {"torch", torchVersion()}, {"kind", "layer"},
                        {"method", b.method}, {"d_out", b.dOut}, {"d_in", b.dIn}, {"tokens", b.tokens},
                        {"n", b.n}, {"r", b.r}, {"threads", threads}, {"device", device.str()}, {"dtype", b.dtype},
                        {"ms_median", times.medianMs}, {"ms_min", times.minMs},
                        {"trainable", trainable}, {"peak_rss_mib", std::lround(peakRssMiB())}};
  if (fourier) {
    out["path_requested"] = b.path;
    out["path"] = adapters::pathName(fourier->lastPath());
  }
  std::cout << out.dump() << std::endl;
}

}  // namespace

void addBenchLayerCommand(CLI::App& app) {
  auto b = std::make_shared<LayerBench>();
  auto* cmd = app.add_subcommand("bench-layer", "Time training steps of one adapted linear layer; prints one JSON line");
  cmd->add_option("--method", b->method, "limit (frozen, input gradient only), lora or fourierft")->capture_default_str();
  cmd->add_option("--d-out", b->dOut, "Output features")->capture_default_str();
  cmd->add_option("--d-in", b->dIn, "Input features")->capture_default_str();
  cmd->add_option("--tokens", b->tokens, "Rows of the input (batch x sequence)")->capture_default_str()->check(atLeast(1));
  cmd->add_option("--n", b->n, "FourierFT spectral coefficients")->capture_default_str();
  cmd->add_option("--r", b->r, "LoRA rank (alpha = 2r)")->capture_default_str();
  cmd->add_option("--scaling", b->scaling, "FourierFT scaling")->capture_default_str();
  cmd->add_option("--path", b->path, "FourierFT computation: auto, dense, merged or spectral")->capture_default_str();
  cmd->add_option("--device", b->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_option("--dtype", b->dtype, "fp32, bf16 or fp16")->capture_default_str();
  cmd->add_option("--threads", b->threads, "CPU threads (0: all cores)")->capture_default_str()->check(CLI::Range(0, kMaxThreads));
  cmd->add_option("--steps", b->steps, "Timed steps")->capture_default_str()->check(atLeast(1));
  cmd->add_option("--warmup", b->warmup, "Untimed steps first")->capture_default_str()->check(atLeast(0));
  cmd->callback([b] { run(*b); });
}

}  // namespace fw::cli
