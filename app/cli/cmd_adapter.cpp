// fourierft adapter info DIR: what a PEFT or native adapter folder holds.
#include "adapters/adapter_folder.h"
#include "commands.h"
#include "util/path_checks.h"

#include <iostream>

namespace fw::cli {

void addAdapterCommands(CLI::App& app) {
  auto* adapter = app.add_subcommand("adapter", "Inspect adapter folders (PEFT or native)");
  adapter->require_subcommand(1);
  auto* info = adapter->add_subcommand("info", "Print the method, layers, trainable parameters and settings");
  auto dir = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  info->add_option("DIR", *dir, "Adapter folder (adapter_config.json + adapter_model.safetensors)")->required();
  info->add_flag("--json", *json, "Print the config and per-layer parameter counts as JSON");
  info->callback([dir, json] {
    checkNotAFile(*dir, "DIR", "the adapter folder");
    auto folder = adapters::readAdapterFolder(*dir);
    if (!*json) {
      std::cout << adapters::describeAdapterFolder(folder);
      return;
    }
    nlohmann::json out = {{"path", folder.path}, {"native", folder.native},
                          {"method", folder.config.peft_type == adapters::PeftType::FourierFT ? "fourierft" : "lora"},
                          {"config", folder.config.toJson()}, {"trainable", folder.trainableParameters()}};
    out["layers"] = nlohmann::json::array();
    for (const auto& l : folder.layers) {
      nlohmann::json row = {{"module", l.module}, {"trainable", l.trainable()}};
      if (l.shape.size() == 2) row["shape"] = l.shape;
      out["layers"].push_back(row);
    }
    std::cout << out.dump(2) << "\n";
  });
}

}  // namespace fw::cli
