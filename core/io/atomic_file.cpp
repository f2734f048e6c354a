#include "io/atomic_file.h"

#include "util/error.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fw::io {

namespace {
std::string folderOf(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}
}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  // A write past RLIMIT_FSIZE raises SIGXFSZ, which would kill the process: turn it into EFBIG.
  signal(SIGXFSZ, SIG_IGN);
  tmp_ = path_ + ".tmp." + std::to_string(getpid());
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot create file", errno);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_.c_str());
}

void AtomicFile::fail(const std::string& what, int err) {
  std::string hint = err == ENOSPC || err == EFBIG || err == EDQUOT
                         ? "free disk space or raise the file size limit; the previous file is kept"
                         : "check that the folder exists and is writable";
  throw Error(what + ": " + std::strerror(err)).file(path_).hint(hint);
}

void AtomicFile::write(const void* data, size_t size) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write file", errno);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) fail("cannot flush file", errno);
  if (::close(fd_) != 0) { fd_ = -1; fail("cannot close file", errno); }
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) fail("cannot rename temporary file into place", errno);
  committed_ = true;
  int dir = ::open(folderOf(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) { ::fsync(dir); ::close(dir); }
}

void writeFileAtomic(const std::string& path, const std::string& contents) {
  AtomicFile f(path);
  f.write(contents);
  f.commit();
}


}  // namespace fw::io
