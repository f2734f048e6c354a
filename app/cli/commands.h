#pragma once
// Each verb of `fourierft` registers itself on the app; main() wires them and handles errors.
#include <CLI/CLI.hpp>

namespace fw::cli {

void addAdapterCommands(CLI::App& app);
void addBenchLayerCommand(CLI::App& app);
void addSelftestCommand(CLI::App& app);
void addForwardCommand(CLI::App& app);
void addTokenizeCommand(CLI::App& app);
void addTrainCommands(CLI::App& app);
void addRunToolCommands(CLI::App& app);

}  // namespace fw::cli
