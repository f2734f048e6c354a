#pragma once
// Each verb of `fourierft` registers itself on the app; main() wires them and handles errors.
#include <CLI/CLI.hpp>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace fw::runs { class RunFolder; }

namespace fw::cli {

// The most --threads a command takes: more only makes LibTorch's pool start threads without end
// (--threads 99999 hung at start-up, past SIGTERM).
inline constexpr int kMaxThreads = 1024;

// An integer option of at least `min` ("--batch: must be an integer of at least 1: got -5");
// CLI11's PositiveNumber names DBL_MAX in its message.
inline CLI::Validator atLeast(long long min) {
  return CLI::Validator(
      [min](std::string& text) -> std::string {
        try {
          size_t used = 0;
          if (std::stoll(text, &used) >= min && used == text.size()) return {};
        } catch (const std::exception&) {
        }
        return "must be an integer of at least " + std::to_string(min) + ": got " + text;
      },
      "INT>=" + std::to_string(min));
}

void addAdapterCommands(CLI::App& app);
void addBenchLayerCommand(CLI::App& app);
void addSelftestCommand(CLI::App& app);
void addForwardCommand(CLI::App& app);
void addTokenizeCommand(CLI::App& app);
void addTrainCommands(CLI::App& app);
void addRunToolCommands(CLI::App& app);
void addAnalyzeCommand(CLI::App& app);
void addBenchModelCommand(CLI::App& app);

// fp16 on the CPU is refused before a model is loaded: LibTorch 1.13 has no CPU kernels for it
// (LayerNorm and matmul failed half-way with "not implemented for 'Half'").
void checkDtypeOnDevice(c10::ScalarType dtype, const c10::Device& device, const std::string& field);

// The methods of a run with their trainable parameters, steps, time and final metrics.
std::string runSummaryTable(const runs::RunFolder& run);

}  // namespace fw::cli
