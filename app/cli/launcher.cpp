#include "launcher.h"

#include "util/error.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>
#include <vector>

namespace fw::cli {

namespace {

// Signals the launcher got, to pass on to the workers: stops (SIGINT, SIGTERM, SIGHUP), counted
// so that two quick ones stay two (a second one makes the workers quit at once), and, apart from
// them so that neither hides the other, the latest pause or continue (SIGUSR1, SIGUSR2).
volatile sig_atomic_t gStops = 0;
volatile sig_atomic_t gStopSignal = 0;
volatile sig_atomic_t gForwardPause = 0;
volatile sig_atomic_t gSuspend = 0;  // Ctrl-Z (SIGTSTP)
void onSignal(int sig) {
  if (sig == SIGUSR1 || sig == SIGUSR2) {
    gForwardPause = sig;
  } else if (sig == SIGTSTP) {
    gSuspend = 1;
  } else {
    gStopSignal = sig == SIGINT ? SIGINT : SIGTERM;
    gStops = gStops + 1;
  }
}

std::vector<std::string> ownArguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::string cur;
  for (char c : all) {
    if (c == '\0') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (args.empty()) throw Error("cannot read this program's arguments from /proc/self/cmdline");
  return args;
}

int freeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("cannot open a socket to find a free port");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw Error("cannot find a free port on 127.0.0.1").hint("give one with --master 127.0.0.1:PORT");
  }
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "ended";
}

int exitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// How long the launcher waits, after a stop, for the workers still writing (rank 0: the
// checkpoint, adapters, summary and index), and after a failure, for the others to end by
// themselves once told to stop, before it kills them: a hang guard, not a deadline.
std::chrono::seconds stopGrace(const LaunchOptions& o) { return std::chrono::seconds(600 + int64_t(o.timeoutSeconds)); }
std::chrono::seconds failureGrace(const LaunchOptions& o) { return std::chrono::seconds(30 + int64_t(o.timeoutSeconds)); }

}  // namespace

void checkLaunchOptions(const LaunchOptions& o) {
  if (o.nproc < 1)
    throw Error("--nproc must be at least 1").field("--nproc").got(std::to_string(o.nproc));
  if (o.nnodes < 1)
    throw Error("--nnodes must be at least 1").field("--nnodes").got(std::to_string(o.nnodes));
  if (o.nodeRank < 0 || o.nodeRank >= o.nnodes)
    throw Error("--node-rank " + std::to_string(o.nodeRank) + " is outside 0.." + std::to_string(o.nnodes - 1))
        .field("--node-rank")
        .hint("number the machines of --nnodes " + std::to_string(o.nnodes) + " from 0");
  if (!(o.timeoutSeconds >= 0.001) || o.timeoutSeconds > 86400 * 7) {  // whole milliseconds are used
    std::ostringstream got;
    got << o.timeoutSeconds;
    throw Error("--timeout must be from 0.001 seconds to a week").field("--timeout").got(got.str());
  }
  // A worker started by torchrun (WORLD_SIZE set) may be given anything; a run on its own
  // would silently ignore --master.
  if (!o.master.empty() && o.nproc == 1 && o.nnodes == 1 && !isWorker())
    throw Error("--master is the rendezvous of several workers; this run starts none").field("--master")
        .hint("add --nproc N (and --nnodes, --node-rank on each machine), or leave --master out");
}

bool isWorker() {
  const char* w = std::getenv("WORLD_SIZE");
  return w && *w;
}

int coresPerWorker(int workersHere) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return std::max(1, int(cores) / std::max(1, workersHere));
}

int launchWorkers(const LaunchOptions& o) {
  checkLaunchOptions(o);
  std::string addr = "127.0.0.1";
  int port = 0;
  if (!o.master.empty()) {
    const auto colon = o.master.rfind(':');
    char* end = nullptr;
    const long p = colon == std::string::npos ? -1 : std::strtol(o.master.c_str() + colon + 1, &end, 10);
    if (colon == std::string::npos || colon == 0 || *end != '\0' || p < 1 || p > 65535)
      throw Error("--master '" + o.master + "' is not ADDR:PORT").field("--master").expected("e.g. 10.0.0.1:29500");
    addr = o.master.substr(0, colon);
    port = int(p);
  } else if (o.nnodes > 1) {
    throw Error("several machines need --master ADDR:PORT (rank 0's machine)").field("--master");
  } else {
    port = freeLoopbackPort();
  }
  const int world = o.nproc * o.nnodes;
  const int threads = o.threadsPerWorker > 0 ? o.threadsPerWorker : coresPerWorker(o.nproc);

  auto args = ownArguments();
  bool hasThreads = false;
  for (const auto& a : args) hasThreads = hasThreads || a == "--threads" || a.rfind("--threads=", 0) == 0;
  if (!hasThreads) {
    args.push_back("--threads");
    args.push_back(std::to_string(threads));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // Each worker runs in a process group of its own, so that what the terminal sends to its
  // foreground group (Ctrl-C), a shell's `kill %1` and anything else sent to this launcher's group
  // reach the launcher alone and the workers get each stop exactly once, forwarded from here: a
  // second copy of one Ctrl-C would make them quit at once, without a checkpoint.
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);  // the terminal closed: stop the workers cleanly
  sigaction(SIGUSR1, &sa, nullptr);
  sigaction(SIGUSR2, &sa, nullptr);
  sigaction(SIGTSTP, &sa, nullptr);

  const pid_t launcher = ::getpid();
  std::vector<pid_t> pids(size_t(o.nproc), -1);
  for (int local = 0; local < o.nproc; ++local) {
    const int rank = o.nodeRank * o.nproc + local;
    const pid_t pid = ::fork();
    if (pid < 0) throw Error("cannot start worker " + std::to_string(rank));
    if (pid == 0) {
      ::setpgid(0, 0);
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGTERM, SIG_DFL);
      ::signal(SIGHUP, SIG_DFL);
      // Ignored, not default (which ends the process), until the worker installs its handlers:
      // an ignored disposition survives exec, so an early pause cannot kill a starting worker.
      ::signal(SIGUSR1, SIG_IGN);
      ::signal(SIGUSR2, SIG_IGN);
      ::signal(SIGTSTP, SIG_DFL);
      // Outside the terminal's foreground group, a write to the terminal (rank 0's progress)
      // would stop the worker where `stty tostop` is set, unless SIGTTOU is ignored.
      ::signal(SIGTTOU, SIG_IGN);
      // Not in the launcher's group, a worker would outlive a launcher killed outright: it gets
      // SIGTERM instead (a clean stop), also when the launcher died before this line.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != launcher) ::_exit(130);
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(local).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", addr.c_str(), 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::execv("/proc/self/exe", argv.data());
      ::_exit(127);
    }
    ::setpgid(pid, pid);  // as the child does: whichever runs first, no signal finds it in our group
    pids[size_t(local)] = pid;
    std::cerr << "rank " << rank << ": pid " << pid << "\n";
  }
  std::cerr << world << " workers, " << threads << " threads each, group at " << addr << ":" << port << "\n";

  // A worker ending with 130 stopped as asked (Ctrl-C, SIGTERM): the others stop at the same step
  // by themselves and rank 0 still writes the checkpoint, adapters, summary and index, so they
  // are waited for. Any other end is a failure: the others are told to stop (SIGTERM) and, when
  // one is stuck on the failed peer past the collective timeout, killed.
  int firstFailure = 0, running = o.nproc, stopsSeen = 0;
  bool stopped = false, stopAsked = false;
  bool killPending = false;
  bool pausedByUser = false;  // the latest SIGUSR1 / SIGUSR2 forwarded: a Ctrl-Z does not undo a pause
  std::chrono::steady_clock::time_point killAt{};
  auto killAtMost = [&](std::chrono::seconds grace) {
    const auto at = std::chrono::steady_clock::now() + grace;
    if (!killPending || at < killAt) killAt = at;
    killPending = true;
  };
  auto signalAll = [&](int sig) {
    for (pid_t p : pids)
      if (p > 0) ::kill(p, sig);
  };
  while (running > 0) {
    // One forwarded signal per stop the launcher got: a second Ctrl-C still quits at once.
    for (const int stops = gStops; stopsSeen < stops; ++stopsSeen) {
      signalAll(gStopSignal);
      stopAsked = true;
    }
    if (gForwardPause) {
      const int sig = gForwardPause;
      gForwardPause = 0;
      pausedByUser = sig == SIGUSR1;
      signalAll(sig);
    }
    // Ctrl-Z reaches the launcher alone (the workers are in groups of their own). Stopping the
    // workers outright would leave them in a collective whose timeout runs on while they are
    // stopped; they pause instead, together after the step in flight, and the launcher stops
    // itself so that the shell has the terminal back. `fg` or `bg` continues it, and them.
    if (gSuspend) {
      gSuspend = 0;
      signalAll(SIGUSR1);
      std::cerr << "suspended: the workers pause after the step in flight; fg continues them\n";
      ::kill(::getpid(), SIGSTOP);
      if (!pausedByUser) signalAll(SIGUSR2);
    }
    int status = 0;
    const pid_t done = ::waitpid(-1, &status, WNOHANG);
    if (done <= 0) {
      if (killPending && std::chrono::steady_clock::now() > killAt) {
        std::cerr << "killing the workers still running (" << running << "): they did not end in time\n";
        signalAll(SIGKILL);
        killPending = false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    for (int local = 0; local < o.nproc; ++local) {
      if (pids[size_t(local)] != done) continue;
      pids[size_t(local)] = -1;
      --running;
      const int rank = o.nodeRank * o.nproc + local;
      const int code = exitCodeOf(status);
      // Killed by the stop signal itself: stopped before it could handle it (nothing written).
      const bool stop = code == 130 || (stopAsked && WIFSIGNALED(status) &&
                                         (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM));
      if (code == 0) continue;
      if (stop) {
        stopped = true;
        if (running > 0) killAtMost(stopGrace(o));
        continue;
      }
      if (firstFailure == 0) {
        firstFailure = code;
        std::cerr << "rank " << rank << " " << describe(status);
        if (rank != 0) std::cerr << " (its log: rank-" << rank << ".log in the run folder, or above if it stopped before the folder was made)";
        if (running > 0) std::cerr << "; stopping the other workers";
        std::cerr << "\n";
        signalAll(SIGTERM);
        if (running > 0) killAtMost(failureGrace(o));
      }
    }
  }
  if (firstFailure != 0) return firstFailure;
  return stopped ? 130 : 0;
}

}  // namespace fw::cli
