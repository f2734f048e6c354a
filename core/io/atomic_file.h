#pragma once
// A file written under a temporary name in its target folder, flushed, fsynced and renamed on
// commit(): readers see either the old file or the whole new one, never a part. A write that
// fails (disk full, file size limit) throws fw::Error naming the file and leaves the old file.
#include <cstddef>
#include <string>

namespace fw::io {

class AtomicFile {
public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // removes the temporary file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  void write(const std::string& text) { write(text.data(), text.size()); }
  void commit();

private:
  [[noreturn]] void fail(const std::string& what, int err);

  std::string path_, tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

// Writes a whole text file atomically.
void writeFileAtomic(const std::string& path, const std::string& contents);

}  // namespace fw::io
