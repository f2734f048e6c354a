#include "progress_printer.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace fw::cli {

std::string formatDuration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

ProgressPrinter::ProgressPrinter() : tty_(isatty(STDERR_FILENO) != 0) {}

void ProgressPrinter::endLine() {
  if (open_) std::cerr << "\n";
  open_ = false;
}

void ProgressPrinter::onLog(const std::string& line) {
  endLine();
  std::cerr << line << "\n";
}

void ProgressPrinter::onMethodStart(const std::string& method, int64_t totalSteps, int64_t trainable) {
  endLine();
  std::cerr << "== " << method << ": " << totalSteps << " steps, " << trainable << " trainable parameters\n";
}

void ProgressPrinter::onStep(const train::StepEvent& e) {
  const auto now = std::chrono::steady_clock::now();
  const bool last = e.step == e.totalSteps;
  // On a terminal: at most 10 redraws a second. In a log: a line every 5 seconds.
  const auto gap = tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(5000);
  if (!last && now - lastPrint_ < gap) return;
  lastPrint_ = now;
  std::ostringstream line;
  const double pct = e.totalSteps ? 100.0 * double(e.step) / double(e.totalSteps) : 0;
  line << "[" << e.method << "] step " << e.step << "/" << e.totalSteps << " (" << std::fixed;
  line.precision(0);
  line << pct << "%)  loss ";
  line.precision(4);
  line << e.loss << "  lr ";
  line << std::scientific;
  line.precision(2);
  line << e.lr << std::fixed;
  line.precision(1);
  line << "  " << e.samplesPerSecond << " samples/s";
  if (e.tokensPerSecond > 0) line << "  " << e.tokensPerSecond << " tok/s";
  line.precision(0);
  line << "  " << e.memoryMiB << " MiB  elapsed " << formatDuration(e.elapsedSeconds) << "  ETA " << formatDuration(e.etaSeconds);
  if (tty_) {
    std::cerr << "\r\033[K" << line.str() << std::flush;
    open_ = true;
  } else {
    std::cerr << line.str() << "\n";
  }
}

void ProgressPrinter::onEval(const train::EvalEvent& e) {
  endLine();
  std::ostringstream line;
  line.precision(4);
  line << std::fixed << "[" << e.method << "] eval at step " << e.step << ": loss " << e.loss;
  for (const auto& [k, v] : e.metrics) line << "  " << k << " " << v;
  std::cerr << line.str() << "\n";
}

void ProgressPrinter::onMethodFinished(const train::MethodResult& r) {
  endLine();
  std::ostringstream line;
  line.precision(4);
  line << std::fixed << "== " << r.method << " " << r.status << " after " << r.steps << " steps in " << formatDuration(r.seconds);
  for (const auto& [k, v] : r.finalMetrics) line << "  " << k << " " << v;
  std::cerr << line.str() << "\n";
}

void ProgressPrinter::onFinished(const std::string& runFolder, const std::string& status) {
  endLine();
  std::cerr << "run " << status << ": " << runFolder << "\n";
}

}  // namespace fw::cli
