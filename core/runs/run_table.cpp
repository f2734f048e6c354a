#include "runs/run_table.h"

#include "runs/time_text.h"

#include <algorithm>
#include <cstdio>

namespace fw::runs {

using nlohmann::json;

namespace {

const char* const kPreferredMetrics[] = {"accuracy", "matthews_correlation", "pearson", "spearman",
                                         "f1", "eval_loss", "loss"};

// Display width in characters: UTF-8 continuation bytes take no column.
size_t width(const std::string& s) {
  return size_t(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// At most `max` characters; `keepEnd` keeps the tail (the informative part of a path).
std::string shorten(const std::string& s, size_t max, bool keepEnd = false) {
  if (width(s) <= max) return s;
  const size_t keep = max - 3;
  std::string out;
  size_t chars = 0;
  if (!keepEnd) {
    for (size_t i = 0; i < s.size(); ++i) {
      if ((s[i] & 0xC0) != 0x80 && chars++ == keep) break;
      out += s[i];
    }
    return out + "...";
  }
  for (size_t i = s.size(); i-- > 0;) {
    out.insert(out.begin(), s[i]);
    if ((s[i] & 0xC0) != 0x80 && ++chars == keep) break;
  }
  return "..." + out;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

bool hasMetric(const json& metrics, const std::string& name) {
  if (metrics.contains(name) && metrics[name].is_number()) return true;
  for (const auto& [key, value] : metrics.items())
    if (value.is_object() && value.contains(name) && value[name].is_number()) return true;
  return false;
}

// Runs indexed before session 8 hold each method's whole summary ({"lora": {"final_metrics":
// {...}, "steps": ...}}): read its final metrics the same way.
json methodMetrics(const json& metrics) {
  json out = metrics;
  for (auto& [key, value] : out.items())
    if (value.is_object() && value.contains("final_metrics") && value["final_metrics"].is_object())
      value = json(value["final_metrics"]);
  return out;
}

std::string metricCell(const json& stored, const std::string& wanted) {
  if (!stored.is_object()) return "-";
  const json metrics = methodMetrics(stored);
  std::string name = wanted;
  if (name.empty()) {
    if (metrics.contains("main_metric") && metrics["main_metric"].is_string())
      name = metrics["main_metric"].get<std::string>();
    else
      for (const char* m : kPreferredMetrics)
        if (hasMetric(metrics, m)) { name = m; break; }
  }
  if (name.empty() || !hasMetric(metrics, name)) return "-";
  std::string value;
  if (metrics.contains(name) && metrics[name].is_number()) {
    value = number(metrics[name].get<double>());
  } else {
    for (const auto& [key, m] : metrics.items())
      if (m.is_object() && m.contains(name) && m[name].is_number())
        value += (value.empty() ? "" : " ") + key + "=" + number(m[name].get<double>());
  }
  if (!wanted.empty()) return value;
  return name + (value.find('=') == std::string::npos ? "=" : ": ") + value;
}

std::string localMinute(const std::string& iso) {
  auto t = parseUtcIso(iso);
  if (!t) return iso.empty() ? "-" : iso;
  std::tm tm{};
  localtime_r(&*t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

std::string duration(const RunRecord& run, std::time_t now) {
  auto begin = parseUtcIso(run.startedAt);
  std::optional<std::time_t> end = parseUtcIso(run.endedAt);
  if (!end && run.status == RunStatus::Running) end = now;
  if (!begin || !end || *end < *begin) return "-";
  const long long s = *end - *begin;
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%llds", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, s % 3600 / 60);
  return buf;
}

}  // namespace

std::string formatRunTable(const std::vector<RunRecord>& runs, const RunTableOptions& options) {
  const std::time_t now = options.now ? options.now : std::time(nullptr);
  const std::string metricHeader = options.metric.empty() ? "METRIC" : options.metric;
  std::vector<std::vector<std::string>> rows = {
      {"ID", "STATUS", "NAME", "MODEL", "DATASET", "METHODS", metricHeader, "STARTED", "DURATION"}};
  for (const auto& run : runs) {
    std::string methods;
    for (const auto& m : run.methods) methods += (methods.empty() ? "" : ",") + m;
    rows.push_back({std::to_string(run.id), statusName(run.status), shorten(run.name, 40),
                    shorten(run.model.empty() ? "-" : run.model, 28, true),
                    shorten(run.dataset.empty() ? "-" : run.dataset, 24, true),
                    shorten(methods.empty() ? "-" : methods, 28),
                    shorten(metricCell(run.finalMetrics, options.metric), 44),
                    localMinute(run.startedAt), duration(run, now)});
  }
  const size_t columns = rows[0].size();
  std::vector<size_t> widths(columns, 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < columns; ++c) widths[c] = std::max(widths[c], width(row[c]));
  auto rightAligned = [&](size_t c) { return c == 0 || c == columns - 1; };  // id, duration
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < columns; ++c) {
      const std::string pad(widths[c] - width(row[c]), ' ');
      line += (c ? "  " : "") + (rightAligned(c) ? pad + row[c] : row[c] + pad);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace fw::runs
