#include "analysis/snapshot.h"

#include "analysis/fourier_spectrum.h"
#include "io/atomic_file.h"
#include "runs/run_folder.h"
#include "util/error.h"
#include "util/files.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

namespace fw::analysis {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr char kStepPrefix[] = "step-";
constexpr char kStepSuffix[] = ".json";

// NaN and "beyond the top k" have no JSON number: they are written as null.
json numberOrNull(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
json countOrNull(int64_t v) { return v == kBeyondTopK ? json(nullptr) : json(v); }

const json& need(const json& j, const char* key, const std::string& file, const std::string& where) {
  if (!j.is_object() || !j.contains(key))
    throw Error("analysis snapshot lacks a field").file(file).field(where.empty() ? key : where + "." + key);
  return j.at(key);
}

template <class T>
T get(const json& j, const char* key, const std::string& file, const std::string& where) {
  const auto& v = need(j, key, file, where);
  try {
    return v.get<T>();
  } catch (const json::exception&) {
    throw Error("analysis snapshot field has the wrong type").file(file).field(where.empty() ? key : where + "." + key)
        .got(v.dump());
  }
}

double getNumberOrNull(const json& j, const char* key, double null, const std::string& file, const std::string& where) {
  const auto& v = need(j, key, file, where);
  return v.is_null() ? null : get<double>(j, key, file, where);
}

int64_t getCountOrNull(const json& j, const char* key, const std::string& file, const std::string& where) {
  const auto& v = need(j, key, file, where);
  return v.is_null() ? kBeyondTopK : get<int64_t>(j, key, file, where);
}

void checkMethodName(const std::string& method) {
  if (method.empty() || method == "." || method == ".." || method.find('/') != std::string::npos)
    throw Error("a snapshot's method must be one folder name").field("method").got("'" + method + "'");
}

// "step-00000100.json" -> 100; -1 for any other name (temporary files included).
int64_t stepOfFile(const std::string& name) {
  const size_t prefix = sizeof(kStepPrefix) - 1, suffix = sizeof(kStepSuffix) - 1;
  if (name.size() <= prefix + suffix || name.compare(0, prefix, kStepPrefix) != 0 ||
      name.compare(name.size() - suffix, suffix, kStepSuffix) != 0)
    return -1;
  const auto digits = name.substr(prefix, name.size() - prefix - suffix);
  if (digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  return std::stoll(digits);
}

}  // namespace

json LayerSnapshot::toJson() const {
  json j = {{"name", name},
            {"method", method},
            {"shape", shape},
            {"singular_values", singularValues},
            {"effective_rank", effectiveRank},
            {"energy90", countOrNull(energy90)},
            {"energy99", countOrNull(energy99)},
            {"stable_rank", stableRank},
            {"norm_ratio", numberOrNull(normRatio)},
            {"delta_norm", deltaNorm},
            {"captured_energy", capturedEnergy},
            {"truncated", truncated},
            {"k", k},
            {"svd", svd},
            {"seconds", seconds}};
  if (fourier90 >= 0) j["fourier90"] = fourier90;
  if (fourier99 >= 0) j["fourier99"] = fourier99;
  return j;
}

LayerSnapshot LayerSnapshot::fromJson(const json& j, const std::string& file, const std::string& where) {
  LayerSnapshot s;
  s.name = get<std::string>(j, "name", file, where);
  s.method = j.contains("method") ? get<std::string>(j, "method", file, where) : std::string();
  s.shape = get<std::vector<int64_t>>(j, "shape", file, where);
  if (s.shape.size() != 2) throw Error("a layer's shape must be [out, in]").file(file).field(where + ".shape").got(s.shape);
  s.singularValues = get<std::vector<double>>(j, "singular_values", file, where);
  s.effectiveRank = get<double>(j, "effective_rank", file, where);
  s.energy90 = getCountOrNull(j, "energy90", file, where);
  s.energy99 = getCountOrNull(j, "energy99", file, where);
  s.stableRank = get<double>(j, "stable_rank", file, where);
  s.normRatio = getNumberOrNull(j, "norm_ratio", std::numeric_limits<double>::quiet_NaN(), file, where);
  s.deltaNorm = j.contains("delta_norm") ? get<double>(j, "delta_norm", file, where) : 0.0;
  s.capturedEnergy = j.contains("captured_energy") ? get<double>(j, "captured_energy", file, where) : 1.0;
  s.truncated = get<bool>(j, "truncated", file, where);
  s.k = get<int64_t>(j, "k", file, where);
  s.svd = j.contains("svd") ? get<std::string>(j, "svd", file, where) : std::string();
  s.fourier90 = j.contains("fourier90") ? get<int64_t>(j, "fourier90", file, where) : -1;
  s.fourier99 = j.contains("fourier99") ? get<int64_t>(j, "fourier99", file, where) : -1;
  s.seconds = j.contains("seconds") ? get<double>(j, "seconds", file, where) : 0.0;
  return s;
}

json Snapshot::toJson() const {
  json layersJson = json::array();
  for (const auto& l : layers) layersJson.push_back(l.toJson());
  return {{"format", kSnapshotFormat}, {"version", kSnapshotVersion}, {"method", method},
          {"step", step},              {"seconds", seconds},          {"layers", std::move(layersJson)}};
}

Snapshot Snapshot::fromJson(const json& j, const std::string& file) {
  if (!j.is_object() || !j.contains("format") || !j["format"].is_string() || j["format"].get<std::string>() != kSnapshotFormat)
    throw Error("not an analysis snapshot").file(file).field("format").expected(kSnapshotFormat);
  const int version = get<int>(j, "version", file, "");
  if (version > kSnapshotVersion)
    throw Error("analysis snapshot from a newer version").file(file).field("version")
        .expected("at most " + std::to_string(kSnapshotVersion)).got(std::to_string(version));
  Snapshot s;
  s.method = get<std::string>(j, "method", file, "");
  s.step = get<int64_t>(j, "step", file, "");
  s.seconds = j.contains("seconds") ? get<double>(j, "seconds", file, "") : 0.0;
  const auto& layers = need(j, "layers", file, "");
  if (!layers.is_array()) throw Error("analysis snapshot field has the wrong type").file(file).field("layers").expected("a list");
  for (size_t i = 0; i < layers.size(); ++i)
    s.layers.push_back(LayerSnapshot::fromJson(layers[i], file, "layers[" + std::to_string(i) + "]"));
  return s;
}

LayerSnapshot analyzeLayer(const LayerDelta& delta, const SnapshotOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const auto r = rankStats(delta.delta, delta.base, options.rank, delta.positions);
  LayerSnapshot s;
  s.name = delta.layer;
  s.method = delta.method;
  s.shape = r.shape;
  const auto top = r.singular.slice(0, 0, std::min<int64_t>(r.singular.numel(), kSnapshotSingularValues)).contiguous();
  s.singularValues.assign(top.data_ptr<double>(), top.data_ptr<double>() + top.numel());
  s.effectiveRank = r.effectiveRank;
  s.energy90 = r.energy90;
  s.energy99 = r.energy99;
  s.stableRank = r.stableRank;
  s.normRatio = r.normRatio;
  s.deltaNorm = r.frobenius;
  s.capturedEnergy = r.capturedEnergy;
  s.truncated = r.truncated;
  s.k = r.k;
  s.svd = r.svd;
  if (options.fourier) {
    const auto f = fourierStats(delta.delta);
    s.fourier90 = f.energy90;
    s.fourier99 = f.energy99;
  }
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

Snapshot makeSnapshot(const std::string& method, int64_t step, const std::vector<LayerDelta>& deltas,
                      const SnapshotOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  Snapshot s;
  s.method = method;
  s.step = step;
  for (const auto& d : deltas) s.layers.push_back(analyzeLayer(d, options));
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

double roundingFloor(const LayerSnapshot& layer) {
  return roundingFloor(layer.shape, layer.singularValues.empty() ? 0.0 : layer.singularValues.front());
}

std::string snapshotPath(const std::string& analysisDir, const std::string& method, int64_t step) {
  checkMethodName(method);
  if (step < 0) throw Error("a snapshot's step must not be negative").field("step").got(std::to_string(step));
  char name[40];
  std::snprintf(name, sizeof name, "%s%08lld%s", kStepPrefix, static_cast<long long>(step), kStepSuffix);
  return analysisDir + "/" + method + "/" + name;
}

std::string writeSnapshot(const std::string& analysisDir, const Snapshot& snapshot) {
  const auto path = snapshotPath(analysisDir, snapshot.method, snapshot.step);
  runs::ensureDir(analysisDir + "/" + snapshot.method);
  io::writeFileAtomic(path, snapshot.toJson().dump() + "\n");
  return path;
}

std::string writeSnapshot(const runs::RunFolder& run, const Snapshot& snapshot) {
  return writeSnapshot(run.analysisDir(), snapshot);
}

Snapshot readSnapshot(const std::string& path) { return Snapshot::fromJson(readJsonFile(path), path); }

std::vector<SnapshotEntry> listSnapshots(const std::string& analysisDir, const std::string& method) {
  std::vector<SnapshotEntry> out;
  std::error_code ec;
  if (!fs::is_directory(analysisDir, ec)) return out;
  for (const auto& m : fs::directory_iterator(analysisDir, ec)) {
    if (!m.is_directory(ec)) continue;
    const auto name = m.path().filename().string();
    if (!method.empty() && name != method) continue;
    for (const auto& f : fs::directory_iterator(m.path(), ec)) {
      const int64_t step = stepOfFile(f.path().filename().string());
      if (step >= 0 && f.is_regular_file(ec)) out.push_back({name, step, f.path().string()});
    }
  }
  std::sort(out.begin(), out.end(), [](const SnapshotEntry& a, const SnapshotEntry& b) {
    return a.method != b.method ? a.method < b.method : a.step < b.step;
  });
  return out;
}

std::vector<SnapshotEntry> listSnapshots(const runs::RunFolder& run, const std::string& method) {
  return listSnapshots(run.analysisDir(), method);
}

SnapshotPolicy::SnapshotPolicy(double budget, int64_t minEvery, int64_t maxEvery)
    : budget_(budget), minEvery_(std::max<int64_t>(minEvery, 1)), maxEvery_(maxEvery), every_(minEvery_) {
  if (!(budget > 0)) throw Error("the analysis budget must be a positive share of training time").field("budget")
      .got(std::to_string(budget));
  if (maxEvery_ > 0 && maxEvery_ < minEvery_)
    throw Error("snapshot cadence limits are crossed").field("max_every").expected("at least " + std::to_string(minEvery_))
        .got(std::to_string(maxEvery_));
}

int64_t SnapshotPolicy::update(double snapshotSeconds, double stepSeconds) {
  every_ = cadence(snapshotSeconds, stepSeconds, budget_, minEvery_, maxEvery_);
  return every_;
}

double SnapshotPolicy::share(double snapshotSeconds, double stepSeconds) const {
  return stepSeconds > 0 ? snapshotSeconds / (double(every_) * stepSeconds) : 0.0;
}

int64_t SnapshotPolicy::cadence(double snapshotSeconds, double stepSeconds, double budget, int64_t minEvery,
                                int64_t maxEvery) {
  minEvery = std::max<int64_t>(minEvery, 1);
  int64_t k = minEvery;
  if (snapshotSeconds > 0 && stepSeconds > 0 && budget > 0) {
    const double need = snapshotSeconds / (budget * stepSeconds);
    // Round up to a number a person reads easily as a step: 1..9, then 1, 1.5, 2, 2.5, 3, 4, 5,
    // 6, 8 times a power of ten.
    static const double mantissas[] = {1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10};
    double nice = std::ceil(need - 1e-9);
    if (need > 10) {
      const double scale = std::pow(10.0, std::floor(std::log10(need)));
      for (double m : mantissas)
        if (m * scale >= need * (1 - 1e-12)) {
          nice = m * scale;
          break;
        }
    }
    k = std::max<int64_t>(k, nice > 1e15 ? int64_t(1e15) : int64_t(std::llround(nice)));
  }
  if (maxEvery > 0) k = std::min(k, std::max(maxEvery, minEvery));
  return k;
}

std::vector<std::string> SnapshotPolicy::chooseLayers(const std::vector<std::string>& adapted,
                                                      const std::vector<std::string>& chosen) {
  if (chosen.empty()) {
    if (adapted.size() <= 2) return adapted;
    return {adapted.front(), adapted.back()};
  }
  std::vector<std::string> out;
  for (const auto& pattern : chosen) {
    bool matched = false;
    for (const auto& name : adapted) {
      if (!layerSelected(name, {pattern})) continue;
      matched = true;
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
    if (!matched) {
      std::string some;
      for (size_t i = 0; i < adapted.size() && i < 4; ++i) some += (i ? ", " : "") + adapted[i];
      if (adapted.size() > 4) some += ", ...";
      throw Error("no adapted layer matches '" + pattern + "'").field("analysis_layers")
          .expected(some.empty() ? "an adapted layer (the model has none)" : some);
    }
  }
  // In model order, whatever order the patterns came in.
  std::vector<std::string> ordered;
  for (const auto& name : adapted)
    if (std::find(out.begin(), out.end(), name) != out.end()) ordered.push_back(name);
  return ordered;
}

}  // namespace fw::analysis
