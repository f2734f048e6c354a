#pragma once
// ΔW analysis snapshots: what the trainer writes every K steps and the GUI replays. One JSON
// file per method and step in the run folder:
//
//   analysis/<method>/step-00000100.json
//   {"format": "fourier-workbench-analysis", "version": 1, "method": "fourierft", "step": 100,
//    "seconds": 0.21, "layers": [{"name": "...query", "method": "fourierft", "shape": [768, 768],
//      "singular_values": [...up to 256, descending...], "effective_rank": 711.2,
//      "energy90": 602, "energy99": 731, "stable_rank": 9.4, "norm_ratio": 0.013,
//      "delta_norm": 0.36, "captured_energy": 1, "truncated": false, "k": 768, "svd": "exact",
//      "fourier90": 1800, "fourier99": 2000, "seconds": 0.1}, ...]}
//
// energy90/99 are null when a truncated SVD's top k do not reach the share, norm_ratio null
// without a base, fourier90/99 absent when not computed. Files are written atomically, so a
// reader sees whole snapshots only.
#include "analysis/delta_weights.h"
#include "analysis/rank_stats.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace fw::runs { class RunFolder; }

namespace fw::analysis {

inline constexpr char kSnapshotFormat[] = "fourier-workbench-analysis";
inline constexpr int kSnapshotVersion = 1;
inline constexpr size_t kSnapshotSingularValues = 256;  // the largest σ kept per layer

struct LayerSnapshot {
  std::string name, method;
  std::vector<int64_t> shape;          // [out, in]
  std::vector<double> singularValues;  // descending, at most kSnapshotSingularValues
  double effectiveRank = 0;
  int64_t energy90 = 0, energy99 = 0;  // kBeyondTopK when the truncated SVD's top k fall short
  double stableRank = 0;
  double normRatio = 0;                // ‖ΔW‖_F / ‖W0‖_F; NaN without a base
  double deltaNorm = 0;                // ‖ΔW‖_F
  double capturedEnergy = 1;           // share of ‖ΔW‖_F² in the computed σ (below 1 when truncated)
  bool truncated = false;
  int64_t k = 0;                       // σ computed: min(out, in), or the truncated SVD's k
  std::string svd;                     // "exact", "spectral" or "randomized" (RankStats::svd)
  int64_t fourier90 = -1, fourier99 = -1;  // Fourier coefficients for 90 / 99 % energy; -1: not computed
  double seconds = 0;                  // spent on this layer

  nlohmann::json toJson() const;
  // `file` and `where` ("layers[2]") name the place in errors.
  static LayerSnapshot fromJson(const nlohmann::json& j, const std::string& file, const std::string& where);
};

struct Snapshot {
  std::string method;
  int64_t step = 0;
  double seconds = 0;  // the whole snapshot
  std::vector<LayerSnapshot> layers;

  nlohmann::json toJson() const;
  static Snapshot fromJson(const nlohmann::json& j, const std::string& file = "snapshot");
};

struct SnapshotOptions {
  RankOptions rank;
  bool fourier = true;  // also the Fourier energy counts (one FFT and a sort of d1·d2 values)
};

// The analysis of one layer's ΔW.
LayerSnapshot analyzeLayer(const LayerDelta& delta, const SnapshotOptions& options = {});
// A snapshot of the given layers' ΔW (see delta_weights.h for getting them), timed.
Snapshot makeSnapshot(const std::string& method, int64_t step, const std::vector<LayerDelta>& deltas,
                      const SnapshotOptions& options = {});

// The layer's rounding level (rank_stats.h roundingFloor; ΔW is analysed in float32).
double roundingFloor(const LayerSnapshot& layer);

// analysisDir/<method>/step-%08d.json
std::string snapshotPath(const std::string& analysisDir, const std::string& method, int64_t step);
// Writes atomically, creating the method's folder; returns the file. The method must be one
// path segment.
std::string writeSnapshot(const std::string& analysisDir, const Snapshot& snapshot);
std::string writeSnapshot(const runs::RunFolder& run, const Snapshot& snapshot);
// Reads and checks one snapshot file; fw::Error names the file and the field.
Snapshot readSnapshot(const std::string& path);

struct SnapshotEntry {
  std::string method;
  int64_t step = 0;
  std::string path;
};
// The snapshots in analysisDir, by method (name order), then step; only of `method` if given.
// Files of other names (a writer's temporary file) are ignored. None: empty.
std::vector<SnapshotEntry> listSnapshots(const std::string& analysisDir, const std::string& method = "");
std::vector<SnapshotEntry> listSnapshots(const runs::RunFolder& run, const std::string& method = "");

// When to take snapshots, and of what, so that the analysis stays under a share (5 %) of the
// training time: taking one every K steps costs snapshotSeconds / (K · stepSeconds).
class SnapshotPolicy {
public:
  explicit SnapshotPolicy(double budget = 0.05, int64_t minEvery = 1, int64_t maxEvery = 0 /* no limit */);

  // Re-picks K from measured costs (seconds per snapshot, per training step); returns K.
  int64_t update(double snapshotSeconds, double stepSeconds);
  int64_t every() const { return every_; }
  bool due(int64_t step) const { return step > 0 && step % every_ == 0; }  // a positive multiple of K
  // The expected share of training time spent on snapshots at the current K.
  double share(double snapshotSeconds, double stepSeconds) const;

  // The smallest K in 1, 2, ..., 9, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100, 150, ... (round step
  // numbers) that keeps the cost within `budget`, at least minEvery and at most maxEvery (> 0).
  static int64_t cadence(double snapshotSeconds, double stepSeconds, double budget = 0.05, int64_t minEvery = 1,
                         int64_t maxEvery = 0);
  // The layers to snapshot: each of `chosen` (layerSelected patterns) that matches an adapted
  // layer, or by default the first and the last adapted layer. Throws fw::Error naming a pattern
  // that matches nothing.
  static std::vector<std::string> chooseLayers(const std::vector<std::string>& adapted,
                                               const std::vector<std::string>& chosen = {});

private:
  double budget_;
  int64_t minEvery_, maxEvery_, every_;
};

}  // namespace fw::analysis
