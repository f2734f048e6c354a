// An image folder (one sub-folder per class) through fw::data::loadImageFolder, as a dataset
// "images:<dir>" is loaded: data/image_decode picks the decoder by content, whatever the extension
// (libpng, libjpeg-turbo, stb_image for BMP and PNM; everything else refused), stb_image_resize
// scales to size x size, then the bytes are normalised. Input: one option byte, then up to two
// image files, each preceded by its 4-byte length (splitSized; fewer than 4 bytes: the rest is one
// file). The first goes to class a/, the second to class b/. Option bits: 0-1 channels - 1;
// 2-3 the size (1, 3, 8, 28); 4 skip bad images instead of failing; 5-7 the first file's
// extension (.png .jpg .bmp .gif .tga .pnm .psd .hdr; the second gets the next one).
// Inputs whose header claims more than 2^20 pixels but no more than the reader's limit (2^26) are
// not run: the reader decodes and resizes them, which takes from 10 s to minutes under the
// sanitizers (a timeout, not a finding); above the limit they are run and must be refused.
#include "data/image_decode.h"
#include "data/image_folder.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  auto files = fw::fuzz::splitSized(rest, 2);
  if (files.empty()) files.push_back(rest);
  for (std::string_view f : files) {
    const auto [w, h] = fw::data::imageSizeOf(std::string(f));  // each side up to 2^32
    const double pixels = static_cast<double>(w) * static_cast<double>(h);
    if (pixels > double(1 << 20) && pixels <= double(1 << 26)) return 0;
  }
  static const char* const extensions[] = {".png", ".jpg", ".bmp", ".gif", ".tga", ".pnm", ".psd", ".hdr"};
  static const int64_t sizes[] = {1, 3, 8, 28};
  const std::string dir = fw::fuzz::freshDir("images");
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string cls = dir + "/" + (i == 0 ? "a" : "b");
    std::filesystem::create_directories(cls);
    fw::fuzz::writeFile(cls + "/img" + extensions[((flags >> 5) + i) & 7], files[i]);
  }
  fw::data::ImageFolderOptions opt;
  opt.channels = (flags & 3) + 1;
  opt.size = sizes[(flags >> 2) & 3];
  opt.mean = {0.5};
  opt.std = {0.25};
  opt.badRows = (flags & 16) ? fw::data::BadRows::Skip : fw::data::BadRows::Fail;
  try {
    fw::data::Dataset ds = fw::data::loadImageFolder(dir, opt);
    if (ds.numLabels != static_cast<int64_t>(files.size())) std::abort();
    if (ds.examples.size() + static_cast<size_t>(ds.skippedRows) != files.size()) std::abort();
    const size_t n = static_cast<size_t>(opt.channels * opt.size * opt.size);
    for (const auto& ex : ds.examples) {
      if (ex.label < 0 || ex.label >= ds.numLabels || ex.pixels.size() != n) std::abort();
      for (float v : ex.pixels)
        if (!(v >= -2.0f && v <= 2.0f)) std::abort();  // (byte / 255 - 0.5) / 0.25
    }
  } catch (const fw::Error& e) {
    fw::fuzz::note(e);
  }
  return 0;
}
