#pragma once
// An image classification set laid out as one sub-folder per class (torchvision's ImageFolder):
//   root/cat/001.png, root/dog/xyz.jpg ...
// Classes are the sub-folder names in sorted (byte) order; files are read in sorted order.
// Images (PNG, JPEG, BMP, PGM/PPM/PNM by extension; other files are ignored) are decoded by
// content (data/image_decode.h: libpng, libjpeg-turbo, stb_image for BMP and 8-bit PNM),
// converted to the requested channel count, resized to size x size with stb_image_resize (aspect
// ratio not kept, as torchvision's Resize((s, s))) and normalised per channel:
// (byte / 255 - mean) / std. An unreadable image is a bad row naming its path and what is wrong;
// so are files named .gif, .tga, .psd or .hdr (not decoded: convert them to PNG) and images of
// more than 2^26 pixels (docs/reliability.md, findings 13 to 16).
#include "data/example.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fw::data {

struct ImageFolderOptions {
  int64_t size = 224;       // output height and width
  int64_t channels = 3;     // 1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA)
  // One value for every channel, or one per channel.
  std::vector<double> mean{0.0}, std{1.0};
  BadRows badRows = BadRows::Fail;
  std::string name;         // default: the folder name
};

// Throws fw::Error naming the folder when it cannot be listed or holds no class sub-folders.
Dataset loadImageFolder(const std::string& dir, const ImageFolderOptions& options = {});

}  // namespace fw::data
