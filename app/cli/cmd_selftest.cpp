// fourierft selftest: proves on this machine (and device) that the FourierFT paths compute
// the reference cosine sum, forward and both gradients, and, with --fixtures, that the PEFT
// adapter fixtures read and write back unchanged. Exits non-zero on any failure.
#include "adapters/adapter_folder.h"
#include "adapters/adapted_linear.h"
#include "adapters/fourierft_ops.h"
#include "adapters/inject.h"
#include "adapters/fourierft_reference.h"
#include "commands.h"
#include "io/safetensors.h"
#include "models/model_adapters.h"
#include "models/model_inputs.h"
#include "models/presets.h"
#include "util/error.h"
#include "util/files.h"
#include "util/runtime.h"

#include <filesystem>
#include <iomanip>
#include <iostream>

namespace fw::cli {

namespace {

namespace fs = std::filesystem;

double relErr(const at::Tensor& a, const at::Tensor& ref) {
  auto r = ref.to(at::kCPU, at::kDouble);
  return (a.to(at::kCPU, at::kDouble) - r).abs().max().item<double>() / std::max(r.abs().max().item<double>(), 1e-30);
}

int checkPaths(const c10::Device& device) {
  struct Shape { int64_t d1, d2, n, tokens; };
  const Shape shapes[] = {{32, 32, 48, 16}, {96, 32, 48, 9}, {15, 9, 40, 5}, {7, 12, 30, 6}, {64, 48, 200, 33}};
  int failures = 0;
  std::cout << "FourierFT paths against the float64 cosine sum on " << device.str() << " (tolerance 1e-5):\n";
  std::cout << "  shape       n    path      y          dx         dspectrum\n";
  for (const auto& s : shapes) {
    at::manual_seed(11);
    auto pos = adapters::frequencyPositions(s.d1, s.d2, s.n, 2024);
    auto g = adapters::SpectrumGeometry::make(s.d1, s.d2, pos).to(device);
    const double scale = 150.0 / double(s.d1 * s.d2);
    auto opts = at::TensorOptions(at::kFloat).device(device);
    auto x0 = at::randn({s.tokens, s.d2}, opts), w0 = at::randn({s.d1, s.d2}, opts) * 0.1, b = at::randn({s.d1}, opts);
    auto c0 = at::randn({s.n}, opts), R = at::randn({s.tokens, s.d1}, opts);
    // The reference, in float64 on the CPU.
    auto xd = x0.to(at::kCPU, at::kDouble).requires_grad_(), cd = c0.to(at::kCPU, at::kDouble).requires_grad_();
    auto yd = at::linear(xd, w0.to(at::kCPU, at::kDouble) + adapters::naiveDeltaWeight(cd, pos, s.d1, s.d2, scale),
                         b.to(at::kCPU, at::kDouble));
    (yd * R.to(at::kCPU, at::kDouble)).sum().backward();
    // Merged twice: its spectrum gradient from the weight gradient and from row FFTs (a GPU picks
    // either; the CPU takes FFTW's kernel for both). A failing row prints LibTorch's message and
    // the others still run.
    struct Case { adapters::FourierPath path; adapters::SpectrumGrad grad; const char* name; };
    for (const Case& k : {Case{adapters::FourierPath::Dense, adapters::SpectrumGrad::Auto, "dense"},
                          Case{adapters::FourierPath::Merged, adapters::SpectrumGrad::WeightGrad, "merged/w"},
                          Case{adapters::FourierPath::Merged, adapters::SpectrumGrad::Rows, "merged/r"},
                          Case{adapters::FourierPath::Spectral, adapters::SpectrumGrad::Auto, "spectral"}}) {
      std::cout << "  " << std::left << std::setw(11) << (std::to_string(s.d1) + "x" + std::to_string(s.d2)) << std::setw(5)
                << s.n << std::setw(10) << k.name;
      try {
        adapters::setSpectrumGrad(k.grad);
        auto x = x0.clone().requires_grad_(), c = c0.clone().requires_grad_();
        auto fn = k.path == adapters::FourierPath::Dense    ? adapters::fourierLinearDense
                  : k.path == adapters::FourierPath::Merged ? adapters::fourierLinearMerged
                                                            : adapters::fourierLinearSpectral;
        auto y = fn(x, w0, b, c, g, scale);
        (y * R).sum().backward();
        const double ey = relErr(y, yd), ex = relErr(x.grad(), xd.grad()), ec = relErr(c.grad(), cd.grad());
        const bool ok = ey < 1e-5 && ex < 1e-5 && ec < 1e-5;
        failures += !ok;
        std::cout << std::scientific << std::setprecision(2) << std::setw(11) << ey << std::setw(11) << ex << std::setw(11)
                  << ec << (ok ? "ok" : "FAIL") << "\n" << std::defaultfloat;
      } catch (const std::exception& e) {
        ++failures;
        std::cout << "FAIL: " << e.what() << "\n";
      }
      adapters::setSpectrumGrad(adapters::SpectrumGrad::Auto);
    }
  }
  return failures;
}

int checkFixtures(const std::string& dir) {
  int failures = 0, checked = 0;
  std::cout << "PEFT adapter fixtures under " << dir << ":\n";
  std::vector<fs::path> folders;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename() == "adapter_config.json") folders.push_back(e.path().parent_path());
  std::sort(folders.begin(), folders.end());
  const auto tmp = fs::temp_directory_path() / ("fourierft-selftest-" + std::to_string(getpid()));
  for (const auto& folder : folders) {
    ++checked;
    std::string status = "ok";
    try {
      auto f = adapters::readAdapterFolder(folder.string());
      adapters::writeAdapterFolder(tmp.string(), f, false);
      auto a = io::SafetensorsFile::open((folder / "adapter_model.safetensors").string());
      auto b = io::SafetensorsFile::open((tmp / "adapter_model.safetensors").string());
      for (const auto& name : a.names())
        if (!b.contains(name) || !at::equal(a.tensor(name), b.tensor(name))) status = "FAIL: tensor " + name + " changed";
    } catch (const std::exception& e) {
      status = std::string("FAIL: ") + e.what();
    }
    failures += status != "ok";
    std::cout << "  " << std::left << std::setw(40) << fs::relative(folder, dir).string() << status << "\n";
  }
  std::error_code removed;
  removeTree(tmp.string(), removed);  // not fs::remove_all: util/files.h says why
  if (checked == 0) {
    std::cout << "  no adapter folders found\n";
    return 1;
  }
  return failures;
}

// Each fixture checkpoint (fixtures/hf/<arch>/model) on `device`: logits with no adapter, with the
// PEFT FourierFT and LoRA adapters, and after merging each, against transformers' reference.
int checkModels(const std::string& dir, const c10::Device& device) {
  int failures = 0, checked = 0;
  std::cout << "Models against transformers' logits on " << device.str() << " (tolerance 1e-4):\n";
  for (const char* arch : {"bert", "roberta", "gpt2", "llama", "vit"}) {
    const auto folder = fs::path(dir) / arch;
    if (!fs::exists(folder / "reference.safetensors")) continue;
    auto ref = io::SafetensorsFile::open((folder / "reference.safetensors").string());
    const auto in = models::modelInputsFrom(ref, device);
    for (const std::string adapter : {"", "fourierft", "lora"}) {
      for (bool merge : {false, true}) {
        if (adapter.empty() && merge) continue;
        const std::string key = adapter.empty() ? "logits" : "logits_" + adapter + (merge ? "_merged" : "");
        std::string status = "ok";
        double err = 0;
        try {
          auto loaded = models::openModel((folder / "model").string(), at::TensorOptions(at::kFloat).device(device));
          if (!adapter.empty()) {
            models::attachAdapterFolder(*loaded.model, adapters::readAdapterFolder((folder / adapter).string()));
            if (merge) adapters::mergeAdapters(*loaded.model);
          }
          at::NoGradGuard noGrad;
          auto logits = loaded.model->forward(in).to(at::kCPU, at::kFloat);
          auto want = ref.tensor(key).to(at::kFloat);
          if (logits.sizes() != want.sizes()) status = "FAIL: shape " + Error::shapeString(logits.sizes().vec());
          else if ((err = (logits - want).abs().max().item<double>()) >= 1e-4) status = "FAIL";
        } catch (const std::exception& e) {  // fw::Error, and LibTorch's c10::Error on a device
          status = std::string("FAIL: ") + e.what();
        }
        ++checked;
        failures += status != "ok";
        std::cout << "  " << std::left << std::setw(9) << arch << std::setw(26) << key << "max |diff| " << std::scientific
                  << std::setprecision(2) << err << std::defaultfloat << "  " << status << "\n";
      }
    }
  }
  if (checked == 0) {
    std::cout << "  no fixture checkpoints found\n";
    return 1;
  }
  return failures;
}

}  // namespace

void addSelftestCommand(CLI::App& app) {
  auto device = std::make_shared<std::string>("cpu");
  auto fixtures = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("selftest", "Check the FourierFT math (and PEFT fixtures) on this machine");
  cmd->add_option("--device", *device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_option("--fixtures", *fixtures,
                  "Folder with PEFT adapter folders to round-trip and checkpoints to compare with transformers (e.g. ../shared/fixtures/hf)");
  cmd->callback([device, fixtures] {
    std::cout << std::unitbuf;  // every line out at once, also into a pipe: a crash loses nothing
    configureThreads();
    const auto dev = parseDevice(*device, "--device");
    int failures = checkPaths(dev);
    if (!fixtures->empty()) {
      failures += checkFixtures(*fixtures);
      failures += checkModels(*fixtures, dev);
    }
    if (failures) throw Error(std::to_string(failures) + " selftest check(s) failed");
    std::cout << "selftest passed\n";
  });
}

}  // namespace fw::cli
