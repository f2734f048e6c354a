// IDX images and labels (plain or gzip) through fw::data::readIdx and fw::data::loadIdx.
// Input: one flag byte, then
//   modes 0, 1: one IDX file, read with readIdx(path, 3) or readIdx(path, 1);
//   modes 2, 3: a length byte L, L bytes of labels file, then the images file, into loadIdx.
// Flag bits: 0-1 mode; 2 gzip the images (or only) file here, 3 gzip the labels file here (so
// the IDX structure is fuzzed behind gzip too; unflagged input may itself be gzip, which the
// reader detects); 4 a class filter {1, 0}; 5 limit 2; 6 Fashion-MNIST's label names;
// 7 skip bad rows.
#include "data/idx_images.h"
#include "fuzz_common.h"

#include <zlib.h>

namespace {

std::string gzip(std::string_view in) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const int mode = flags & 3;
  const std::string images = fw::fuzz::scratchDir() + "/images-idx3-ubyte",
                    labels = fw::fuzz::scratchDir() + "/labels-idx1-ubyte";
  try {
    if (mode < 2) {
      fw::fuzz::writeFile(images, (flags & 4) ? gzip(rest) : std::string(rest));
      fw::data::IdxArray a = fw::data::readIdx(images, mode == 0 ? 3 : 1);
      size_t n = 1;
      for (int64_t d : a.dims) n *= static_cast<size_t>(d);
      if (n != a.data.size()) std::abort();
    } else {
      if (rest.empty()) return 0;
      const size_t len = std::min<size_t>(static_cast<uint8_t>(rest[0]), rest.size() - 1);
      const std::string_view labelBytes = rest.substr(1, len), imageBytes = rest.substr(1 + len);
      fw::fuzz::writeFile(labels, (flags & 8) ? gzip(labelBytes) : std::string(labelBytes));
      fw::fuzz::writeFile(images, (flags & 4) ? gzip(imageBytes) : std::string(imageBytes));
      fw::data::IdxOptions opt;
      if (flags & 16) opt.classes = {1, 0};
      if (flags & 32) opt.limit = 2;
      if (flags & 64) opt.labelNames = fw::data::fashionMnistLabelNames();
      if (flags & 128) opt.badRows = fw::data::BadRows::Skip;
      opt.mean = 0.5;
      opt.std = 0.25;
      fw::data::Dataset ds = fw::data::loadIdx(images, labels, opt);
      for (const auto& ex : ds.examples) {
        if (ex.label < 0 || ex.label >= ds.numLabels) std::abort();
        if (static_cast<int64_t>(ex.pixels.size()) != ds.height * ds.width) std::abort();
      }
    }
  } catch (const fw::Error& e) {
    fw::fuzz::note(e);
  }
  return 0;
}
