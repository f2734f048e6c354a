#include "util/files.h"

#include "util/error.h"
#include "util/json_depth.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace fw {

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
    nlohmann::json value = nlohmann::json::parse(text);
    if (jsonDeeperThan(value))
      throw Error(jsonTooDeepReason()).file(path).hint("the file is damaged or not the JSON file expected here");
    return value;
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann reports a byte offset; a line number is what an editor can jump to.
    const size_t at = std::min<size_t>(e.byte, text.size());
    const int64_t line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(at), '\n');
    // nlohmann says "[json.exception.parse_error.101] parse error at line 3, column 12: syntax
    // error ..."; the line is in our location already, so keep the column and the reason.
    std::string what = e.what();
    if (what.rfind("[json.exception", 0) == 0 && what.find("] ") != std::string::npos)
      what = what.substr(what.find("] ") + 2);
    std::string column;
    if (what.rfind("parse error at line ", 0) == 0) {
      const auto col = what.find(", column "), colon = what.find(": ");
      if (col != std::string::npos && colon != std::string::npos && col < colon)
        column = " (column " + what.substr(col + 9, colon - col - 9) + ")";
      if (colon != std::string::npos) what = what.substr(colon + 2);
    } else if (what.rfind("parse error: ", 0) == 0) {
      what = what.substr(13);
    }
    throw Error("invalid JSON" + column + ": " + what).file(path).line(line);
  } catch (const nlohmann::json::exception& e) {
    // A number too large for a double ("1e400") is out_of_range 406, not a parse_error, and
    // carries no position: find the number it quotes to name the line (found by fuzzing).
    std::string what = e.what();
    if (what.rfind("[json.exception", 0) == 0 && what.find("] ") != std::string::npos)
      what = what.substr(what.find("] ") + 2);
    Error error("invalid JSON: " + what);
    error.file(path);
    const size_t open = what.find('\''), close = what.rfind('\'');
    if (open != std::string::npos && close > open + 1) {
      const size_t at = text.find(what.substr(open + 1, close - open - 1));
      if (at != std::string::npos)
        error.line(1 + std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
    }
    throw error;
  }
}

nlohmann::json readOptionalJsonFile(const std::string& path) {
  if (!fileExists(path)) return nlohmann::json::object();
  return readJsonFile(path);
}

namespace {

int removeEntry(const char* path, const struct stat*, int type, struct FTW*) {
  const int rc = type == FTW_DP ? ::rmdir(path) : ::unlink(path);
  return rc == 0 || errno == ENOENT ? 0 : errno;
}

}  // namespace

void removeTree(const std::string& path, std::error_code& ec) {
  ec.clear();
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) ec = std::error_code(errno, std::generic_category());
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) ec = std::error_code(errno, std::generic_category());
    return;
  }
  // Children before their folder (FTW_DEPTH), links removed rather than followed (FTW_PHYS).
  const int rc = ::nftw(path.c_str(), removeEntry, 16, FTW_DEPTH | FTW_PHYS);
  if (rc > 0) ec = std::error_code(rc, std::generic_category());
  else if (rc < 0 && errno != ENOENT) ec = std::error_code(errno, std::generic_category());
}

}  // namespace fw
