#pragma once
// Batches built ahead of the training step on a background thread, so that a step never waits
// for padding and tensor building (issue "Performance on the CPU", end to end). The order is the
// Batcher's, so a prefetched run trains on exactly the batches of an unprefetched one.
#include "data/batcher.h"
#include "train/batch_tensors.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

namespace fw::train {

class BatchPrefetcher {
public:
  // Steps [firstStep, endStep); step s is batch (s / perEpoch, s % perEpoch). Up to `depth`
  // batches wait ready. Tensors are built on the CPU; next() moves them to `device`.
  BatchPrefetcher(const data::Batcher& batcher, data::TaskKind kind, const c10::Device& device, int64_t firstStep,
                  int64_t endStep, int64_t depth = 2);
  ~BatchPrefetcher();  // stops the thread; batches not taken are dropped
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  struct Item {
    data::Batch batch;
    BatchTensors tensors;
  };
  // The next step's batch; rethrows what building it threw. Blocks while it is not ready.
  Item next();
  // Seconds next() spent waiting so far.
  double waitSeconds() const { return waited_; }

private:
  void produce();

  const data::Batcher& batcher_;
  data::TaskKind kind_;
  c10::Device device_;
  int64_t next_, end_, depth_, perEpoch_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Item> ready_;
  std::exception_ptr error_;
  bool stop_ = false;
  double waited_ = 0;
  std::thread thread_;
};

}  // namespace fw::train
