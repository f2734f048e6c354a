#include "tokenizers/file_io.h"

#include "util/error.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace fw::tokenizers {

bool fileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string readTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(std::string("cannot open file: ") + std::strerror(errno)).file(path);
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw Error("cannot read file").file(path);
  return s.str();
}

nlohmann::json readJsonFile(const std::string& path) {
  const std::string text = readTextFile(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann reports a byte offset; a line number is what an editor can jump to.
    const size_t at = std::min<size_t>(e.byte, text.size());
    const int64_t line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(at), '\n');
    std::string what = e.what();
    const auto colon = what.find("]: ");  // drop nlohmann's "[json.exception.parse_error.101] " prefix
    if (what.rfind("[json.exception", 0) == 0 && colon != std::string::npos) what = what.substr(colon + 3);
    throw Error("invalid JSON: " + what).file(path).line(line);
  }
}

nlohmann::json readOptionalJsonFile(const std::string& path) {
  if (!fileExists(path)) return nlohmann::json::object();
  return readJsonFile(path);
}

}  // namespace fw::tokenizers
