#pragma once
// Each verb of `fourierft` registers itself on the app; main() wires them and handles errors.
#include <CLI/CLI.hpp>

#include <string>

namespace fw::runs { class RunFolder; }

namespace fw::cli {

void addAdapterCommands(CLI::App& app);
void addBenchLayerCommand(CLI::App& app);
void addSelftestCommand(CLI::App& app);
void addForwardCommand(CLI::App& app);
void addTokenizeCommand(CLI::App& app);
void addTrainCommands(CLI::App& app);
void addRunToolCommands(CLI::App& app);
void addAnalyzeCommand(CLI::App& app);
void addBenchModelCommand(CLI::App& app);

// The methods of a run with their trainable parameters, steps, time and final metrics.
std::string runSummaryTable(const runs::RunFolder& run);

}  // namespace fw::cli
