#include "train/event_stream.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

namespace fw::train {

namespace {

using nlohmann::json;

// A NaN or infinite loss is written as null (JSON has no NaN) and read back as NaN.
json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

double number(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : std::numeric_limits<double>::quiet_NaN();
}

int64_t integer(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string text(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json metricsJson(const std::map<std::string, double>& m) {
  json out = json::object();
  for (const auto& [k, v] : m) out[k] = number(v);
  return out;
}

std::map<std::string, double> metricsOf(const json& j, const char* key) {
  std::map<std::string, double> out;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return out;
  for (auto m = it->begin(); m != it->end(); ++m) out[m.key()] = m->is_number() ? m->get<double>() : std::nan("");
  return out;
}

void write(std::FILE* out, const json& j) {
  // Log lines and names may hold any bytes: invalid UTF-8 is replaced, never thrown on.
  const auto line = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::fwrite(line.data(), 1, line.size(), out);
  std::fflush(out);  // the reader follows the run as it goes
}

}  // namespace

void EventWriter::onLog(const std::string& line) { write(out_, {{"event", "log"}, {"line", line}}); }

void EventWriter::onMethodStart(const std::string& method, int64_t totalSteps, int64_t trainable) {
  write(out_, {{"event", "method_start"}, {"method", method}, {"total_steps", totalSteps}, {"trainable", trainable}});
}

void EventWriter::onStep(const StepEvent& e) {
  write(out_, {{"event", "step"}, {"method", e.method}, {"step", e.step}, {"total_steps", e.totalSteps},
               {"epoch", e.epoch}, {"loss", number(e.loss)}, {"lr", e.lr}, {"samples_per_s", e.samplesPerSecond},
               {"tokens_per_s", e.tokensPerSecond}, {"memory_mib", e.memoryMiB},
               {"peak_memory_mib", e.peakMemoryMiB}, {"time", e.elapsedSeconds}, {"eta_s", e.etaSeconds}});
}

void EventWriter::onEval(const EvalEvent& e) {
  write(out_, {{"event", "eval"}, {"method", e.method}, {"step", e.step}, {"epoch", e.epoch},
               {"loss", number(e.loss)}, {"metrics", metricsJson(e.metrics)}});
}

void EventWriter::onMethodFinished(const MethodResult& r) {
  write(out_, {{"event", "method_finished"}, {"method", r.method}, {"type", r.type}, {"status", r.status},
               {"trainable", r.trainableParameters}, {"steps", r.steps}, {"seconds", r.seconds},
               {"final_metrics", metricsJson(r.finalMetrics)}, {"error", r.error}});
}

void EventWriter::onRunFolder(const std::string& runFolder) {
  write(out_, {{"event", "run_folder"}, {"path", runFolder}});
}

void EventWriter::onFinished(const std::string& runFolder, const std::string& status) {
  write(out_, {{"event", "finished"}, {"path", runFolder}, {"status", status}});
}

bool replayEvent(const std::string& line, TrainObserver& observer) {
  const auto j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;
  const auto event = text(j, "event");
  if (event == "log") {
    observer.onLog(text(j, "line"));
  } else if (event == "method_start") {
    observer.onMethodStart(text(j, "method"), integer(j, "total_steps"), integer(j, "trainable"));
  } else if (event == "step") {
    StepEvent e;
    e.method = text(j, "method");
    e.step = integer(j, "step");
    e.totalSteps = integer(j, "total_steps");
    e.epoch = integer(j, "epoch");
    e.loss = number(j, "loss");
    e.lr = number(j, "lr");
    e.samplesPerSecond = number(j, "samples_per_s");
    e.tokensPerSecond = number(j, "tokens_per_s");
    e.memoryMiB = number(j, "memory_mib");
    e.peakMemoryMiB = number(j, "peak_memory_mib");
    e.elapsedSeconds = number(j, "time");
    e.etaSeconds = number(j, "eta_s");
    observer.onStep(e);
  } else if (event == "eval") {
    EvalEvent e;
    e.method = text(j, "method");
    e.step = integer(j, "step");
    e.epoch = integer(j, "epoch");
    e.loss = number(j, "loss");
    e.metrics = metricsOf(j, "metrics");
    observer.onEval(e);
  } else if (event == "method_finished") {
    MethodResult r;
    r.method = text(j, "method");
    r.type = text(j, "type");
    r.status = text(j, "status");
    r.trainableParameters = integer(j, "trainable");
    r.steps = integer(j, "steps");
    r.seconds = number(j, "seconds");
    r.finalMetrics = metricsOf(j, "final_metrics");
    r.error = text(j, "error");
    observer.onMethodFinished(r);
  } else if (event == "run_folder") {
    observer.onRunFolder(text(j, "path"));
  } else if (event == "finished") {
    observer.onFinished(text(j, "path"), text(j, "status"));
  } else {
    return false;
  }
  return true;
}

}  // namespace fw::train
