#include "train/export_folder.h"

#include "util/error.h"

#include <filesystem>
#include <regex>
#include <vector>

namespace fw::train {

namespace fs = std::filesystem;

bool writtenByExport(const std::string& file, bool merged) {
  if (!merged)
    return file == "adapter_config.json" || file == "adapter_model.safetensors" || file == "workbench.json" ||
           file == "workbench_positions.safetensors";
  static const std::regex shard(R"(model-[0-9]+-of-[0-9]+\.safetensors)");
  return file == "config.json" || file == "model.safetensors" || file == "model.safetensors.index.json" ||
         std::regex_match(file, shard);
}

namespace {

// The entries of an existing folder, after the checks; empty when `dir` does not exist.
std::vector<fs::path> checkedEntries(const std::string& dir, const std::string& field, bool force) {
  std::error_code ec;
  const auto st = fs::status(dir, ec);
  if (!fs::exists(st)) return {};
  if (!fs::is_directory(st))
    throw Error("the export target is not a folder").file(dir).field(field).hint("give a new folder");
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(it->path());
  if (ec) throw Error("cannot read the export folder: " + ec.message()).file(dir).field(field);
  if (!entries.empty() && !force)
    throw Error("the export folder exists and is not empty (" + std::to_string(entries.size()) + " entr" +
                (entries.size() == 1 ? "y" : "ies") + ")")
        .file(dir)
        .field(field)
        .hint("give a new or empty folder, or replace the files an export writes there (fourierft export --force)");
  return entries;
}

}  // namespace

void checkExportFolder(const std::string& dir, const std::string& field, bool force) {
  checkedEntries(dir, field, force);
}

void clearExportFolder(const std::string& dir, const std::string& field, bool merged, bool force) {
  for (const auto& e : checkedEntries(dir, field, force)) {
    if (!writtenByExport(e.filename().string(), merged)) continue;
    std::error_code ec;
    fs::remove(e, ec);
    if (ec) throw Error("cannot remove the earlier export's file: " + ec.message()).file(e.string()).field(field);
  }
}

}  // namespace fw::train
