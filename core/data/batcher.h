#pragma once
// Padded batches from a Dataset, deterministic and shardable:
// - the order of epoch e is a permutation that depends on (seed, e) only (std::mt19937_64 and
//   our own Fisher-Yates, the same on every standard library), so a resumed run sees the same
//   batches; without shuffling it is the dataset order;
// - with worldSize ranks, global batch i holds rows [i·B·W, (i+1)·B·W) of that order, and rank
//   r takes rows [r·B, (r+1)·B) of it (B = batchSize, W = worldSize);
// - sequences are right-padded to the longest in the batch with padId, attention mask 0 and
//   lmLabels -100 there.
// Without dropLast, the last global batch may be short, leaving some ranks fewer rows or none
// (size 0): fine for evaluation; for training with several ranks, drop it so every rank takes
// the same number of full steps.
#include "data/example.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace fw::data {

struct Batch {
  int64_t size = 0, seqLen = 0;
  // [size * seqLen], row-major, padded. lmLabels only for causal LM data.
  std::vector<int64_t> inputIds, attentionMask, tokenTypeIds, lmLabels;
  std::vector<int64_t> labels;  // classification: class index, -100 for a row without label
  std::vector<float> targets;   // regression: target, NaN for a row without label
  std::vector<float> pixels;    // images: [size * C * H * W]
  int64_t channels = 0, height = 0, width = 0;
  std::vector<int64_t> indices;  // the dataset rows in this batch
};

class Batcher {
public:
  // The dataset must outlive the batcher. Throws fw::Error for batchSize < 1, worldSize < 1
  // or a rank outside [0, worldSize).
  Batcher(const Dataset& dataset, int64_t batchSize, bool shuffle, uint64_t seed, int64_t padId,
          int64_t rank = 0, int64_t worldSize = 1, bool dropLast = false);

  int64_t batchesPerEpoch() const;
  // Batch `index` (0 <= index < batchesPerEpoch()) of `epoch` for this rank. Thread-safe.
  Batch batch(int64_t epoch, int64_t index) const;
  // The row order of an epoch (all ranks), a permutation of 0..N-1.
  std::vector<int64_t> epochOrder(int64_t epoch) const;

private:
  std::shared_ptr<const std::vector<int64_t>> orderFor(int64_t epoch) const;

  const Dataset& dataset_;
  int64_t batchSize_, padId_, rank_, worldSize_;
  bool shuffle_, dropLast_;
  uint64_t seed_;
  // The last epoch's order, so that a pass over an epoch shuffles once.
  mutable std::mutex cacheMutex_;
  mutable int64_t cachedEpoch_ = -1;
  mutable std::shared_ptr<const std::vector<int64_t>> cachedOrder_;
};

}  // namespace fw::data
