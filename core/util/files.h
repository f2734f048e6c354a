#pragma once
// Reading whole files and JSON, with errors that name the file (and the line for JSON).
#include <nlohmann/json.hpp>

#include <string>

namespace fw {

bool fileExists(const std::string& path);
// The whole file; throws fw::Error naming the file when it cannot be read.
std::string readTextFile(const std::string& path);
// Parsed JSON; a syntax error names the file and the line.
nlohmann::json readJsonFile(const std::string& path);
// The JSON file if it exists, else an empty object (for optional config files).
nlohmann::json readOptionalJsonFile(const std::string& path);

}  // namespace fw
