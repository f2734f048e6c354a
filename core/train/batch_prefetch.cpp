#include "train/batch_prefetch.h"

#include "util/error.h"

#include <chrono>

namespace fw::train {

BatchPrefetcher::BatchPrefetcher(const data::Batcher& batcher, data::TaskKind kind, const c10::Device& device,
                                 int64_t firstStep, int64_t endStep, int64_t depth)
    : batcher_(batcher), kind_(kind), device_(device), next_(firstStep), end_(endStep), depth_(std::max<int64_t>(1, depth)),
      perEpoch_(batcher.batchesPerEpoch()) {
  if (perEpoch_ < 1) throw Error("internal: prefetching from a batcher without batches");
  thread_ = std::thread([this] { produce(); });
}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

namespace {

template <typename Fn>
void forEachTensor(BatchTensors& t, Fn fn) {
  for (at::Tensor* x : {&t.inputs.input_ids, &t.inputs.attention_mask, &t.inputs.token_type_ids, &t.inputs.pixel_values,
                        &t.labels, &t.targets, &t.lmLabels})
    if (x->defined()) fn(*x);
}

}  // namespace

void BatchPrefetcher::produce() {
  for (int64_t step = next_; step < end_; ++step) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || int64_t(ready_.size()) < depth_; });
      if (stop_) return;
    }
    Item item;
    try {
      item.batch = batcher_.batch(step / perEpoch_, step % perEpoch_);
      item.tensors = toTensors(item.batch, kind_, c10::Device(c10::kCPU));
      // For a GPU, page-locked here on the prefetch thread, so next() copies without blocking.
      if (device_.is_cuda()) forEachTensor(item.tensors, [](at::Tensor& t) { t = t.pin_memory(); });
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
      cv_.notify_all();
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ready_.push_back(std::move(item));
    cv_.notify_all();
  }
}


BatchPrefetcher::Item BatchPrefetcher::next() {
  Item item;
  {
    const auto t0 = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return !ready_.empty() || error_; });
    waited_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (ready_.empty()) std::rethrow_exception(error_);
    item = std::move(ready_.front());
    ready_.pop_front();
  }
  cv_.notify_all();
  if (!device_.is_cpu()) {
    // From page-locked memory the copy is asynchronous: it overlaps the GPU's work still queued.
    const auto device = device_;
    forEachTensor(item.tensors, [device](at::Tensor& t) { t = t.to(t.options().device(device), /*non_blocking=*/t.is_pinned()); });
  }
  return item;
}

}  // namespace fw::train
