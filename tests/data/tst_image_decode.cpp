// data/image_decode: PNG through libpng and JPEG through libjpeg-turbo must give the bytes that
// stb_image (the decoder before them, still linked for BMP and PNM) gives for the same file, in
// every channel count; PNG must also give back exactly the pixels it was written with. Files are
// written here with libpng's and libjpeg's encoders: every PNG colour type and depth, palettes with
// and without transparency, Adam7 interlacing, grey, RGB and Adobe CMYK JPEGs. Then what must be
// refused, with the message a user sees.
#include "data/image_decode.h"
#include "util/error.h"

#include <QtTest/QtTest>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <jpeglib.h>
#include <png.h>
#include <stb/stb_image.h>
#include <zlib.h>

using fw::data::DecodedImage;
using fw::data::decodeImage;

namespace {

// ---- encoders (test data only; a failure here aborts the test) ----

void pngWrite(png_structp png, png_bytep data, png_size_t n) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<const char*>(data), n);
}
void pngFlush(png_structp) {}
void pngAbort(png_structp, png_const_charp message) {
  std::fprintf(stderr, "libpng writer: %s\n", message);
  std::abort();
}

// `rows` as PNG stores them: packed below 8 bits, big-endian at 16.
std::string pngBytes(int w, int h, int colourType, int depth, const std::vector<std::string>& rows,
                     const std::vector<png_color>& palette = {}, const std::vector<png_byte>& trns = {},
                     const png_color_16* trnsColour = nullptr, bool interlaced = false) {
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, pngAbort, nullptr);
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(png, &out, pngWrite, pngFlush);
  png_set_IHDR(png, info, static_cast<png_uint_32>(w), static_cast<png_uint_32>(h), depth, colourType,
               interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!palette.empty()) png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
  if (!trns.empty() || trnsColour)
    png_set_tRNS(png, info, trns.empty() ? nullptr : trns.data(), static_cast<int>(trns.size()), trnsColour);
  png_write_info(png, info);
  std::vector<png_bytep> pointers;
  std::vector<std::string> copies = rows;
  for (std::string& r : copies) pointers.push_back(reinterpret_cast<png_bytep>(r.data()));
  png_write_image(png, pointers.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

std::string jpegBytes(int w, int h, int components, J_COLOR_SPACE space, const std::string& pixels, int quality) {
  jpeg_compress_struct c{};
  jpeg_error_mgr errors{};
  c.err = jpeg_std_error(&errors);
  jpeg_create_compress(&c);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buffer, &size);
  c.image_width = static_cast<JDIMENSION>(w);
  c.image_height = static_cast<JDIMENSION>(h);
  c.input_components = components;
  c.in_color_space = space;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    auto* row = reinterpret_cast<JSAMPROW>(const_cast<char*>(pixels.data()) + static_cast<size_t>(c.next_scanline) * static_cast<size_t>(w * components));
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::string out(reinterpret_cast<const char*>(buffer), size);
  std::free(buffer);
  return out;
}

// ---- helpers ----

std::string bytesOf(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

DecodedImage stbDecode(const std::string& bytes, int channels) {
  DecodedImage out;
  int n = 0;
  unsigned char* p = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()),
                                           &out.width, &out.height, &n, channels);
  if (!p) return out;
  out.channels = channels;
  out.pixels.assign(p, p + static_cast<size_t>(out.width) * static_cast<size_t>(out.height) * static_cast<size_t>(channels));
  stbi_image_free(p);
  return out;
}

QByteArray asBytes(const std::vector<unsigned char>& v) { return QByteArray(reinterpret_cast<const char*>(v.data()), static_cast<int>(v.size())); }

std::string errorOf(const std::string& bytes, int channels = 3) {
  try {
    decodeImage(bytes, channels);
  } catch (const fw::Error& e) {
    return e.what();
  }
  return "no error";
}

// A 4 x 3 test card: every pixel different, all channels exercised.
constexpr int kW = 4, kH = 3;
int sample(int x, int y, int c) { return (x * 61 + y * 97 + c * 53 + 7) % 256; }

}  // namespace

class TestImageDecode : public QObject {
  Q_OBJECT

private slots:
  // Each PNG: what libpng gives must equal stb's bytes for 1 to 4 channels, and, in its own
  // channel count, the pixels written (`expected`, as 8-bit interleaved samples).
  void pngAsStbAndAsWritten_data() {
    QTest::addColumn<QByteArray>("file");
    QTest::addColumn<int>("ownChannels");
    QTest::addColumn<QByteArray>("expected");
    const auto card = [](int channels, bool sixteen) {
      std::vector<std::string> rows;
      std::string expected;
      for (int y = 0; y < kH; ++y) {
        std::string row;
        for (int x = 0; x < kW; ++x)
          for (int c = 0; c < channels; ++c) {
            const int v = sample(x, y, c);
            row.push_back(static_cast<char>(v));
            if (sixteen) row.push_back(static_cast<char>(255 - v));  // the low byte, dropped on reading
            expected.push_back(static_cast<char>(v));
          }
        rows.push_back(row);
      }
      return std::make_pair(rows, expected);
    };
    const std::pair<int, int> types[] = {{PNG_COLOR_TYPE_GRAY, 1}, {PNG_COLOR_TYPE_GRAY_ALPHA, 2},
                                         {PNG_COLOR_TYPE_RGB, 3}, {PNG_COLOR_TYPE_RGB_ALPHA, 4}};
    for (const auto& [type, channels] : types)
      for (int depth : {8, 16})
        for (bool interlaced : {false, true}) {
          const auto [rows, expected] = card(channels, depth == 16);
          const QString tag = QString("%1 channel(s), %2-bit%3").arg(channels).arg(depth).arg(interlaced ? ", interlaced" : "");
          QTest::newRow(qPrintable(tag)) << QByteArray::fromStdString(pngBytes(kW, kH, type, depth, rows, {}, {}, nullptr, interlaced))
                                         << channels << QByteArray::fromStdString(expected);
        }

    // 1-bit grey: 0 and 1 become 0 and 255.
    QTest::newRow("1-bit grey") << QByteArray::fromStdString(pngBytes(8, 2, PNG_COLOR_TYPE_GRAY, 1, {bytesOf({0xA5}), bytesOf({0x0F})}))
                                << 1 << QByteArray::fromStdString(bytesOf({255, 0, 255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255}));
    // 4-bit grey: v becomes v * 17.
    QTest::newRow("4-bit grey") << QByteArray::fromStdString(pngBytes(2, 1, PNG_COLOR_TYPE_GRAY, 4, {bytesOf({0x3C})}))
                                << 1 << QByteArray::fromStdString(bytesOf({51, 204}));
    const std::vector<png_color> palette{{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};
    QTest::newRow("palette") << QByteArray::fromStdString(pngBytes(4, 1, PNG_COLOR_TYPE_PALETTE, 8, {bytesOf({3, 2, 1, 0})}, palette))
                             << 3 << QByteArray::fromStdString(bytesOf({10, 20, 30, 0, 0, 255, 0, 255, 0, 255, 0, 0}));
    QTest::newRow("2-bit palette, transparency")
        << QByteArray::fromStdString(pngBytes(4, 1, PNG_COLOR_TYPE_PALETTE, 2, {bytesOf({0x1B})}, palette, {0, 128}))
        << 4 << QByteArray::fromStdString(bytesOf({255, 0, 0, 0, 0, 255, 0, 128, 0, 0, 255, 255, 10, 20, 30, 255}));
    png_color_16 key{};
    key.gray = 7;
    QTest::newRow("grey, transparent colour")
        << QByteArray::fromStdString(pngBytes(2, 1, PNG_COLOR_TYPE_GRAY, 8, {bytesOf({7, 9})}, {}, {}, &key))
        << 2 << QByteArray::fromStdString(bytesOf({7, 0, 9, 255}));
  }

  void pngAsStbAndAsWritten() {
    QFETCH(QByteArray, file);
    QFETCH(int, ownChannels);
    QFETCH(QByteArray, expected);
    const std::string bytes = file.toStdString();
    const DecodedImage own = decodeImage(bytes, ownChannels);
    QCOMPARE(asBytes(own.pixels), expected);
    for (int channels = 1; channels <= 4; ++channels) {
      const DecodedImage ours = decodeImage(bytes, channels);
      const DecodedImage stb = stbDecode(bytes, channels);
      QVERIFY2(!stb.pixels.empty(), stbi_failure_reason());
      QCOMPARE(ours.width, stb.width);
      QCOMPARE(ours.height, stb.height);
      QCOMPARE(ours.channels, channels);
      QCOMPARE(asBytes(ours.pixels), asBytes(stb.pixels));
    }
  }

  // JPEG is lossy and the two decoders have their own inverse DCTs: libjpeg-turbo's bytes must be
  // within 2 of stb's everywhere (the same file, every channel count), and a flat colour must come
  // back within 2 of what was written.
  void jpegAsStb_data() {
    QTest::addColumn<QByteArray>("file");
    QTest::addColumn<int>("ownChannels");
    QTest::addColumn<QByteArray>("flat");  // the colour of a flat image, or empty
    const int w = 16, h = 16;
    std::string rgb, grey, cmyk, flat;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        for (int c = 0; c < 3; ++c) rgb.push_back(static_cast<char>((x * 12 + y * 5 + c * 70) % 256));
        grey.push_back(static_cast<char>(x * 8 + y * 7));
        for (int c = 0; c < 4; ++c) cmyk.push_back(static_cast<char>(c == 3 ? 200 + x : 40 + 60 * c + y * 4));
        flat += bytesOf({200, 120, 40});
      }
    QTest::newRow("RGB gradient") << QByteArray::fromStdString(jpegBytes(w, h, 3, JCS_RGB, rgb, 95)) << 3 << QByteArray();
    QTest::newRow("grey gradient") << QByteArray::fromStdString(jpegBytes(w, h, 1, JCS_GRAYSCALE, grey, 95)) << 1 << QByteArray();
    QTest::newRow("Adobe CMYK") << QByteArray::fromStdString(jpegBytes(w, h, 4, JCS_CMYK, cmyk, 95)) << 3 << QByteArray();
    QTest::newRow("flat colour") << QByteArray::fromStdString(jpegBytes(w, h, 3, JCS_RGB, flat, 90)) << 3
                                 << QByteArray::fromStdString(bytesOf({200, 120, 40}));
  }

  void jpegAsStb() {
    QFETCH(QByteArray, file);
    QFETCH(int, ownChannels);
    QFETCH(QByteArray, flat);
    const std::string bytes = file.toStdString();
    QCOMPARE(decodeImage(bytes, ownChannels).channels, ownChannels);
    for (int channels = 1; channels <= 4; ++channels) {
      const DecodedImage ours = decodeImage(bytes, channels);
      const DecodedImage stb = stbDecode(bytes, channels);
      QVERIFY2(!stb.pixels.empty(), stbi_failure_reason());
      QCOMPARE(ours.width, 16);
      QCOMPARE(ours.height, 16);
      QCOMPARE(ours.pixels.size(), stb.pixels.size());
      int worst = 0;
      for (size_t i = 0; i < ours.pixels.size(); ++i) worst = std::max(worst, std::abs(ours.pixels[i] - stb.pixels[i]));
      QVERIFY2(worst <= 2, qPrintable(QString("largest difference from stb_image: %1 (%2 channels)").arg(worst).arg(channels)));
    }
    if (!flat.isEmpty()) {
      const DecodedImage ours = decodeImage(bytes, 3);
      for (size_t i = 0; i < ours.pixels.size(); ++i)
        QVERIFY2(std::abs(ours.pixels[i] - static_cast<unsigned char>(flat[static_cast<int>(i % 3)])) <= 2, qPrintable(QString::number(i)));
    }
  }

  void refused_data() {
    QTest::addColumn<QByteArray>("file");
    QTest::addColumn<QString>("error");
    const std::string png = pngBytes(2, 2, PNG_COLOR_TYPE_RGB, 8, {std::string(6, 'a'), std::string(6, 'b')});
    std::string flat;
    for (int i = 0; i < 64; ++i) flat += bytesOf({10, 20, 30});
    const std::string jpeg = jpegBytes(8, 8, 3, JCS_RGB, flat, 90);
    QTest::newRow("PNG cut short") << QByteArray::fromStdString(png.substr(0, png.size() - 20))
                                   << "unreadable image: PNG: file is truncated";
    std::string badCrc = png;
    badCrc[29] = static_cast<char>(badCrc[29] ^ 1);  // the IHDR chunk's CRC
    QTest::newRow("PNG header CRC") << QByteArray::fromStdString(badCrc) << "unreadable image: PNG: IHDR: CRC error";
    // IHDR of 10000 x 10000 (CRC fixed up): refused before anything is allocated.
    std::string huge = png.substr(0, 33);
    huge.replace(16, 8, bytesOf({0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10}));
    const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(huge.data() + 12), 17);
    huge.replace(29, 4, bytesOf({static_cast<int>(crc >> 24 & 255), static_cast<int>(crc >> 16 & 255), static_cast<int>(crc >> 8 & 255), static_cast<int>(crc & 255)}));
    QTest::newRow("PNG of 10^8 pixels") << QByteArray::fromStdString(huge + png.substr(33))
                                        << "unreadable image: PNG: image too large: 10000x10000 pixels (at most 67108864)";
    std::string hugeJpeg = jpeg;  // the frame header's height and width
    const size_t sof = hugeJpeg.find("\xff\xc0");
    hugeJpeg.replace(sof + 5, 4, bytesOf({0x27, 0x10, 0x27, 0x10}));
    QTest::newRow("JPEG of 10^8 pixels") << QByteArray::fromStdString(hugeJpeg)
                                         << "unreadable image: JPEG: image too large: 10000x10000 pixels (at most 67108864)";
    QTest::newRow("JPEG cut short") << QByteArray::fromStdString(jpeg.substr(0, jpeg.size() / 2))
                                    << "unreadable image: JPEG: Premature end of JPEG file";
    QTest::newRow("JPEG Huffman table over 256 codes") << QByteArray::fromStdString(bytesOf({0xff, 0xd8, 0xff, 0xc4, 0x00, 0x13, 0x00}) + std::string(16, '\xff'))
                                                       << "unreadable image: JPEG: Bogus Huffman table definition";
    QTest::newRow("GIF") << QByteArray("GIF89a\x01\x00\x01\x00\x00\x00\x00;", 14)
                         << "unreadable image: GIF images are not supported: convert them to PNG";
    QTest::newRow("text") << QByteArray("not an image") << "unreadable image: not a PNG, JPEG, BMP or 8-bit PNM (P5, P6) image";
    QTest::newRow("empty") << QByteArray() << "unreadable image: not a PNG, JPEG, BMP or 8-bit PNM (P5, P6) image";
  }

  void refused() {
    QFETCH(QByteArray, file);
    QFETCH(QString, error);
    QCOMPARE(QString::fromStdString(errorOf(file.toStdString())), error);
  }

  // BMP and 8-bit PNM still go to stb_image: a 2 x 1 BMP (24-bit, bottom-up) and a PPM.
  void bmpAndPnm() {
    std::string bmp = bytesOf({'B', 'M', 62, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 24, 0,
                               0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    bmp += bytesOf({30, 20, 10, 60, 50, 40, 0, 0});  // BGR BGR, row padded to 4 bytes
    QCOMPARE(asBytes(decodeImage(bmp, 3).pixels), QByteArray::fromStdString(bytesOf({10, 20, 30, 40, 50, 60})));
    QCOMPARE(asBytes(decodeImage("P6\n1 1\n255\n\x01\x02\x03", 4).pixels), QByteArray::fromStdString(bytesOf({1, 2, 3, 255})));
    QCOMPARE(QString::fromStdString(errorOf("P5\n2 2\n65535\n" + std::string(8, '\x7f'))),
             QString("unreadable image: 16-bit PNM (maximum value over 255) is not supported"));
    // Finding 19 (fuzz_image_folder): stb 2.27 parsed a long digit run into an int (signed
    // overflow). Each number is bounded before stb sees the header, comments skipped as stb does.
    QCOMPARE(QString::fromStdString(errorOf("P5\n# fashion-mnixt\n58 28" + std::string(110, '2') + "\n255\n" + std::string(16, '\0'))),
             QString("unreadable image: PNM height over 16777216"));
    QCOMPARE(QString::fromStdString(errorOf("P6 1 1 99999999999\n" + std::string(6, '\0'))),
             QString("unreadable image: PNM maximum value over 16777216"));
    QCOMPARE(QString::fromStdString(errorOf("P6#c\n16777216 0 255\n")), QString("unreadable image: no pixels: 16777216x0"));
    // A header that claims more than the file holds: stb 2.27 returned the PNM samples it never
    // read (uninitialised memory) and BMP rows of zeros, and the resize worked through them all.
    QCOMPARE(QString::fromStdString(errorOf("P6\n4 4\n255\n" + std::string(10, 'x'))),
             QString("unreadable image: PNM file too short: 4x4 pixels need at least 59 bytes, the file has 21"));
    std::string tall = bmp;
    tall.replace(18, 8, bytesOf({100, 0, 0, 0, 100, 0, 0, 0}));  // 100 x 100, 24-bit
    QCOMPARE(QString::fromStdString(errorOf(tall)),
             QString("unreadable image: BMP file too short: 100x100 pixels need at least 30054 bytes, the file has 62"));
    // stb reads any compression value but RLE's as plain rows (fuzz_image_folder: 0xff350000,
    // 28 x 16193 pixels from 64 bytes, 11 s of resizing under the sanitizers).
    std::string oddCompression = tall;
    oddCompression.replace(30, 4, bytesOf({0x00, 0x00, 0x35, 0xff}));
    QCOMPARE(QString::fromStdString(errorOf(oddCompression)),
             QString("unreadable image: BMP file too short: 100x100 pixels need at least 30054 bytes, the file has 62"));
    std::string topDown = bmp;  // a negative height: rows top to bottom, the same data needed
    topDown.replace(22, 4, bytesOf({0xff, 0xff, 0xff, 0xff}));
    QCOMPARE(asBytes(decodeImage(topDown, 3).pixels), QByteArray::fromStdString(bytesOf({10, 20, 30, 40, 50, 60})));
    QCOMPARE(fw::data::imageSizeOf(topDown), (std::pair<int64_t, int64_t>(2, 1)));
  }

  void sizeFromTheHeader() {
    std::string grey(6 * 5, '\x40');
    const std::string jpeg = jpegBytes(6, 5, 1, JCS_GRAYSCALE, grey, 80);
    QCOMPARE(fw::data::imageSizeOf(jpeg), (std::pair<int64_t, int64_t>(6, 5)));
    QCOMPARE(fw::data::imageSizeOf(pngBytes(3, 2, PNG_COLOR_TYPE_GRAY, 8, {"abc", "def"})), (std::pair<int64_t, int64_t>(3, 2)));
    QCOMPARE(fw::data::imageSizeOf("P6\n# c\n7 9\n255\n"), (std::pair<int64_t, int64_t>(7, 9)));
    QCOMPARE(fw::data::imageSizeOf("P6 1 " + std::string(40, '9') + " 255\n"), (std::pair<int64_t, int64_t>(0, 0)));
    QCOMPARE(fw::data::imageSizeOf("GIF89a\x05\x00\x05\x00"), (std::pair<int64_t, int64_t>(0, 0)));
    QCOMPARE(fw::data::imageFormatOf(jpeg), std::string("JPEG"));
    // Two stray bytes after the first segment: libjpeg skips to the next marker, and so does the
    // size (fuzz_image_folder: the harness missed such a JPEG's 28 x 43292 pixels).
    std::string stray = jpeg;
    const size_t afterFirst = 4 + ((size_t(uint8_t(jpeg[4])) << 8) | uint8_t(jpeg[5]));
    stray.insert(afterFirst, "xy");
    QCOMPARE(fw::data::imageSizeOf(stray), (std::pair<int64_t, int64_t>(6, 5)));
    QCOMPARE(decodeImage(stray, 1).width, 6);
  }

  void channelCountChecked() {
    QCOMPARE(QString::fromStdString(errorOf("P6\n1 1\n255\nabc", 5)), QString("field 'channels': images have 1 to 4 channels: got 5"));
  }
};

QTEST_APPLESS_MAIN(TestImageDecode)
#include "tst_image_decode.moc"
