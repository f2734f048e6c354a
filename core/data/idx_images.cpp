#include "data/idx_images.h"

#include "data/bad_rows.h"
#include "util/error.h"

#include <zlib.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

namespace fw::data {

namespace {

// Deflate expands at most ~1032:1; a header claiming more than that is corrupt or hostile.
constexpr int64_t kMaxDeflateRatio = 1032;
// No IDX data set comes near this; it keeps sizes far from overflow.
constexpr int64_t kMaxBytes = int64_t{1} << 36;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

class IdxFile {
public:
  explicit IdxFile(const std::string& path) : path_(path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
      throw Error(std::string("cannot open file: ") + std::strerror(errno)).file(path);
    fileSize_ = static_cast<int64_t>(st.st_size);
    file_.reset(gzopen(path.c_str(), "rb"));  // reads plain files as they are
    if (!file_) throw Error("cannot open file").file(path);
    gzbuffer(file_.get(), 1 << 16);
  }

  bool compressed() { return gzdirect(file_.get()) == 0; }
  int64_t fileSize() const { return fileSize_; }

  // Reads exactly n bytes; fewer means the file is truncated.
  void read(void* out, int64_t n, const char* what) {
    auto* p = static_cast<char*>(out);
    while (n > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<int64_t>(n, 1 << 30));
      const int got = gzread(file_.get(), p, chunk);
      if (got < 0) throw Error(std::string("cannot read ") + what + ": " + zlibError()).file(path_);
      if (got == 0) throw Error(std::string("file is truncated in the ") + what).file(path_);
      p += got;
      n -= got;
    }
  }

  bool atEnd() {
    char c;
    const int got = gzread(file_.get(), &c, 1);
    if (got < 0) throw Error("cannot read the end of the file: " + zlibError()).file(path_);
    return got == 0;
  }

private:
  std::string zlibError() {
    int code = 0;
    const char* message = gzerror(file_.get(), &code);
    return message ? message : "unknown zlib error";
  }

  std::string path_;
  int64_t fileSize_ = 0;
  std::unique_ptr<gzFile_s, GzCloser> file_;
};

uint32_t bigEndian(const unsigned char* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

}  // namespace

IdxArray readIdx(const std::string& path, int64_t expectedDims) {
  IdxFile file(path);
  unsigned char head[4];
  file.read(head, 4, "magic number");
  const uint32_t magic = bigEndian(head);
  const uint32_t want = 0x00000800u | static_cast<uint32_t>(expectedDims);
  if (magic != want)
    throw Error("not an IDX file of unsigned bytes with " + std::to_string(expectedDims) + " dimensions")
        .file(path).expected("magic " + hex(want)).got(hex(magic))
        .hint(magic == 0x00000801u || magic == 0x00000803u ? "images and labels swapped?" : "");

  IdxArray out;
  int64_t bytes = 1;
  for (int64_t d = 0; d < expectedDims; ++d) {
    unsigned char b[4];
    file.read(b, 4, "dimensions");
    const int64_t size = bigEndian(b);
    out.dims.push_back(size);
    // Saturate instead of overflowing: 2^32-1 in each of three dimensions would wrap.
    bytes = size > 0 && bytes > kMaxBytes / size ? kMaxBytes + 1 : bytes * size;
  }
  const int64_t header = 4 + 4 * expectedDims;
  if (bytes > kMaxBytes)
    throw Error("IDX dimensions are absurd").file(path).got(Error::shapeString(out.dims))
        .hint("at most " + std::to_string(kMaxBytes) + " bytes of data");
  if (!file.compressed() && header + bytes != file.fileSize())
    throw Error("IDX data does not match the file length").file(path)
        .expected(std::to_string(header + bytes) + " bytes for " + Error::shapeString(out.dims))
        .got(std::to_string(file.fileSize()) + " bytes");
  if (file.compressed() && header + bytes > kMaxDeflateRatio * file.fileSize() + 1024)
    throw Error("IDX dimensions exceed what the compressed file can hold").file(path)
        .got(Error::shapeString(out.dims) + " from " + std::to_string(file.fileSize()) + " compressed bytes");

  out.data.resize(static_cast<size_t>(bytes));
  file.read(out.data.data(), bytes, "data");
  if (!file.atEnd())
    throw Error("trailing bytes after the IDX data").file(path).expected(std::to_string(header + bytes) + " bytes");
  return out;
}

const std::vector<std::string>& fashionMnistLabelNames() {
  static const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  return names;
}

Dataset loadIdx(const std::string& imagesPath, const std::string& labelsPath, const IdxOptions& options) {
  if (!(options.std > 0) || !std::isfinite(options.mean))
    throw Error("image normalisation needs std > 0").field("std").got(std::to_string(options.std));
  const IdxArray labels = readIdx(labelsPath, 1);
  const IdxArray images = readIdx(imagesPath, 3);
  if (images.dims[0] != labels.dims[0])
    throw Error("images and labels differ in count").file(imagesPath)
        .expected(std::to_string(labels.dims[0]) + " images, as " + labelsPath + " has labels")
        .got(std::to_string(images.dims[0]));

  if (images.dims[1] == 0 || images.dims[2] == 0)
    throw Error("IDX images have no pixels").file(imagesPath).got(Error::shapeString(images.dims));

  Dataset ds;
  ds.name = options.name.empty() ? "idx" : options.name;
  ds.source = imagesPath;
  ds.kind = TaskKind::ImageClassification;
  ds.channels = 1;
  ds.height = images.dims[1];
  ds.width = images.dims[2];

  // The file's classes, then the kept ones.
  std::vector<std::string> fileNames = options.labelNames;
  if (fileNames.empty()) {
    const int64_t maxLabel = labels.data.empty() ? -1 : *std::max_element(labels.data.begin(), labels.data.end());
    for (int64_t i = 0; i <= maxLabel; ++i) fileNames.push_back(std::to_string(i));
  }
  std::vector<int64_t> relabel(256, -1);  // label byte -> class index, -1: dropped
  if (options.classes.empty()) {
    for (size_t i = 0; i < std::min<size_t>(fileNames.size(), 256); ++i) relabel[i] = static_cast<int64_t>(i);
    ds.labelNames = fileNames;
  } else {
    for (size_t k = 0; k < options.classes.size(); ++k) {
      const int64_t c = options.classes[k];
      if (c < 0 || c >= static_cast<int64_t>(fileNames.size()) || c > 255)
        throw Error("class filter names a class the file does not have").file(labelsPath).field("classes")
            .expected("0 to " + std::to_string(static_cast<int64_t>(fileNames.size()) - 1)).got(std::to_string(c));
      if (relabel[static_cast<size_t>(c)] >= 0)
        throw Error("class filter names a class twice").field("classes").got(std::to_string(c));
      relabel[static_cast<size_t>(c)] = static_cast<int64_t>(k);
      ds.labelNames.push_back(fileNames[static_cast<size_t>(c)]);
    }
  }
  ds.numLabels = static_cast<int64_t>(ds.labelNames.size());

  const size_t pixels = static_cast<size_t>(ds.height * ds.width);
  // One table for all 256 byte values instead of a division per pixel.
  float lut[256];
  for (int v = 0; v < 256; ++v)
    lut[v] = static_cast<float>((static_cast<double>(v) / 255.0 - options.mean) / options.std);
  for (size_t i = 0; i < labels.data.size(); ++i) {
    if (options.limit > 0 && static_cast<int64_t>(ds.examples.size()) >= options.limit) break;
    const uint8_t byte = labels.data[i];
    if (byte >= fileNames.size()) {
      rejectRow(ds, options.badRows, Error("record " + std::to_string(i) + ": label outside the label set")
                                         .file(labelsPath).field("label")
                                         .expected("0 to " + std::to_string(static_cast<int64_t>(fileNames.size()) - 1))
                                         .got(std::to_string(byte)));
      continue;
    }
    if (relabel[byte] < 0) continue;  // filtered out
    Example ex;
    ex.label = relabel[byte];
    ex.pixels.resize(pixels);
    const uint8_t* src = images.data.data() + i * pixels;
    for (size_t p = 0; p < pixels; ++p) ex.pixels[p] = lut[src[p]];
    ds.examples.push_back(std::move(ex));
  }
  return ds;
}

}  // namespace fw::data
