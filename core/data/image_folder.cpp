#include "data/image_folder.h"

#include "data/bad_rows.h"
#include "data/text_fields.h"
#include "util/error.h"
#include "util/files.h"

#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>

namespace fw::data {

namespace fs = std::filesystem;

namespace {

bool isImageFile(const fs::path& path) {
  static const std::vector<std::string> extensions{".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga",
                                                   ".pgm", ".ppm", ".pnm", ".psd", ".hdr"};
  const std::string ext = toLower(path.extension().string());
  return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
}

std::vector<fs::path> sortedEntries(const fs::path& dir, bool wantDirectories) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;  // hidden files and folders
    std::error_code typeError;
    const bool isDir = it->is_directory(typeError);
    if (wantDirectories ? isDir : (!isDir && isImageFile(it->path()))) out.push_back(it->path());
  }
  if (ec) throw Error("cannot list folder: " + ec.message()).file(dir.string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<float> perChannel(const std::vector<double>& values, int64_t channels, const char* name) {
  if (values.size() != 1 && static_cast<int64_t>(values.size()) != channels)
    throw Error("image normalisation needs one value or one per channel").field(name)
        .expected("1 or " + std::to_string(channels) + " values").got(std::to_string(values.size()));
  std::vector<float> out(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    out[static_cast<size_t>(c)] = static_cast<float>(values[values.size() == 1 ? 0 : static_cast<size_t>(c)]);
    if (!std::isfinite(out[static_cast<size_t>(c)]))
      throw Error("image normalisation values must be finite").field(name);
  }
  return out;
}

// Debian's libstb (stb_image 2.27) builds a JPEG Huffman table from its 16 code counts without
// checking that they add up to at most 256 symbols, and then writes that many entries into
// 257-entry arrays (found by fuzzing; stb_image 2.28 checks it). The tables are checked here,
// walking the markers as stb does, before stb sees the file. Returns what is wrong, or nothing.
std::string badJpegTables(const std::string& b) {
  const auto at = [&](size_t i) -> unsigned { return i < b.size() ? static_cast<unsigned char>(b[i]) : 0u; };
  if (at(0) != 0xFF || at(1) != 0xD8) return {};
  size_t i = 2;
  while (i + 1 < b.size()) {
    if (at(i) != 0xFF) {  // stb skips padding between header segments to the next 0xFF
      ++i;
      continue;
    }
    const unsigned m = at(i + 1);
    if (m == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (m == 0xD9) return {};  // end of image
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {  // markers without a length
      i += 2;
      continue;
    }
    const size_t length = at(i + 2) << 8 | at(i + 3);
    if (m == 0xC4) {  // DHT: tables until the length is used up, as stb reads them
      size_t p = i + 4;
      int64_t left = static_cast<int64_t>(length) - 2;
      while (left > 0 && p < b.size()) {
        size_t n = 0;
        for (size_t k = 0; k < 16; ++k) n += at(p + 1 + k);
        if (n > 256)
          return "JPEG Huffman table with " + std::to_string(n) + " codes (at most 256)";
        p += 17 + n;
        left -= static_cast<int64_t>(17 + n);
      }
      i = p;
      continue;
    }
    i += 2 + length;
    if (m == 0xDA) {  // a scan: entropy-coded bytes until the next marker
      while (i + 1 < b.size() && !(at(i) == 0xFF && at(i + 1) != 0x00 && at(i + 1) != 0xFF &&
                                   !(at(i + 1) >= 0xD0 && at(i + 1) <= 0xD7)))
        ++i;
    }
  }
  return {};
}

// A decoded image holds at most this many pixels (8192 x 8192): stb allocates what the header
// says and then fills it even where the file has no data, so a PSD of 2 KB claiming
// 28 x 16777216 pixels took 1.9 GB and 87 s (found by fuzzing).
constexpr int64_t kMaxImagePixels = int64_t(1) << 26;

// What stb 2.27 cannot be trusted with, from the header alone: sizes (above), JPEG Huffman
// tables (badJpegTables), and 16-bit PNM, whose conversion to another channel count reads past
// its buffer (stbi__pnm_load converts 16-bit samples as 8-bit ones; fixed in stb_image 2.28).
std::string badImageHeader(const std::string& bytes) {
  // First: stbi_info reads the JPEG tables too.
  if (std::string bad = badJpegTables(bytes); !bad.empty()) return bad;
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const int length = static_cast<int>(bytes.size());
  int w = 0, h = 0, n = 0;
  if (stbi_info_from_memory(data, length, &w, &h, &n)) {
    if (static_cast<int64_t>(w) * h > kMaxImagePixels)
      return "image too large: " + std::to_string(w) + "x" + std::to_string(h) + " pixels (at most " +
             std::to_string(kMaxImagePixels) + ")";
    if (bytes.size() >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '6') &&
        stbi_is_16_bit_from_memory(data, length))
      return "16-bit PNM (maximum value over 255) is not supported";
  }
  return {};
}

struct StbFree {
  void operator()(unsigned char* p) const { stbi_image_free(p); }
};

}  // namespace

Dataset loadImageFolder(const std::string& dir, const ImageFolderOptions& options) {
  if (options.channels < 1 || options.channels > 4)
    throw Error("images have 1 to 4 channels").field("channels").got(std::to_string(options.channels));
  // 16384² is far beyond any model input and keeps size² · channels well inside int.
  if (options.size < 1 || options.size > 16384)
    throw Error("image size out of range").field("size").expected("1 to 16384").got(std::to_string(options.size));
  const std::vector<float> mean = perChannel(options.mean, options.channels, "mean");
  const std::vector<float> stdev = perChannel(options.std, options.channels, "std");
  for (float s : stdev)
    if (!(s > 0)) throw Error("image normalisation needs std > 0").field("std").got(std::to_string(s));

  const fs::path root(dir);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw Error("not a folder").file(dir);
  const std::vector<fs::path> classes = sortedEntries(root, true);
  if (classes.empty())
    throw Error("image folder has no class sub-folders").file(dir).hint("expected one sub-folder per class");

  Dataset ds;
  ds.name = options.name.empty() ? root.filename().string() : options.name;
  if (ds.name.empty()) ds.name = root.parent_path().filename().string();  // "dir/" has an empty filename
  ds.source = dir;
  ds.kind = TaskKind::ImageClassification;
  ds.channels = options.channels;
  ds.height = ds.width = options.size;
  for (const fs::path& c : classes) ds.labelNames.push_back(c.filename().string());
  ds.numLabels = static_cast<int64_t>(classes.size());

  const int size = static_cast<int>(options.size), channels = static_cast<int>(options.channels);
  const size_t plane = static_cast<size_t>(size) * static_cast<size_t>(size);
  std::vector<unsigned char> resized(plane * static_cast<size_t>(channels));
  for (size_t label = 0; label < classes.size(); ++label) {
    for (const fs::path& file : sortedEntries(classes[label], false)) {
      const std::string path = file.string();
      std::string bytes;
      try {
        bytes = readTextFile(path);
      } catch (const Error& e) {
        rejectRow(ds, options.badRows, e);
        continue;
      }
      int w = 0, h = 0, fileChannels = 0;
      // stb takes the length as an int.
      const bool tooLarge = bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max());
      if (const std::string bad = tooLarge ? std::string() : badImageHeader(bytes); !bad.empty()) {
        rejectRow(ds, options.badRows, Error("unreadable image: " + bad).file(path));
        continue;
      }
      std::unique_ptr<unsigned char, StbFree> pixels(
          tooLarge ? nullptr
                   : stbi_load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()),
                                           static_cast<int>(bytes.size()), &w, &h, &fileChannels, channels));
      if (!pixels) {
        const char* reason = tooLarge ? "file too large" : stbi_failure_reason();
        rejectRow(ds, options.badRows, Error(std::string("unreadable image: ") + (reason ? reason : "unknown format")).file(path));
        continue;
      }
      if (w < 1 || h < 1) {  // stb 2.27 returns a Radiance (HDR) image of width 0 for "+X junk"
        rejectRow(ds, options.badRows, Error("unreadable image: no pixels").file(path)
                                           .got(std::to_string(w) + "x" + std::to_string(h)));
        continue;
      }
      const unsigned char* src = pixels.get();
      if (w != size || h != size) {
        if (!stbir_resize_uint8(pixels.get(), w, h, 0, resized.data(), size, size, 0, channels)) {
          rejectRow(ds, options.badRows, Error("cannot resize image").file(path)
                                             .got(std::to_string(w) + "x" + std::to_string(h)));
          continue;
        }
        src = resized.data();
      }
      Example ex;
      ex.label = static_cast<int64_t>(label);
      ex.pixels.resize(plane * static_cast<size_t>(channels));
      // Interleaved HWC bytes to planar CHW floats.
      for (int c = 0; c < channels; ++c) {
        float* dst = ex.pixels.data() + static_cast<size_t>(c) * plane;
        for (size_t p = 0; p < plane; ++p)
          dst[p] = (static_cast<float>(src[p * static_cast<size_t>(channels) + static_cast<size_t>(c)]) / 255.0f - mean[static_cast<size_t>(c)]) /
                   stdev[static_cast<size_t>(c)];
      }
      ds.examples.push_back(std::move(ex));
    }
  }
  return ds;
}

}  // namespace fw::data
