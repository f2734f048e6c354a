#pragma once
// The wrong kind of path for an argument, told before a reader sees it: a file where a folder
// belongs (tokenizer.json for its folder said "folder not found"), a folder where a file belongs
// (a folder given as the experiment read as empty, "invalid JSON"). A missing path is left to
// the reader, which names it.
#include <string>

namespace fw {

// Throws fw::Error when `path` is a file: "<path>: field '<option>': a file, not a folder:
// expected <what> (give the folder that holds it: <parent>)".
void checkNotAFile(const std::string& path, const std::string& option, const std::string& what);
// Throws fw::Error when `path` is a folder.
void checkNotAFolder(const std::string& path, const std::string& option, const std::string& what,
                     const std::string& hint);

}  // namespace fw
