#pragma once
// Reading whole files and JSON, with errors that name the file (and the line for JSON), and
// removing a folder tree.
#include <nlohmann/json.hpp>

#include <string>
#include <system_error>

namespace fw {

bool fileExists(const std::string& path);
// The whole file; throws fw::Error naming the file when it cannot be read.
std::string readTextFile(const std::string& path);
// Parsed JSON; a syntax error names the file and the line.
nlohmann::json readJsonFile(const std::string& path);
// The JSON file if it exists, else an empty object (for optional config files).
nlohmann::json readOptionalJsonFile(const std::string& path);

// Removes `path` and everything under it without following links, as std::filesystem::remove_all
// does (a missing path is no error), through POSIX nftw(3). Not remove_all itself: PyTorch's
// wheels export the libstdc++ they link statically (pytorch/pytorch#133437), a program built
// against them binds std::filesystem to that copy, and its remove_all calls a null function
// pointer (torch 2.11: a crash in selftest, and in any checkpoint rotation).
void removeTree(const std::string& path, std::error_code& ec);

}  // namespace fw
