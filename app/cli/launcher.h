#pragma once
// `fourierft train --nproc N [--nnodes M --node-rank K --master ADDR:PORT]`: starts N workers of
// this same command on this machine with torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and waits for them. Each worker has a process group
// of its own: a stop (SIGINT, SIGTERM, SIGHUP) sent to the launcher or its group reaches every
// worker once, forwarded, and the launcher waits while rank 0 writes the checkpoint (exit 130). When
// one fails, the others are stopped (SIGTERM; SIGKILL only when one is still there --timeout + 30 s
// later) and its exit code is returned.
#include <string>

namespace fw::cli {

struct LaunchOptions {
  int nproc = 1, nnodes = 1, nodeRank = 0;
  std::string master;        // ADDR:PORT; empty: 127.0.0.1 and a free port (one node only)
  int threadsPerWorker = 0;  // 0: the cores divided among the workers
  double timeoutSeconds = 60;
};

// True when this process was started as a worker (WORLD_SIZE set by us, torchrun or a cluster).
bool isWorker();

// Throws fw::Error for --nproc or --nnodes below 1 or a --node-rank outside 0..nnodes-1.
void checkLaunchOptions(const LaunchOptions& options);

// Runs the workers; returns the exit code for this launcher. Throws fw::Error for bad options.
int launchWorkers(const LaunchOptions& options);

// Each of `workersHere` workers on one machine gets its share of the cores (at least 1).
int coresPerWorker(int workersHere);

}  // namespace fw::cli
