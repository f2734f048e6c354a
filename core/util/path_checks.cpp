#include "util/path_checks.h"

#include "util/error.h"

#include <filesystem>

namespace fw {

namespace fs = std::filesystem;

void checkNotAFile(const std::string& path, const std::string& option, const std::string& what) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return;
  const std::string parent = fs::absolute(path, ec).parent_path().string();
  throw Error("a file, not a folder").file(path).field(option).expected(what).hint("give the folder that holds it: " + parent);
}

void checkNotAFolder(const std::string& path, const std::string& option, const std::string& what,
                     const std::string& hint) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return;
  throw Error("a folder, not a file").file(path).field(option).expected(what).hint(hint);
}

}  // namespace fw
