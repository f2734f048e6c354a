#pragma once
// Data-parallel training on c10d, the distributed engine inside LibTorch (DESIGN.md "Scale-out"):
// a TCPStore rendezvous and ProcessGroupGloo (CPU; NCCL where LibTorch has CUDA). Workers find
// each other through torchrun's environment: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
// Only what the trainer needs: averaged gradients in one flattened all-reduce, an averaged loss,
// a check that every rank starts from the same state, and strings rank 0 hands to the others.
#include <ATen/ATen.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fw::dist {

struct WorkerEnv {
  int rank = 0, worldSize = 1, localRank = 0;
  int localWorldSize = 1;  // workers on this machine (LOCAL_WORLD_SIZE; WORLD_SIZE when unset)
  std::string masterAddr = "127.0.0.1";
  int masterPort = 0;
};

// The worker's place from the environment; nullopt-like worldSize 1 when WORLD_SIZE is unset or 1.
// Throws fw::Error naming the variable when one is malformed or inconsistent.
WorkerEnv workerEnvFromEnvironment();

class DataParallel {
public:
  // Joins the group (blocks until all ranks are there or `timeout` passes: then throws fw::Error
  // naming the master address). `timeout` also bounds every collective: a dead or hung rank
  // makes the others fail within it.
  DataParallel(const WorkerEnv& env, std::chrono::milliseconds timeout, const c10::Device& device);
  ~DataParallel();

  int rank() const { return env_.rank; }
  int worldSize() const { return env_.worldSize; }
  bool lead() const { return env_.rank == 0; }

  // Sums every rank's gradients and divides by the world size, in one flattened all-reduce.
  // Parameters without a gradient take part as zeros (every rank must pass the same list).
  void averageGradients(const std::vector<at::Tensor>& params);
  // Element-wise sums over ranks (a step's loss, stop and pause flags, in one all-reduce).
  // `training` traffic counts in bytesReduced(); evaluation's does not.
  std::vector<double> sum(const std::vector<double>& values, bool training = true);
  // Every rank's values, concatenated in rank order, on every rank (lengths may differ).
  std::vector<double> gather(const std::vector<double>& values);
  // Throws fw::Error on every rank when `fingerprint` differs between ranks, naming `what` and
  // the ranks that differ from rank 0.
  void checkSame(const std::string& what, uint64_t fingerprint);
  // Rank 0's `value` on every rank (rank 0 passes it, the others get it, waiting up to `wait`
  // for it: rank 0 may first train and cache a base model).
  std::string shareFromLead(const std::string& key, const std::string& value = "",
                            std::chrono::milliseconds wait = std::chrono::hours(24));
  // Rank 0 has done something alone (written a checkpoint, a method's adapters): the others wait
  // for it up to `wait`, not the collective timeout, then all meet in one all-reduce, so that rank
  // 0 goes on (or exits, taking the store with it) only once every rank has seen it.
  void waitForLead(const std::string& key, std::chrono::milliseconds wait = std::chrono::hours(24));
  // Bytes all-reduced for training steps so far (gradients, loss, stop and pause flags).
  int64_t bytesReduced() const { return bytes_; }

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  WorkerEnv env_;
  int64_t bytes_ = 0;
  std::chrono::milliseconds timeout_;
};

// A fingerprint of tensors' values (FNV-1a over their bytes, in order): equal tensors, equal value.
uint64_t fingerprint(const std::vector<at::Tensor>& tensors, uint64_t seed = 1469598103934665603ull);
uint64_t fingerprint(const std::string& text, uint64_t seed = 1469598103934665603ull);

}  // namespace fw::dist
