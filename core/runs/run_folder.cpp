#include "runs/run_folder.h"

#include "io/atomic_file.h"
#include "runs/time_text.h"
#include "util/error.h"
#include "util/files.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <vector>

namespace fw::runs {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool isSegment(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\0') == std::string::npos;
}

std::string absolutePath(const std::string& dir) {
  std::error_code ec;
  fs::path p = fs::absolute(dir, ec);
  if (ec) throw Error("cannot resolve path: " + ec.message()).file(dir);
  std::string s = p.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

std::string jsonText(const json& j) {
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

json readObject(const std::string& path) {
  json j = readJsonFile(path);
  if (!j.is_object()) throw Error("expected a JSON object").file(path).got(j.type_name());
  return j;
}

// fsync of a file or folder; what a checkpoint needs before its COMPLETE marker.
void syncPath(const std::string& path, bool folder) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (folder ? O_DIRECTORY : 0));
  if (fd < 0 || ::fsync(fd) != 0) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    throw Error(std::string("cannot flush checkpoint to disk: ") + std::strerror(err)).file(path);
  }
  ::close(fd);
}

bool parseStepName(const std::string& name, int64_t* step) {
  static const std::string prefix = "step-";
  if (name.size() <= prefix.size() || name.size() > prefix.size() + 18 ||
      name.compare(0, prefix.size(), prefix) != 0)
    return false;
  for (size_t i = prefix.size(); i < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  *step = std::stoll(name.substr(prefix.size()));
  return true;
}

// The marker goes first and durably, so a removal cut short never leaves a "complete" half.
void removeCheckpoint(const std::string& dir) {
  const std::string marker = dir + "/" + run_files::kComplete;
  if (::unlink(marker.c_str()) == 0) syncPath(dir, true);
  std::error_code ec;
  removeTree(dir, ec);
  if (ec) throw Error("cannot remove checkpoint: " + ec.message()).file(dir);
}

// A folder that a create() killed half-way left behind: ".creating-<pid>-XXXXXX" whose process is
// gone. One still being filled by a live process is left alone.
constexpr const char* kStagingPrefix = ".creating-";

void removeAbandonedStaging(const std::string& parent) {
  std::vector<fs::path> abandoned;
  std::error_code ec;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(kStagingPrefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + std::strlen(kStagingPrefix), nullptr, 10);
    if (pid <= 0 || (::kill(pid_t(pid), 0) != 0 && errno == ESRCH)) abandoned.push_back(it->path());
  }
  for (const auto& p : abandoned) fs::remove_all(p, ec);
}

// Moves `from` to `to` unless `to` exists. renameat2(RENAME_NOREPLACE) does it in one step; on a
// file system without it, mkdir claims the name and rename() replaces that empty folder.
bool renameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
  if (errno != EINVAL && errno != ENOSYS) return false;
  if (::mkdir(to.c_str(), 0755) != 0) return false;
  return ::rename(from.c_str(), to.c_str()) == 0;
}

}  // namespace

RunFolder RunFolder::create(const std::string& parentDir, const std::string& name, const json& experiment) {
  if (!isSegment(name))
    throw Error("a run name must be one folder name").field("name").got("'" + name + "'");
  if (!experiment.is_object())
    throw Error("the experiment must be a JSON object").field("experiment").got(experiment.type_name());
  ensureDir(parentDir);
  const std::string parent = absolutePath(parentDir);
  removeAbandonedStaging(parent);
  // The folder is filled under a hidden name and renamed into place, so a run killed at any
  // moment leaves either no folder or one with its experiment.json (one that can be resumed).
  std::string staging = parent + "/" + kStagingPrefix + std::to_string(::getpid()) + "-XXXXXX";
  if (!::mkdtemp(staging.data()))
    throw Error(std::string("cannot create run folder: ") + std::strerror(errno)).file(parent + "/" + name)
        .hint("check that the output folder is writable");
  try {
    ::chmod(staging.c_str(), 0755);
    io::writeFileAtomic(staging + "/" + run_files::kExperiment, jsonText(experiment));
    for (int i = 1; i < 10000; ++i) {
      const std::string path = parent + "/" + (i == 1 ? name : name + "-" + std::to_string(i));
      if (renameNoReplace(staging, path)) {
        syncPath(parent, true);
        return RunFolder(path);
      }
      if (errno != EEXIST && errno != ENOTEMPTY)
        throw Error(std::string("cannot create run folder: ") + std::strerror(errno)).file(path)
            .hint("check that the output folder is writable");
    }
    throw Error("no free run folder name").file(parent + "/" + name);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    throw;
  }
}

RunFolder RunFolder::open(const std::string& dir) {
  const std::string path = absolutePath(dir);
  if (!fs::is_directory(path)) throw Error("run folder not found").file(path);
  if (!fileExists(path + "/" + run_files::kExperiment))
    throw Error(std::string("not a run folder: ") + run_files::kExperiment + " is missing")
        .file(path).hint("open the folder that holds experiment.json");
  return RunFolder(path);
}

std::string RunFolder::name() const { return fs::path(path_).filename().string(); }

json RunFolder::readExperiment() const { return readObject(file(run_files::kExperiment)); }

MetricsWriter RunFolder::metrics(std::chrono::milliseconds syncEvery) {
  MetricsWriter writer(file(run_files::kMetrics), syncEvery);
  if (writer.droppedTornBytes() > 0)
    log(std::string(run_files::kMetrics) + ": cut a torn last line of " +
        std::to_string(writer.droppedTornBytes()) + " bytes left by an interrupted run");
  return writer;
}

std::vector<json> RunFolder::readMetrics(int64_t* tornLines) const {
  return readMetricsFile(file(run_files::kMetrics), tornLines);
}

void RunFolder::writeSummary(const json& summary) {
  const std::string path = file(run_files::kSummary);
  if (!summary.is_object())
    throw Error("the summary must be a JSON object").file(path).got(summary.type_name());
  if (summary.contains("status") &&
      !(summary["status"].is_string() && parseStatus(summary["status"].get<std::string>())))
    throw Error("unknown run status").file(path).field("status").expected(allStatusNames())
        .got(summary["status"].dump());
  io::writeFileAtomic(path, jsonText(summary));
}

void RunFolder::updateSummary(const json& patch) {
  json summary = readSummary().value_or(json::object());
  summary.merge_patch(patch);
  writeSummary(summary);
}

std::optional<json> RunFolder::readSummary() const {
  const std::string path = file(run_files::kSummary);
  if (!fileExists(path)) return std::nullopt;
  return readObject(path);
}

RunStatus RunFolder::status() const {
  auto summary = readSummary();
  if (!summary || !summary->contains("status")) return RunStatus::Created;
  const json& s = (*summary)["status"];
  if (auto status = s.is_string() ? parseStatus(s.get<std::string>()) : std::nullopt) return *status;
  throw Error("unknown run status").file(file(run_files::kSummary)).field("status")
      .expected(allStatusNames()).got(s.dump());
}

std::string methodStatus(const json& summary, const std::string& method) {
  if (!summary.is_object() || !summary.contains("methods") || !summary["methods"].is_object()) return "not started";
  const json& methods = summary["methods"];
  const auto it = methods.find(method);
  if (it == methods.end() || !it->is_object() || !it->contains("status") || !(*it)["status"].is_string()) return "not started";
  return (*it)["status"].get<std::string>();
}

void RunFolder::log(const std::string& text) {
  const std::string path = file(run_files::kLog), stamp = nowUtcIso() + " ";
  std::string body = text;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  std::string out = stamp;
  for (char c : body) out += c == '\n' ? "\n" + stamp : std::string(1, c);
  out += '\n';
  // One write() with O_APPEND: lines from two threads or processes never interleave.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, out.data(), out.size()) != ssize_t(out.size())) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    throw Error(std::string("cannot append to log: ") + std::strerror(err)).file(path);
  }
  ::close(fd);
}

std::string RunFolder::checkpointsRoot(const std::string& method) const {
  if (method.empty()) return file(run_files::kCheckpoints);
  if (!isSegment(method))
    throw Error("a method name must be one folder name").file(path_).field("method").got(method);
  return file(std::string(run_files::kCheckpoints) + "/" + method);
}

std::string RunFolder::checkpointDir(int64_t step, const std::string& method) const {
  if (step < 0)
    throw Error("a checkpoint step must not be negative").file(path_).got(std::to_string(step));
  char name[32];
  std::snprintf(name, sizeof name, "step-%08lld", static_cast<long long>(step));
  return checkpointsRoot(method) + "/" + name;
}

std::string RunFolder::createCheckpointDir(int64_t step, const std::string& method) {
  const std::string dir = checkpointDir(step, method);
  if (fs::exists(dir)) removeCheckpoint(dir);
  ensureDir(dir);
  return dir;
}

void RunFolder::markCheckpointComplete(const std::string& dir) {
  if (!fs::is_directory(dir)) throw Error("checkpoint folder not found").file(dir);
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file()) syncPath(it->path().string(), false);
    else if (it->is_directory()) syncPath(it->path().string(), true);
  }
  if (ec) throw Error("cannot list checkpoint: " + ec.message()).file(dir);
  syncPath(dir, true);
  io::writeFileAtomic(dir + "/" + run_files::kComplete,
                      json{{"completed_at", nowUtcIso()}}.dump() + "\n");
  syncPath(fs::path(dir).parent_path().string(), true);
}

std::vector<Checkpoint> RunFolder::checkpoints(const std::string& method) const {
  std::vector<Checkpoint> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(checkpointsRoot(method), ec);
       !ec && it != fs::end(it); it.increment(ec)) {
    Checkpoint c;
    if (!it->is_directory() || !parseStepName(it->path().filename().string(), &c.step)) continue;
    c.dir = it->path().string();
    c.complete = fileExists(c.dir + "/" + run_files::kComplete);
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(),
            [](const Checkpoint& a, const Checkpoint& b) { return a.step < b.step; });
  return out;
}

std::optional<Checkpoint> RunFolder::latestCheckpoint(const std::string& method) const {
  auto all = checkpoints(method);
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (it->complete) return *it;
  return std::nullopt;
}

std::vector<std::string> RunFolder::pruneCheckpoints(int keep, const std::string& method) {
  if (keep < 1)
    throw Error("keep at least one checkpoint").file(path_).field("keep").got(std::to_string(keep));
  auto all = checkpoints(method);
  std::vector<int64_t> complete;
  for (const auto& c : all)
    if (c.complete) complete.push_back(c.step);
  if (complete.empty()) return {};
  const int64_t oldestKept = complete[complete.size() > size_t(keep) ? complete.size() - keep : 0];
  std::vector<std::string> removed;
  for (const auto& c : all) {
    if (c.step >= oldestKept) break;
    removeCheckpoint(c.dir);
    removed.push_back(c.dir);
  }
  return removed;
}

std::string RunFolder::adapterDir(const std::string& method, AdapterFormat format) const {
  if (!isSegment(method))
    throw Error("a method name must be one folder name").file(path_).field("method")
        .got("'" + method + "'");
  return file(std::string(run_files::kAdapters) + "/" + method + "/" +
              (format == AdapterFormat::Peft ? "peft" : "native"));
}

std::string runName(const std::string& label, std::time_t when) {
  std::tm tm{};
  localtime_r(&when, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  std::string slug;
  for (char c : label) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
    if (keep) slug += c;
    else if (!slug.empty() && slug.back() != '-') slug += '-';
  }
  if (slug.size() > 48) slug.resize(48);
  while (!slug.empty() && (slug.back() == '-' || slug.back() == '.')) slug.pop_back();
  while (!slug.empty() && (slug.front() == '-' || slug.front() == '.')) slug.erase(0, 1);
  return std::string(stamp) + "-" + (slug.empty() ? "run" : slug);
}

void ensureDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!ec && !fs::is_directory(dir, ec)) ec = std::make_error_code(std::errc::not_a_directory);
  if (ec)
    throw Error("cannot create folder: " + ec.message()).file(dir)
        .hint("check the path and the permissions of its parent folders");
}

void checkWritableFolder(const std::string& dir, uint64_t minFreeBytes) {
  ensureDir(dir);
  const std::string probe = dir + "/.fw-write-probe-" + std::to_string(getpid());
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, "x", 1) != 1) {
    int err = errno;
    if (fd >= 0) { ::close(fd); ::unlink(probe.c_str()); }
    throw Error(std::string("cannot write in folder: ") + std::strerror(err)).file(dir)
        .hint("choose another output folder or make this one writable");
  }
  ::close(fd);
  ::unlink(probe.c_str());
  struct statvfs st {};
  if (minFreeBytes > 0 && ::statvfs(dir.c_str(), &st) == 0) {
    const uint64_t freeBytes = uint64_t(st.f_bavail) * st.f_frsize;
    if (freeBytes < minFreeBytes)
      throw Error("not enough free disk space").file(dir)
          .expected(std::to_string(minFreeBytes / (1 << 20)) + " MiB")
          .got(std::to_string(freeBytes / (1 << 20)) + " MiB");
  }
}

}  // namespace fw::runs
