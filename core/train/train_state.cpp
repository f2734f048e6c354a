#include "train/train_state.h"

#include "train/optimizer_state_key.h"

#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "util/error.h"
#include "util/files.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <cmath>
#include <filesystem>
#include <mutex>
#include <optional>
#include <type_traits>

namespace fw::train {

namespace fs = std::filesystem;

namespace {

using StateMap = std::remove_reference_t<decltype(std::declval<torch::optim::AdamW&>().state())>;

// The CUDA device the trainable parameters live on, if any: its generator drives dropout there.
std::optional<c10::Device> cudaDeviceOf(const PreparedMethod& method) {
  for (const auto& g : method.groups)
    for (const auto& [name, p] : g.params)
      if (p.is_cuda()) return p.device();
  return std::nullopt;
}

}  // namespace

void saveTrainState(const std::string& dir, const PreparedMethod& method, const torch::optim::AdamW& optimizer,
                    const TrainPosition& position) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create checkpoint folder: " + ec.message()).file(dir);
  io::NamedTensors params, moments;
  nlohmann::json adamSteps = nlohmann::json::object();
  const auto& state = optimizer.state();
  for (const auto& g : method.groups) {
    for (const auto& [name, p] : g.params) {
      params.emplace_back(name, p.detach());
      auto it = state.find(optimizerStateKey<StateMap>(p));
      if (it == state.end()) continue;  // no step taken yet
      const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
      moments.emplace_back(name + ".exp_avg", s.exp_avg());
      moments.emplace_back(name + ".exp_avg_sq", s.exp_avg_sq());
      adamSteps[name] = s.step();
    }
  }
  {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    moments.emplace_back("rng.cpu", gen.get_state());
  }
  if (auto cuda = cudaDeviceOf(method)) {
    // Device-generic (compiles against CPU-only LibTorch too); without it, dropout masks on the
    // GPU would start again from the seed after a resume.
    at::Generator gen = at::globalContext().defaultGenerator(*cuda);
    std::lock_guard<std::mutex> lock(gen.mutex());
    moments.emplace_back("rng.cuda", gen.get_state());
  }
  io::saveSafetensors((fs::path(dir) / "trainable.safetensors").string(), params);
  io::saveSafetensors((fs::path(dir) / "optimizer.safetensors").string(), moments);
  // Only finite metrics: nlohmann writes NaN as null (e.g. accuracy on an unlabelled eval set).
  nlohmann::json best = nlohmann::json::object();
  for (const auto& [k, v] : position.best)
    if (std::isfinite(v)) best[k] = v;
  nlohmann::json j = {{"step", position.step}, {"elapsed_seconds", position.elapsedSeconds}, {"best", best},
                      {"adam_steps", adamSteps}};
  io::writeFileAtomic((fs::path(dir) / "state.json").string(), j.dump(2) + "\n");
}

TrainPosition loadTrainState(const std::string& dir, PreparedMethod& method, torch::optim::AdamW& optimizer) {
  const auto statePath = (fs::path(dir) / "state.json").string();
  auto j = readJsonFile(statePath);
  auto params = io::SafetensorsFile::open((fs::path(dir) / "trainable.safetensors").string());
  auto moments = io::SafetensorsFile::open((fs::path(dir) / "optimizer.safetensors").string());
  at::NoGradGuard noGrad;
  auto& state = optimizer.state();
  for (auto& g : method.groups) {
    for (auto& [name, p] : g.params) {
      if (!params.contains(name))
        throw Error("checkpoint lacks a trainable parameter").file(params.path()).tensor(name)
            .hint("the experiment changed since this checkpoint was written");
      auto t = params.tensor(name);
      if (t.sizes() != p.sizes())
        throw Error("checkpoint parameter has another shape").file(params.path()).tensor(name).expected(p.sizes().vec()).got(t.sizes().vec());
      p.copy_(t);
      if (!j["adam_steps"].contains(name)) continue;
      auto s = std::make_unique<torch::optim::AdamWParamState>();
      s->step(j["adam_steps"][name].get<int64_t>());
      s->exp_avg(moments.tensor(name + ".exp_avg").to(p.device(), p.scalar_type()).clone());
      s->exp_avg_sq(moments.tensor(name + ".exp_avg_sq").to(p.device(), p.scalar_type()).clone());
      state[optimizerStateKey<StateMap>(p)] = std::move(s);
    }
  }
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(moments.tensor("rng.cpu").clone());
  }
  if (auto cuda = cudaDeviceOf(method); cuda && moments.contains("rng.cuda")) {  // older checkpoints lack it
    at::Generator gen = at::globalContext().defaultGenerator(*cuda);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(moments.tensor("rng.cuda").clone());
  }
  TrainPosition pos;
  pos.step = j.value("step", int64_t(0));
  pos.elapsedSeconds = j.value("elapsed_seconds", 0.0);
  // Leniently: a null (a NaN written by an older version) is skipped; anything else not a number is refused.
  if (j.contains("best") && !j["best"].is_null()) {
    const auto& best = j["best"];
    if (!best.is_object())
      throw Error("must be an object of metric values").file(statePath).field("best").got(best.dump());
    for (auto it = best.begin(); it != best.end(); ++it) {
      if (it->is_null()) continue;
      if (!it->is_number())
        throw Error("a metric value must be a number").file(statePath).field("best." + it.key()).got(it->dump());
      pos.best[it.key()] = it->get<double>();
    }
  }
  return pos;
}

}  // namespace fw::train
