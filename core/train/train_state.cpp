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

io::NamedTensors randomStates(const PreparedMethod& method) {
  io::NamedTensors out;
  {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    out.emplace_back("rng.cpu", gen.get_state());
  }
  if (auto cuda = cudaDeviceOf(method)) {
    // Device-generic (compiles against CPU-only LibTorch too); without it, dropout masks on the
    // GPU would start again from the seed after a resume.
    at::Generator gen = at::globalContext().defaultGenerator(*cuda);
    std::lock_guard<std::mutex> lock(gen.mutex());
    out.emplace_back("rng.cuda", gen.get_state());
  }
  return out;
}

void saveTrainState(const std::string& dir, const PreparedMethod& method, const torch::optim::AdamW& optimizer,
                    const TrainPosition& position, const io::NamedTensors& otherRanks) {
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
  for (auto& named : randomStates(method)) moments.push_back(std::move(named));
  for (const auto& named : otherRanks) moments.push_back(named);
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

TrainPosition loadTrainState(const std::string& dir, PreparedMethod& method, torch::optim::AdamW& optimizer, int rank) {
  const auto statePath = (fs::path(dir) / "state.json").string();
  const auto j = readJsonFile(statePath);
  // A damaged state would resume inexactly (moments dropped, bias correction restarted) or fail
  // later without naming the file: each value is checked here.
  auto damaged = [&](const std::string& what, const std::string& field) {
    return Error(what).file(statePath).field(field).hint("the checkpoint is damaged: remove its folder to resume from the one before");
  };
  if (!j.is_object()) throw damaged("state.json is not a JSON object", "state.json");
  if (!j.contains("adam_steps") || !j["adam_steps"].is_object()) throw damaged("missing or not an object", "adam_steps");
  const auto& adamSteps = j["adam_steps"];
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
      if (!adamSteps.contains(name)) continue;
      const auto& steps = adamSteps[name];
      if (!steps.is_number_integer() || steps.get<int64_t>() < 1)
        throw damaged("an AdamW step count must be a positive integer", "adam_steps." + name).got(steps.dump());
      auto moment = [&](const std::string& key) {
        auto m = moments.tensor(key);
        if (m.sizes() != p.sizes())
          throw Error("optimizer moment has another shape than its parameter").file(moments.path()).tensor(key)
              .expected(p.sizes().vec()).got(m.sizes().vec());
        return m.to(p.device(), p.scalar_type()).clone();
      };
      auto s = std::make_unique<torch::optim::AdamWParamState>();
      s->step(steps.get<int64_t>());
      s->exp_avg(moment(name + ".exp_avg"));
      s->exp_avg_sq(moment(name + ".exp_avg_sq"));
      state[optimizerStateKey<StateMap>(p)] = std::move(s);
    }
  }
  // This rank's own state; rank 0's in checkpoints written before ranks kept theirs.
  auto ownState = [&](const std::string& key) {
    const std::string mine = key + ".rank" + std::to_string(rank);
    return moments.tensor(rank > 0 && moments.contains(mine) ? mine : key).clone();
  };
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(ownState("rng.cpu"));
  }
  if (auto cuda = cudaDeviceOf(method); cuda && moments.contains("rng.cuda")) {  // older checkpoints lack it
    at::Generator gen = at::globalContext().defaultGenerator(*cuda);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(ownState("rng.cuda"));
  }
  TrainPosition pos;
  if (!j.contains("step") || !j["step"].is_number_integer() || j["step"].get<int64_t>() < 0)
    throw damaged("the step must be an integer of at least 0", "step").got(j.value("step", nlohmann::json()).dump());
  pos.step = j["step"].get<int64_t>();
  if (j.contains("elapsed_seconds") && !j["elapsed_seconds"].is_number())
    throw damaged("must be a number", "elapsed_seconds").got(j["elapsed_seconds"].dump());
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
