#include "data/batcher.h"

#include "util/error.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>

namespace fw::data {

namespace {

// SplitMix64's finaliser: nearby (seed, epoch) pairs give unrelated engine seeds.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform in [0, bound) without modulo bias. std::uniform_int_distribution is
// implementation-defined, so it would break reproducibility across standard libraries.
uint64_t uniformBelow(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
  for (;;) {
    const uint64_t r = rng();
    if (r >= threshold) return r % bound;
  }
}

}  // namespace

Batcher::Batcher(const Dataset& dataset, int64_t batchSize, bool shuffle, uint64_t seed, int64_t padId,
                 int64_t rank, int64_t worldSize, bool dropLast)
    : dataset_(dataset), batchSize_(batchSize), padId_(padId), rank_(rank), worldSize_(worldSize),
      shuffle_(shuffle), dropLast_(dropLast), seed_(seed) {
  if (batchSize < 1) throw Error("batch size must be at least 1").field("batch_size").got(std::to_string(batchSize));
  if (worldSize < 1) throw Error("world size must be at least 1").field("world_size").got(std::to_string(worldSize));
  if (rank < 0 || rank >= worldSize)
    throw Error("rank outside the world").field("rank").expected("0 to " + std::to_string(worldSize - 1))
        .got(std::to_string(rank));
}

int64_t Batcher::batchesPerEpoch() const {
  const int64_t n = static_cast<int64_t>(dataset_.examples.size());
  const int64_t global = batchSize_ * worldSize_;
  return dropLast_ ? n / global : (n + global - 1) / global;
}

std::vector<int64_t> Batcher::epochOrder(int64_t epoch) const { return *orderFor(epoch); }

std::shared_ptr<const std::vector<int64_t>> Batcher::orderFor(int64_t epoch) const {
  std::lock_guard<std::mutex> lock(cacheMutex_);
  if (cachedOrder_ && cachedEpoch_ == epoch) return cachedOrder_;
  auto order = std::make_shared<std::vector<int64_t>>(dataset_.examples.size());
  std::iota(order->begin(), order->end(), int64_t{0});
  if (shuffle_) {
    std::mt19937_64 rng(mix(seed_ ^ mix(static_cast<uint64_t>(epoch))));
    for (size_t i = order->size(); i > 1; --i) std::swap((*order)[i - 1], (*order)[uniformBelow(rng, i)]);
  }
  cachedEpoch_ = epoch;
  cachedOrder_ = order;
  return order;
}

Batch Batcher::batch(int64_t epoch, int64_t index) const {
  if (index < 0 || index >= batchesPerEpoch())
    throw Error("batch index out of range").expected("0 to " + std::to_string(batchesPerEpoch() - 1))
        .got(std::to_string(index));
  const auto order = orderFor(epoch);
  const int64_t n = static_cast<int64_t>(order->size());
  const int64_t begin = std::min(n, index * batchSize_ * worldSize_ + rank_ * batchSize_);
  const int64_t end = std::min(n, begin + batchSize_);

  Batch b;
  b.size = end - begin;
  b.indices.assign(order->begin() + begin, order->begin() + end);
  const std::vector<Example>& rows = dataset_.examples;
  for (int64_t i : b.indices) b.seqLen = std::max<int64_t>(b.seqLen, static_cast<int64_t>(rows[static_cast<size_t>(i)].ids.size()));

  const TaskKind kind = dataset_.kind;
  if (b.seqLen > 0) {
    const size_t cells = static_cast<size_t>(b.size * b.seqLen);
    b.inputIds.assign(cells, padId_);
    b.attentionMask.assign(cells, 0);
    b.tokenTypeIds.assign(cells, 0);
    if (kind == TaskKind::CausalLM) b.lmLabels.assign(cells, -100);
    for (int64_t r = 0; r < b.size; ++r) {
      const size_t row = static_cast<size_t>(b.indices[static_cast<size_t>(r)]);
      const Example& ex = rows[row];
      const size_t at = static_cast<size_t>(r * b.seqLen);
      std::copy(ex.ids.begin(), ex.ids.end(), b.inputIds.begin() + static_cast<long>(at));
      std::fill_n(b.attentionMask.begin() + static_cast<long>(at), ex.ids.size(), 1);
      if (ex.typeIds.size() == ex.ids.size())
        std::copy(ex.typeIds.begin(), ex.typeIds.end(), b.tokenTypeIds.begin() + static_cast<long>(at));
      if (kind == TaskKind::CausalLM) {
        if (ex.lmLabels.size() != ex.ids.size())
          throw Error("a causal LM example needs as many labels as tokens").field("lmLabels")
              .expected(std::to_string(ex.ids.size())).got(std::to_string(ex.lmLabels.size()))
              .hint("dataset row " + std::to_string(row));
        std::copy(ex.lmLabels.begin(), ex.lmLabels.end(), b.lmLabels.begin() + static_cast<long>(at));
      }
    }
  }

  if (kind == TaskKind::Classification || kind == TaskKind::ImageClassification) {
    for (int64_t i : b.indices) {
      const Example& ex = rows[static_cast<size_t>(i)];
      b.labels.push_back(ex.hasLabel ? ex.label : -100);
    }
  } else if (kind == TaskKind::Regression) {
    for (int64_t i : b.indices) {
      const Example& ex = rows[static_cast<size_t>(i)];
      b.targets.push_back(ex.hasLabel ? static_cast<float>(ex.target) : std::numeric_limits<float>::quiet_NaN());
    }
  }

  if (kind == TaskKind::ImageClassification) {
    b.channels = dataset_.channels;
    b.height = dataset_.height;
    b.width = dataset_.width;
    const size_t image = static_cast<size_t>(b.channels * b.height * b.width);
    b.pixels.reserve(image * static_cast<size_t>(b.size));
    for (int64_t i : b.indices) {
      const Example& ex = rows[static_cast<size_t>(i)];
      if (ex.pixels.size() != image)
        throw Error("image has the wrong number of pixels").field("pixels")
            .expected({b.channels, b.height, b.width}).got(std::to_string(ex.pixels.size()) + " values")
            .hint("dataset row " + std::to_string(i));
      b.pixels.insert(b.pixels.end(), ex.pixels.begin(), ex.pixels.end());
    }
  }
  return b;
}

}  // namespace fw::data
