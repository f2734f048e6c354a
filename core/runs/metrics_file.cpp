#include "runs/metrics_file.h"

#include "util/error.h"
#include "util/files.h"
#include "util/json_depth.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fw::runs {

namespace {

using nlohmann::json;

bool isBlank(const std::string& s) {
  return s.find_first_not_of(" \t\r") == std::string::npos;
}

// The parsed object, or a discarded value when `text` is not one JSON object.
json parseObject(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  // Too deep counts as not parsed: the copies made of it later recurse once per level.
  if (!j.is_object() || jsonDeeperThan(j)) return json(json::value_t::discarded);
  return j;
}

[[noreturn]] void fail(const std::string& what, const std::string& path, int err) {
  throw Error(what + ": " + std::strerror(err)).file(path)
      .hint(err == ENOSPC || err == EDQUOT ? "free disk space; the lines written so far are kept"
                                           : "check that the run folder exists and is writable");
}

void writeAll(int fd, const char* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("cannot append to metrics log", path, errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Offset just past the last '\n' of the file (0 when it has none), read backwards in blocks.
off_t endOfLastLine(int fd, off_t size, const std::string& path) {
  char buf[65536];
  for (off_t end = size; end > 0;) {
    off_t begin = end > off_t(sizeof buf) ? end - off_t(sizeof buf) : 0;
    ssize_t n = ::pread(fd, buf, static_cast<size_t>(end - begin), begin);
    if (n < 0) fail("cannot read metrics log", path, errno);
    for (ssize_t i = n; i > 0; --i)
      if (buf[i - 1] == '\n') return begin + i;
    end = begin;
  }
  return 0;
}

}  // namespace

MetricsWriter::MetricsWriter(std::string path, std::chrono::milliseconds syncEvery)
    : path_(std::move(path)), syncEvery_(syncEvery), lastSync_(std::chrono::steady_clock::now()) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot open metrics log", path_, errno);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail("cannot read metrics log", path_, errno);
  if (st.st_size == 0) return;
  off_t keep = endOfLastLine(fd_, st.st_size, path_);
  if (keep == st.st_size) return;
  std::string tail(static_cast<size_t>(st.st_size - keep), '\0');
  if (::pread(fd_, tail.data(), tail.size(), keep) != ssize_t(tail.size()))
    fail("cannot read metrics log", path_, errno);
  if (!parseObject(tail).is_discarded()) {
    writeAll(fd_, "\n", 1, path_);  // a whole event that only lacks its newline
  } else {
    if (::ftruncate(fd_, keep) != 0) fail("cannot cut the torn last line of metrics log", path_, errno);
    droppedTornBytes_ = st.st_size - keep;
  }
  dirty_ = true;
}

MetricsWriter::~MetricsWriter() { close(); }

MetricsWriter::MetricsWriter(MetricsWriter&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), syncEvery_(other.syncEvery_),
      lastSync_(other.lastSync_), dirty_(other.dirty_), droppedTornBytes_(other.droppedTornBytes_) {
  other.fd_ = -1;
}

MetricsWriter& MetricsWriter::operator=(MetricsWriter&& other) noexcept {
  if (this != &other) {
    close();
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    syncEvery_ = other.syncEvery_;
    lastSync_ = other.lastSync_;
    dirty_ = other.dirty_;
    droppedTornBytes_ = other.droppedTornBytes_;
    other.fd_ = -1;
  }
  return *this;
}

void MetricsWriter::close() noexcept {
  if (fd_ < 0) return;
  if (dirty_) ::fdatasync(fd_);
  ::close(fd_);
  fd_ = -1;
}

void MetricsWriter::append(const json& event) {
  if (!event.is_object())
    throw Error("a metrics event must be a JSON object").file(path_).got(event.type_name());
  if (fd_ < 0) throw Error("the metrics log is closed").file(path_);
  // dump() escapes newlines inside strings, so the event is exactly one line.
  std::string line = event.dump(-1, ' ', false, json::error_handler_t::replace);
  line += '\n';
  writeAll(fd_, line.data(), line.size(), path_);
  dirty_ = true;
  if (syncEvery_.count() == 0 || std::chrono::steady_clock::now() - lastSync_ >= syncEvery_) sync();
}

void MetricsWriter::sync() {
  if (fd_ < 0 || !dirty_) return;
  if (::fdatasync(fd_) != 0) fail("cannot flush metrics log", path_, errno);
  dirty_ = false;
  lastSync_ = std::chrono::steady_clock::now();
}

std::vector<json> readMetricsFile(const std::string& path, int64_t* tornLines) {
  if (tornLines) *tornLines = 0;
  std::vector<json> events;
  if (!fileExists(path)) return events;
  const std::string text = readTextFile(path);
  int64_t lineNo = 0;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    const bool terminated = end != std::string::npos;
    if (!terminated) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    ++lineNo;
    if (isBlank(line)) continue;
    json event = parseObject(line);
    if (!event.is_discarded()) {
      events.push_back(std::move(event));
    } else if (!terminated) {
      if (tornLines) ++*tornLines;  // the run was killed while writing it
    } else {
      throw Error("metrics line is not a JSON object").file(path).line(lineNo)
          .hint("the line was damaged after it was written; fix or delete it");
    }
  }
  return events;
}

}  // namespace fw::runs
