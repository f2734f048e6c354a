// fourierft forward: logits of a checkpoint (optionally with an adapter, optionally merged) for
// inputs stored in a safetensors file, written to another: the command-line parity check
// against transformers.
#include "adapters/inject.h"
#include "commands.h"
#include "util/path_checks.h"
#include "io/safetensors.h"
#include "models/model_adapters.h"
#include "models/model_inputs.h"
#include "models/presets.h"
#include "util/error.h"
#include "util/runtime.h"

#include <iostream>

namespace fw::cli {

void checkDtypeOnDevice(c10::ScalarType dtype, const c10::Device& device, const std::string& field) {
  if (dtype == c10::kHalf && device.is_cpu())
    throw Error("fp16 runs on CUDA only: LibTorch has no CPU kernels for it").field(field).got("fp16")
        .hint("use bf16 or fp32 on the CPU, or --device cuda");
}

namespace {

struct ForwardArgs {
  std::string model, adapter, inputs, out, device = "cpu", dtype = "fp32";
  bool merge = false;
};

void run(const ForwardArgs& a) {
  configureThreads();
  const auto device = parseDevice(a.device, "--device");
  const auto dtype = parseDtype(a.dtype, "--dtype");
  checkDtypeOnDevice(dtype, device, "--dtype");
  checkNotAFile(a.model, "--model", "the model folder");
  if (!a.adapter.empty()) checkNotAFile(a.adapter, "--adapter", "the adapter folder");
  checkNotAFolder(a.inputs, "--inputs", "a safetensors file", "give the inputs file");
  auto loaded = models::openModel(a.model, at::TensorOptions(dtype).device(device));
  std::cerr << loaded.model->className() << " from " << a.model
            << (loaded.report.loaded ? ": " + loaded.report.summary() : std::string()) << "\n";
  if (!a.adapter.empty()) {
    auto summary = models::attachAdapterFolder(*loaded.model, adapters::readAdapterFolder(a.adapter));
    std::cerr << summary.table();
    if (a.merge) adapters::mergeAdapters(*loaded.model);
  } else if (a.merge) {
    throw Error("--merge needs --adapter").field("--merge");
  }
  const auto file = io::SafetensorsFile::open(a.inputs);
  const auto in = models::modelInputsFrom(file, device);
  // What the model reads: pixel_values for an image classifier, input_ids for text.
  const bool image = loaded.model->task() == models::Task::ImageClassification;
  if (image ? !in.pixel_values.defined() : !in.input_ids.defined()) {
    std::string names;
    for (const auto& t : file.tensors()) names += (names.empty() ? "" : ", ") + t.name;
    throw Error(std::string("the inputs have no ") + (image ? "pixel_values" : "input_ids") + ", which " +
                loaded.model->className() + " reads").file(a.inputs).field("--inputs")
        .got(names.empty() ? std::string("no tensors") : "tensors " + names);
  }
  at::NoGradGuard noGrad;
  auto logits = loaded.model->forward(in);
  io::saveSafetensors(a.out, {{"logits", logits.contiguous()}});
  std::cerr << "logits " << Error::shapeString(logits.sizes().vec()) << " written to " << a.out << "\n";
}

}  // namespace

void addForwardCommand(CLI::App& app) {
  auto a = std::make_shared<ForwardArgs>();
  auto* cmd = app.add_subcommand("forward", "Compute logits of a model (and adapter) for inputs in a safetensors file");
  cmd->add_option("--model", a->model, "Checkpoint folder (config.json + safetensors) or preset name")->required();
  cmd->add_option("--adapter", a->adapter, "PEFT or native adapter folder");
  cmd->add_flag("--merge", a->merge, "Merge the adapter into the weights before the forward pass");
  cmd->add_option("--inputs", a->inputs, "safetensors with input_ids / attention_mask / token_type_ids or pixel_values")->required();
  cmd->add_option("--out", a->out, "safetensors file to write 'logits' to")->required();
  cmd->add_option("--device", a->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_option("--dtype", a->dtype, "fp32, bf16 or fp16 (weights as loaded)")->capture_default_str();
  cmd->callback([a] { run(*a); });
}

}  // namespace fw::cli
