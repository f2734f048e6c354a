#pragma once
// metrics.jsonl: one JSON object per line, one line per training step or eval event.
// A line is written with a single write(), so a killed run keeps every complete line; only its
// last line can be torn. Readers skip a torn last line and count it instead of failing.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace fw::runs {

class MetricsWriter {
public:
  // Opens `path` for appending (creating it). A torn last line left by a killed run is cut off
  // first so that new lines do not glue onto it; droppedTornBytes() says how much was cut.
  // write() per line is enough to survive a killed process; fdatasync, which only matters on
  // power loss, costs ~0.14 ms here, so it runs at most once per `syncEvery` (0: every line)
  // and when the writer closes.
  explicit MetricsWriter(std::string path,
                         std::chrono::milliseconds syncEvery = std::chrono::seconds(1));
  ~MetricsWriter();
  MetricsWriter(MetricsWriter&& other) noexcept;
  MetricsWriter& operator=(MetricsWriter&& other) noexcept;
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  // One event (a JSON object) as one line. Invalid UTF-8 in strings is replaced, never fatal.
  void append(const nlohmann::json& event);
  void sync();

  const std::string& path() const { return path_; }
  int64_t droppedTornBytes() const { return droppedTornBytes_; }

private:
  void close() noexcept;

  std::string path_;
  int fd_ = -1;
  std::chrono::milliseconds syncEvery_;
  std::chrono::steady_clock::time_point lastSync_;
  bool dirty_ = false;
  int64_t droppedTornBytes_ = 0;
};

// Every event of a metrics file, in order; a missing file has none. A last line without its
// newline is kept when it is a whole JSON object and counted in *tornLines otherwise. Any other
// line that is not a JSON object throws fw::Error naming the file and the line.
std::vector<nlohmann::json> readMetricsFile(const std::string& path, int64_t* tornLines = nullptr);

}  // namespace fw::runs
