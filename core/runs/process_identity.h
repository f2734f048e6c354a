#pragma once
// The process that owns a running run, recorded so that a later process can tell whether it is
// still alive: a pid alone is not enough, because pids are reused and a reboot kills everything.
// Linux: the start time comes from /proc/<pid>/stat and the boot from /proc's boot_id.
#include <cstdint>
#include <string>

namespace fw::runs {

struct ProcessIdentity {
  int64_t pid = 0;         // 0: unknown owner
  int64_t startTicks = 0;  // clock ticks after boot at which the process started; 0: unknown
  std::string bootId;      // empty: unknown
  std::string host;

  static ProcessIdentity current();
  // The identity the live process `pid` has now; pid 0 when no such process runs.
  static ProcessIdentity of(int64_t pid);
  static std::string thisHost();

  bool onThisHost() const { return host == thisHost(); }
  // Whether this very process (same pid, start time and boot) still runs on this host.
  // Zombies count as dead. Meaningful only when onThisHost().
  bool isAlive() const;
};

}  // namespace fw::runs
