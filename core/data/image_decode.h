#pragma once
// One image file's bytes to 8-bit pixels, chosen by content, not by extension:
//   PNG  with libpng, JPEG with libjpeg-turbo (the libraries PIL and torchvision decode with;
//        both fuzzed continuously by OSS-Fuzz),
//   BMP and 8-bit PNM (P5, P6) with stb_image, which sees nothing else.
// GIF, PSD, TGA, HDR and other content are refused: Debian's stb_image is 2.27, whose loaders for
// them have known memory-safety bugs (GIF's even in 2.28), docs/reliability.md.
// Pixels are converted to the channels asked for exactly as stb_image converts them, so results
// do not depend on the decoder: grey = (77 R + 150 G + 29 B) >> 8, a missing alpha is 255;
// 16-bit samples keep their high byte; palettes and tRNS expand to RGB(A). Gamma and colour
// profiles are ignored (as PIL and stb do). CMYK and YCCK JPEGs become RGB as stb makes them;
// grey from a YCbCr JPEG is its Y channel, as stb gives it.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fw::data {

// A decoded image holds at most this many pixels (8192 x 8192), checked from the header before
// anything is allocated: decoders allocate what the header says and then fill it even where the
// file has no data (a PSD of 2 KB claiming 28 x 16777216 pixels took 1.9 GB and 87 s; fuzzing).
inline constexpr int64_t kMaxImagePixels = int64_t(1) << 26;

struct DecodedImage {
  int width = 0, height = 0, channels = 0;
  std::vector<unsigned char> pixels;  // height x width x channels, interleaved
};

// channels: 1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA). Throws fw::Error "unreadable image:
// <what>" without a file name (the caller adds it).
DecodedImage decodeImage(const std::string& bytes, int channels);

// Width and height as the header says, without decoding (PNG, JPEG, BMP, PNM); {0, 0} when the
// format is another or the header cannot be read.
std::pair<int64_t, int64_t> imageSizeOf(const std::string& bytes);

// What the bytes hold, by their first bytes: "PNG", "JPEG", "BMP", "PNM", "GIF", "PSD", "HDR",
// or "" when none of these.
std::string imageFormatOf(const std::string& bytes);

}  // namespace fw::data
