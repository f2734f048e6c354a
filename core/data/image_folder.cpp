#include "data/image_folder.h"

#include "data/bad_rows.h"
#include "data/image_decode.h"
#include "data/text_fields.h"
#include "util/error.h"
#include "util/files.h"

#include <stb/stb_image_resize.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

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
      DecodedImage image;
      try {
        image = decodeImage(bytes, channels);
      } catch (Error& e) {
        rejectRow(ds, options.badRows, e.file(path));
        continue;
      }
      const int w = image.width, h = image.height;
      const unsigned char* src = image.pixels.data();
      if (w != size || h != size) {
        if (!stbir_resize_uint8(image.pixels.data(), w, h, 0, resized.data(), size, size, 0, channels)) {
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
