#include "data/image_decode.h"

#include "util/error.h"

#include <csetjmp>
#include <cstdio>  // before jpeglib.h, which uses FILE
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>
#include <stb/stb_image.h>

namespace fw::data {

namespace {

[[noreturn]] void unreadable(const std::string& what) { throw Error("unreadable image: " + what); }

// What is wrong with a header's size, or nothing. The PNG and JPEG readers keep it as their error
// (they may not throw between setjmp and their library's clean-up); stb's path throws it.
std::string sizeProblem(int64_t width, int64_t height) {
  if (width < 1 || height < 1) return "no pixels: " + std::to_string(width) + "x" + std::to_string(height);
  if (width * height > kMaxImagePixels)
    return "image too large: " + std::to_string(width) + "x" + std::to_string(height) + " pixels (at most " +
           std::to_string(kMaxImagePixels) + ")";
  return {};
}

void checkSize(int64_t width, int64_t height) {
  if (const std::string bad = sizeProblem(width, height); !bad.empty()) unreadable(bad);
}

// stb_image's conversions between channel counts (stbi__convert_format), so that a PNG or JPEG
// gives the bytes it gave when stb decoded it.
unsigned char grey(const unsigned char* p) { return static_cast<unsigned char>((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8); }

DecodedImage convertChannels(DecodedImage in, int channels) {
  if (in.channels == channels) return in;
  DecodedImage out;
  out.width = in.width;
  out.height = in.height;
  out.channels = channels;
  const size_t count = static_cast<size_t>(in.width) * static_cast<size_t>(in.height);
  out.pixels.resize(count * static_cast<size_t>(channels));
  const int from = in.channels;
  for (size_t i = 0; i < count; ++i) {
    const unsigned char* s = in.pixels.data() + i * static_cast<size_t>(from);
    unsigned char* d = out.pixels.data() + i * static_cast<size_t>(channels);
    const bool colour = from >= 3;
    const unsigned char alpha = (from == 2 || from == 4) ? s[from - 1] : 255;
    const unsigned char y = colour ? grey(s) : s[0];
    switch (channels) {
      case 1: d[0] = y; break;
      case 2: d[0] = y; d[1] = alpha; break;
      case 3:
        d[0] = colour ? s[0] : y;
        d[1] = colour ? s[1] : y;
        d[2] = colour ? s[2] : y;
        break;
      default:
        d[0] = colour ? s[0] : y;
        d[1] = colour ? s[1] : y;
        d[2] = colour ? s[2] : y;
        d[3] = alpha;
    }
  }
  return out;
}

// ---- PNG (libpng) ----
// libpng reports errors by longjmp to the setjmp in readPng. Everything that changes after the
// setjmp lives in PngState, in the caller's frame, so nothing read after the jump is a register
// copy (C's rule for setjmp); only libpng's C frames lie between the jump and its target.

struct PngState {
  const std::string* bytes = nullptr;
  size_t position = 0;
  png_structp png = nullptr;
  png_infop info = nullptr;
  std::string error;
  DecodedImage image;
  std::vector<png_bytep> rows;
};

void pngRead(png_structp png, png_bytep out, png_size_t count) {
  auto* s = static_cast<PngState*>(png_get_io_ptr(png));
  if (count > s->bytes->size() - s->position) png_error(png, "file is truncated");
  std::memcpy(out, s->bytes->data() + s->position, count);
  s->position += count;
}

void pngError(png_structp png, png_const_charp message) {
  static_cast<PngState*>(png_get_error_ptr(png))->error = message ? message : "libpng error";
  png_longjmp(png, 1);
}

void pngWarning(png_structp, png_const_charp) {}  // e.g. an ancillary chunk's bad CRC: PIL and stb go on too

bool readPng(PngState* s) {
  if (setjmp(png_jmpbuf(s->png))) return false;
  png_set_read_fn(s->png, s, pngRead);
  png_set_user_limits(s->png, 1u << 24, 1u << 24);
  png_set_chunk_malloc_max(s->png, 64u << 20);  // text, ICC and other chunks held in memory
  png_read_info(s->png, s->info);
  const png_uint_32 width = png_get_image_width(s->png, s->info), height = png_get_image_height(s->png, s->info);
  s->error = sizeProblem(width, height);
  if (!s->error.empty()) return false;
  const int colourType = png_get_color_type(s->png, s->info), depth = png_get_bit_depth(s->png, s->info);
  if (colourType == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(s->png);
  if (colourType == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(s->png);
  if (png_get_valid(s->png, s->info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(s->png);
  if (depth == 16) png_set_strip_16(s->png);  // the high byte, as stb and PIL keep
  png_set_interlace_handling(s->png);
  png_read_update_info(s->png, s->info);
  s->image.width = static_cast<int>(width);
  s->image.height = static_cast<int>(height);
  s->image.channels = png_get_channels(s->png, s->info);
  const size_t rowBytes = png_get_rowbytes(s->png, s->info);
  if (rowBytes != static_cast<size_t>(width) * static_cast<size_t>(s->image.channels)) {
    s->error = "unexpected PNG row size";
    return false;
  }
  s->image.pixels.resize(rowBytes * height);
  s->rows.resize(height);
  for (png_uint_32 r = 0; r < height; ++r) s->rows[r] = s->image.pixels.data() + rowBytes * r;
  png_read_image(s->png, s->rows.data());
  return true;  // what follows the image data (text chunks, IEND) is not read, as PIL does
}

DecodedImage decodePng(const std::string& bytes) {
  PngState s;
  s.bytes = &bytes;
  s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, pngError, pngWarning);
  if (s.png) s.info = png_create_info_struct(s.png);
  if (!s.png || !s.info) {
    png_destroy_read_struct(&s.png, nullptr, nullptr);
    unreadable("out of memory starting libpng");
  }
  const bool ok = readPng(&s);
  png_destroy_read_struct(&s.png, &s.info, nullptr);
  if (!ok) unreadable("PNG: " + s.error);
  return std::move(s.image);
}

// ---- JPEG (libjpeg-turbo) ----
// The same longjmp discipline as PNG: the state lives in JpegState.

struct JpegState {
  jpeg_decompress_struct info{};
  jpeg_error_mgr errors{};
  jpeg_progress_mgr progress{};
  std::jmp_buf jump{};
  std::string error;
  DecodedImage image;
  std::vector<unsigned char> cmyk;
};

JpegState* stateOf(j_common_ptr c) { return static_cast<JpegState*>(c->client_data); }

void jpegFail(j_common_ptr c) {
  char text[JMSG_LENGTH_MAX];
  (*c->err->format_message)(c, text);
  stateOf(c)->error = text;
  std::longjmp(stateOf(c)->jump, 1);
}

// Warnings (level -1) are corrupt data that libjpeg patches over; a file cut short is refused, as
// PIL refuses it ("image file is truncated"); the others (extraneous bytes, ...) are let through.
void jpegMessage(j_common_ptr c, int level) {
  if (level == -1 && c->err->msg_code == JWRN_JPEG_EOF) jpegFail(c);
}

// A progressive JPEG of a few KB can ask for thousands of scans, each a pass over the whole
// image (minutes; libjpeg-turbo's own fuzzers stop at 500 the same way).
void jpegProgress(j_common_ptr c) {
  if (reinterpret_cast<j_decompress_ptr>(c)->input_scan_number > 500) {
    stateOf(c)->error = "JPEG with more than 500 scans";
    std::longjmp(stateOf(c)->jump, 1);
  }
}

bool readJpeg(JpegState* s, const std::string& bytes, int channels) {
  if (setjmp(s->jump)) return false;
  jpeg_create_decompress(&s->info);
  s->info.progress = &s->progress;
  jpeg_mem_src(&s->info, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&s->info, TRUE);
  s->error = sizeProblem(s->info.image_width, s->info.image_height);
  if (!s->error.empty()) return false;
  const J_COLOR_SPACE in = s->info.jpeg_color_space;
  const bool four = in == JCS_CMYK || in == JCS_YCCK;
  // Grey from a YCbCr file is its Y channel, as stb and libjpeg give it (not the RGB formula).
  const bool yOnly = in == JCS_GRAYSCALE || (in == JCS_YCbCr && channels <= 2);
  s->info.out_color_space = yOnly ? JCS_GRAYSCALE : four ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&s->info);
  const int width = static_cast<int>(s->info.output_width), height = static_cast<int>(s->info.output_height);
  const int components = s->info.output_components;
  std::vector<unsigned char>& target = four ? s->cmyk : s->image.pixels;
  const size_t rowBytes = static_cast<size_t>(width) * static_cast<size_t>(components);
  target.resize(rowBytes * static_cast<size_t>(height));
  while (s->info.output_scanline < s->info.output_height) {
    JSAMPROW row = target.data() + rowBytes * s->info.output_scanline;
    jpeg_read_scanlines(&s->info, &row, 1);
  }
  jpeg_finish_decompress(&s->info);
  s->image.width = width;
  s->image.height = height;
  s->image.channels = four ? 3 : components;
  if (four) {
    // Adobe's CMYK as stb turns it into RGB: R = C · K / 255, rounded (stbi__blinn_8x8), with
    // libjpeg's C, M, Y, K (for YCCK libjpeg already gives 255 - R as C, as stb computes it).
    s->image.pixels.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
    for (size_t i = 0, count = static_cast<size_t>(width) * static_cast<size_t>(height); i < count; ++i) {
      const unsigned char* p = s->cmyk.data() + 4 * i;
      for (int c = 0; c < 3; ++c) {
        const unsigned t = p[c] * p[3] + 128u;
        s->image.pixels[3 * i + static_cast<size_t>(c)] = static_cast<unsigned char>((t + (t >> 8)) >> 8);
      }
    }
  }
  return true;
}

DecodedImage decodeJpeg(const std::string& bytes, int channels) {
  if (bytes.size() > std::numeric_limits<unsigned long>::max()) unreadable("file too large");
  auto s = std::make_unique<JpegState>();
  s->info.err = jpeg_std_error(&s->errors);
  s->info.client_data = s.get();  // kept by jpeg_create_decompress
  s->errors.error_exit = jpegFail;
  s->errors.emit_message = jpegMessage;
  s->progress.progress_monitor = jpegProgress;
  const bool ok = readJpeg(s.get(), bytes, channels);
  jpeg_destroy_decompress(&s->info);
  if (!ok) unreadable("JPEG: " + s->error);
  return std::move(s->image);
}

// ---- BMP and 8-bit PNM (stb_image) ----

struct StbFree {
  void operator()(unsigned char* p) const { stbi_image_free(p); }
};

// stb 2.27 reads a PNM header's numbers into an int without a bound (signed overflow on a long
// digit run; fuzzing, finding 19; 2.28 checks). The header is read here first exactly as
// stbi__pnm_info reads it (whitespace, # comments, three numbers), stopping any number above 2^24.
// `dataStart`, when given, receives where the samples begin (after the one whitespace that ends
// the header).
std::string badPnmHeader(const std::string& b, size_t* dataStart = nullptr) {
  size_t position = 2;  // after P5 or P6
  const auto atEnd = [&] { return position >= b.size(); };
  const auto next = [&] { return position < b.size() ? b[position++] : '\0'; };
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; };
  char c = next();
  for (const char* name : {"width", "height", "maximum value"}) {
    for (;;) {  // stbi__pnm_skip_whitespace
      while (!atEnd() && space(c)) c = next();
      if (atEnd() || c != '#') break;
      while (!atEnd() && c != '\n' && c != '\r') c = next();
    }
    int64_t value = 0;
    while (!atEnd() && c >= '0' && c <= '9') {
      value = value * 10 + (c - '0');
      if (value > (int64_t(1) << 24)) return std::string("PNM ") + name + " over " + std::to_string(int64_t(1) << 24);
      c = next();
    }
  }
  if (dataStart) *dataStart = position;
  return {};
}

// stb decodes whatever the header claims: from a file too short for it, PNM samples it never read
// (2.27 ignores the short read: uninitialised memory) and BMP rows of zeros, then the resize
// works through them all (seconds for 2^26 pixels). The least data the header implies is checked
// first: PNM, width x height x channels bytes after the header; BMP read as rows (any compression but RLE), the rows (the
// last one unpadded) after the file and info headers, palette not counted.
std::string missingStbData(const std::string& b, bool pnm, int64_t w, int64_t h, int64_t channels, size_t pnmDataStart) {
  const auto le = [&](size_t i, int n) {
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = v << 8 | (i + size_t(k) < b.size() ? static_cast<unsigned char>(b[i + size_t(k)]) : 0u);
    return v;
  };
  uint64_t need = 0;
  if (pnm) {
    need = pnmDataStart + uint64_t(w) * uint64_t(h) * uint64_t(channels);
  } else {
    const uint64_t infoSize = le(14, 4);
    const uint64_t bpp = infoSize == 12 ? le(24, 2) : le(28, 2);
    const uint64_t compression = infoSize == 12 ? 0 : le(30, 4);
    // stb refuses RLE (1, 2) and odd depths itself; every other compression value it reads as
    // uncompressed rows (found by fuzz_image_folder: 0xff350000 claiming 28 x 16193 pixels).
    if (compression == 1 || compression == 2 || bpp == 0 || bpp > 32) return {};
    const uint64_t rowBytes = (uint64_t(w) * bpp + 7) / 8, stride = (uint64_t(w) * bpp + 31) / 32 * 4;
    need = 14 + infoSize + stride * uint64_t(h - 1) + rowBytes;
  }
  if (b.size() >= need) return {};
  return std::string(pnm ? "PNM" : "BMP") + " file too short: " + std::to_string(w) + "x" + std::to_string(h) +
         " pixels need at least " + std::to_string(need) + " bytes, the file has " + std::to_string(b.size());
}

DecodedImage decodeWithStb(const std::string& bytes, int channels, bool pnm) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) unreadable("file too large");
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const int length = static_cast<int>(bytes.size());
  size_t pnmDataStart = 0;
  if (pnm)
    if (const std::string bad = badPnmHeader(bytes, &pnmDataStart); !bad.empty()) unreadable(bad);
  int w = 0, h = 0, n = 0;
  if (stbi_info_from_memory(data, length, &w, &h, &n)) {
    const int64_t height = std::llabs(static_cast<long long>(h));  // a top-down BMP says -height here
    checkSize(w, height);
    // stb 2.27 converts 16-bit PNM samples as 8-bit ones and reads past its buffer (fixed in 2.28).
    if (pnm && stbi_is_16_bit_from_memory(data, length)) unreadable("16-bit PNM (maximum value over 255) is not supported");
    if (const std::string bad = missingStbData(bytes, pnm, w, height, n, pnmDataStart); !bad.empty()) unreadable(bad);
  }
  std::unique_ptr<unsigned char, StbFree> pixels(stbi_load_from_memory(data, length, &w, &h, &n, channels));
  if (!pixels) {
    const char* reason = stbi_failure_reason();
    unreadable(std::string(pnm ? "PNM: " : "BMP: ") + (reason ? reason : "cannot decode"));
  }
  checkSize(w, h);
  DecodedImage out;
  out.width = w;
  out.height = h;
  out.channels = channels;
  out.pixels.assign(pixels.get(), pixels.get() + static_cast<size_t>(w) * static_cast<size_t>(h) * static_cast<size_t>(channels));
  return out;
}

}  // namespace

std::string imageFormatOf(const std::string& b) {
  const auto starts = [&](const char* magic, size_t n) { return b.size() >= n && std::memcmp(b.data(), magic, n) == 0; };
  if (starts("\x89PNG\r\n\x1a\n", 8)) return "PNG";
  if (starts("\xff\xd8\xff", 3)) return "JPEG";
  if (starts("BM", 2)) return "BMP";
  if (starts("P5", 2) || starts("P6", 2)) return "PNM";
  if (starts("GIF8", 4)) return "GIF";
  if (starts("8BPS", 4)) return "PSD";
  if (starts("#?RADIANCE", 10) || starts("#?RGBE", 6)) return "HDR";
  return {};
}

std::pair<int64_t, int64_t> imageSizeOf(const std::string& b) {
  const std::string format = imageFormatOf(b);
  const auto at = [&](size_t i) -> uint32_t { return i < b.size() ? static_cast<unsigned char>(b[i]) : 0u; };
  if (format == "PNG" && b.size() >= 24)
    return {at(16) << 24 | at(17) << 16 | at(18) << 8 | at(19), at(20) << 24 | at(21) << 16 | at(22) << 8 | at(23)};
  if (format == "JPEG") {  // the first frame header (SOF0 to SOF15 but DHT, JPG and DAC), walking the segments
    for (size_t i = 2; i + 8 < b.size();) {
      if (at(i) != 0xFF) {  // bytes between segments: libjpeg skips them to the next marker, warning
        ++i;
        continue;
      }
      const uint32_t marker = at(i + 1);
      if (marker == 0xFF) { ++i; continue; }  // fill byte
      if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD9)) { i += 2; continue; }  // no length
      if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC)
        return {at(i + 7) << 8 | at(i + 8), at(i + 5) << 8 | at(i + 6)};
      i += 2 + (at(i + 2) << 8 | at(i + 3));
    }
    return {0, 0};
  }
  if (format == "BMP" || (format == "PNM" && badPnmHeader(b).empty())) {
    int w = 0, h = 0, n = 0;
    if (b.size() <= static_cast<size_t>(std::numeric_limits<int>::max()) &&
        stbi_info_from_memory(reinterpret_cast<const unsigned char*>(b.data()), static_cast<int>(b.size()), &w, &h, &n))
      return {w, std::llabs(static_cast<long long>(h))};  // a top-down BMP's height is negative
  }
  return {0, 0};
}

DecodedImage decodeImage(const std::string& bytes, int channels) {
  if (channels < 1 || channels > 4) throw Error("images have 1 to 4 channels").field("channels").got(std::to_string(channels));
  const std::string format = imageFormatOf(bytes);
  if (format == "PNG") return convertChannels(decodePng(bytes), channels);
  if (format == "JPEG") return convertChannels(decodeJpeg(bytes, channels), channels);
  if (format == "BMP" || format == "PNM") return decodeWithStb(bytes, channels, format == "PNM");
  if (!format.empty()) unreadable(format + " images are not supported: convert them to PNG");
  unreadable("not a PNG, JPEG, BMP or 8-bit PNM (P5, P6) image");
}

}  // namespace fw::data
