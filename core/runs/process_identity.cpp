#include "runs/process_identity.h"

#include <cerrno>
#include <csignal>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace fw::runs {

namespace {

std::string currentBootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

// State and start time from /proc/<pid>/stat. The command name (field 2) may hold spaces and
// parentheses, so fields are counted from the last ')'.
bool readStat(int64_t pid, char* state, int64_t* startTicks) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return false;
  auto close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream fields(text.substr(close + 1));
  std::string f;
  for (int field = 3; fields >> f; ++field) {
    if (field == 3) *state = f.empty() ? '?' : f[0];
    if (field == 22) {
      *startTicks = std::stoll(f);
      return true;
    }
  }
  return false;
}

}  // namespace

std::string ProcessIdentity::thisHost() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

ProcessIdentity ProcessIdentity::of(int64_t pid) {
  ProcessIdentity id;
  char state = '?';
  int64_t ticks = 0;
  if (pid <= 0) return id;
  if (readStat(pid, &state, &ticks)) {
    if (state == 'Z' || state == 'X') return id;
    id.startTicks = ticks;
  } else if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) {
    return id;  // no /proc entry and no process either
  }
  id.pid = pid;
  id.bootId = currentBootId();
  id.host = thisHost();
  return id;
}

ProcessIdentity ProcessIdentity::current() { return of(getpid()); }

bool ProcessIdentity::isAlive() const {
  if (pid <= 0) return false;
  ProcessIdentity now = of(pid);
  if (now.pid == 0) return false;
  if (!bootId.empty() && !now.bootId.empty() && bootId != now.bootId) return false;
  // Another process that got the same pid later has a different start time.
  if (startTicks != 0 && now.startTicks != 0 && startTicks != now.startTicks) return false;
  return true;
}

}  // namespace fw::runs
