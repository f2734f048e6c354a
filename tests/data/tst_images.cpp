// Image datasets: the real Fashion-MNIST files (counts per class, known pixels, class filter,
// limit, normalisation), IDX validation on files written here (plain and gzip), and image
// folders (PPM/PGM written here, a broken PNG and a GIF as bad rows; the decoders have their own
// suite, tst_image_decode).
#include "data/idx_images.h"
#include "data/image_folder.h"
#include "data/label_set.h"
#include "util/error.h"

#include <QtTest/QtTest>

#include <zlib.h>

#include <cmath>
#include <fstream>

using namespace fw::data;

namespace {

const std::string kFashion = "/usr/share/datasets/fashion-mnist/";

bool exists(const std::string& path) { return QFileInfo::exists(QString::fromStdString(path)); }

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

void writeGzip(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  QVERIFY(f);
  QCOMPARE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  gzclose(f);
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// An IDX file: big-endian magic 0x000008NN, NN big-endian sizes, then the bytes.
std::string idx(const std::vector<uint32_t>& dims, const std::string& data) {
  std::string out;
  auto put = [&](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFF));
  };
  put(0x00000800u | static_cast<uint32_t>(dims.size()));
  for (uint32_t d : dims) put(d);
  return out + data;
}

std::string bytesFrom(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

// What a bad row's error ends with when the dataset fails on bad rows (data/bad_rows.h).
const QString kSkipHint = QStringLiteral(" (set the dataset's bad_rows to \"skip\" to leave such rows out)");

template <class F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const fw::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not an fw::Error: ") + e.what();
  }
  return "no error";
}

QList<int> labelsOf(const Dataset& ds) {
  QList<int> out;
  for (const Example& e : ds.examples) out.push_back(static_cast<int>(e.label));
  return out;
}

bool near(float a, double b) { return std::fabs(static_cast<double>(a) - b) < 1e-6; }

}  // namespace

class TestImages : public QObject {
  Q_OBJECT

  QTemporaryDir tmp_;
  std::string path(const std::string& name) const { return tmp_.path().toStdString() + "/" + name; }
  void needFashion() {
    if (!exists(kFashion + "train-images-idx3-ubyte.gz"))
      QSKIP(qPrintable(QString::fromStdString("missing " + kFashion + " (Debian package dataset-fashion-mnist)")));
  }

private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  // ---- Fashion-MNIST ----

  void fashionMnistTrain() {
    needFashion();
    IdxOptions options;
    options.labelNames = fashionMnistLabelNames();
    options.name = "fashion-mnist";
    const Dataset ds = loadIdx(kFashion + "train-images-idx3-ubyte.gz", kFashion + "train-labels-idx1-ubyte.gz", options);
    QCOMPARE(static_cast<int>(ds.examples.size()), 60000);
    QCOMPARE(ds.kind, TaskKind::ImageClassification);
    QCOMPARE(ds.channels, 1);
    QCOMPARE(ds.height, 28);
    QCOMPARE(ds.width, 28);
    QCOMPARE(ds.numLabels, 10);
    QCOMPARE(QString::fromStdString(ds.labelNames[9]), QString("Ankle boot"));
    std::vector<int> perClass(10, 0);
    for (const Example& e : ds.examples) ++perClass[static_cast<size_t>(e.label)];
    QCOMPARE(perClass, std::vector<int>(10, 6000));
    // The first labels and pixels, read independently from the file (Python's gzip module):
    // labels 9 0 0 3 0 2 7 2 5 5; image 0 has byte 217 at row 14, column 14, 0 at (10, 5), and
    // its bytes sum to 76247.
    QCOMPARE(labelsOf(ds).mid(0, 10), (QList<int>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}));
    const std::vector<float>& img = ds.examples[0].pixels;
    QCOMPARE(img.size(), size_t{784});
    QVERIFY(near(img[14 * 28 + 14], 217.0 / 255.0));
    QCOMPARE(img[10 * 28 + 5], 0.0f);
    double sum = 0;
    for (float v : img) sum += v;
    QVERIFY(std::fabs(sum * 255.0 - 76247.0) < 1e-2);
  }

  void fashionMnistClassFilter() {
    needFashion();
    IdxOptions options;
    options.labelNames = fashionMnistLabelNames();
    options.classes = {5, 6, 7, 8, 9};  // the default experiment's second task, relabelled 0..4
    options.mean = 0.5;
    options.std = 0.5;
    const std::string images = kFashion + "t10k-images-idx3-ubyte.gz", labels = kFashion + "t10k-labels-idx1-ubyte.gz";
    const Dataset ds = loadIdx(images, labels, options);
    QCOMPARE(static_cast<int>(ds.examples.size()), 5000);
    QCOMPARE(ds.numLabels, 5);
    QCOMPARE(ds.labelNames, (std::vector<std::string>{"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}));
    std::vector<int> perClass(5, 0);
    for (const Example& e : ds.examples) ++perClass[static_cast<size_t>(e.label)];
    QCOMPARE(perClass, std::vector<int>(5, 1000));
    // t10k labels begin 9 2 1 1 6 1 4 6 5 7: kept 9 6 6 5 7, relabelled 4 1 1 0 2.
    QCOMPARE(labelsOf(ds).mid(0, 5), (QList<int>{4, 1, 1, 0, 2}));
    // t10k image 0 has byte 110 at (14, 14): (110/255 − 0.5) / 0.5; a 0 byte becomes −1.
    QVERIFY(near(ds.examples[0].pixels[14 * 28 + 14], (110.0 / 255.0 - 0.5) / 0.5));
    QCOMPARE(ds.examples[0].pixels[0], -1.0f);

    options.limit = 3;
    QCOMPARE(labelsOf(loadIdx(images, labels, options)), (QList<int>{4, 1, 1}));
  }

  // ---- IDX files written here ----

  void idxPlainAndGzip() {
    // Three 2x3 images with bytes 0..17, labels 2 0 1; names default to "0".."2".
    std::string pixels;
    for (int i = 0; i < 18; ++i) pixels.push_back(static_cast<char>(i * 15));
    const std::string images = idx({3, 2, 3}, pixels), labels = idx({3}, bytesFrom({2, 0, 1}));
    writeFile(path("img.idx"), images);
    writeFile(path("lab.idx"), labels);
    writeGzip(path("img.idx.gz"), images);
    writeGzip(path("lab.idx.gz"), labels);
    for (const std::string suffix : {"", ".gz"}) {
      const Dataset ds = loadIdx(path("img.idx" + suffix), path("lab.idx" + suffix));
      QCOMPARE(labelsOf(ds), (QList<int>{2, 0, 1}));
      QCOMPARE(ds.labelNames, (std::vector<std::string>{"0", "1", "2"}));
      QCOMPARE(ds.height, 2);
      QCOMPARE(ds.width, 3);
      QVERIFY(near(ds.examples[1].pixels[4], 10 * 15 / 255.0));  // image 1, byte 6 + 4
      QVERIFY(near(ds.examples[2].pixels[5], 17 * 15 / 255.0));
    }
    const IdxArray raw = readIdx(path("lab.idx.gz"), 1);
    QCOMPARE(raw.dims, std::vector<int64_t>{3});
    QCOMPARE(raw.data, (std::vector<uint8_t>{2, 0, 1}));
  }

  void idxValidation_data() {
    QTest::addColumn<QByteArray>("images");
    QTest::addColumn<bool>("gzip");
    QTest::addColumn<QString>("message");  // after the file name
    const std::string good(18, '\x01');
    QTest::newRow("labels as images") << QByteArray::fromStdString(idx({3}, "abc")) << false
        << ": not an IDX file of unsigned bytes with 3 dimensions: expected magic 0x00000803, got 0x00000801 "
           "(images and labels swapped?)";
    QTest::newRow("float data") << QByteArray::fromStdString(bytesFrom({0, 0, 0x0D, 3}) + std::string(12, '\0')) << false
        << ": not an IDX file of unsigned bytes with 3 dimensions: expected magic 0x00000803, got 0x00000D03";
    QTest::newRow("truncated data") << QByteArray::fromStdString(idx({3, 2, 3}, good.substr(1))) << false
        << ": IDX data does not match the file length: expected 34 bytes for [3, 2, 3], got 33 bytes";
    QTest::newRow("trailing bytes") << QByteArray::fromStdString(idx({3, 2, 3}, good + "x")) << false
        << ": IDX data does not match the file length: expected 34 bytes for [3, 2, 3], got 35 bytes";
    QTest::newRow("truncated header") << QByteArray::fromStdString(idx({3, 2, 3}, "").substr(0, 10)) << false
        << ": file is truncated in the dimensions";
    QTest::newRow("absurd dimensions") << QByteArray::fromStdString(idx({60000, 100000, 100000}, good)) << false
        << ": IDX dimensions are absurd: got [60000, 100000, 100000] (at most 68719476736 bytes of data)";
    QTest::newRow("overflowing dimensions") << QByteArray::fromStdString(idx({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, good)) << false
        << ": IDX dimensions are absurd: got [4294967295, 4294967295, 4294967295] (at most 68719476736 bytes of data)";
    QTest::newRow("gzip claims too much") << QByteArray::fromStdString(idx({1000, 1000, 1000}, good)) << true
        << ": IDX dimensions exceed what the compressed file can hold: got [1000, 1000, 1000] from ";
    QTest::newRow("gzip truncated data") << QByteArray::fromStdString(idx({3, 2, 3}, good.substr(2))) << true
        << ": file is truncated in the data";
    QTest::newRow("gzip trailing bytes") << QByteArray::fromStdString(idx({3, 2, 3}, good + "xy")) << true
        << ": trailing bytes after the IDX data: expected 34 bytes";
  }
  void idxValidation() {
    QFETCH(QByteArray, images);
    QFETCH(bool, gzip);
    QFETCH(QString, message);
    const std::string p = path(gzip ? "v.idx.gz" : "v.idx");
    if (gzip) writeGzip(p, images.toStdString());
    else writeFile(p, images.toStdString());
    writeFile(path("v_labels.idx"), idx({3}, bytesFrom({0, 1, 2})));
    const QString e = QString::fromStdString(errorOf([&] { loadIdx(p, path("v_labels.idx")); }));
    QVERIFY2(e.startsWith(QString::fromStdString(p) + message), qPrintable(e));
  }

  void idxCorruptGzip() {
    std::string pixels(18 * 1000, '\0');
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<char>((i * 7919) % 251);
    writeGzip(path("full.gz"), idx({3000, 2, 3}, pixels));
    const std::string gz = readFile(path("full.gz"));
    writeFile(path("cut.gz"), gz.substr(0, gz.size() / 2));  // the deflate stream stops mid-way
    const QString e = QString::fromStdString(errorOf([&] { readIdx(path("cut.gz"), 3); }));
    QVERIFY2(e.startsWith(QString::fromStdString(path("cut.gz") + ": ")) &&
                 (e.contains("cannot read data: unexpected end of file") || e.contains("file is truncated in the data")),
             qPrintable(e));
    std::string flipped = gz;
    flipped[flipped.size() - 6] ^= 0x55;  // the stored length in the gzip trailer
    writeFile(path("crc.gz"), flipped);
    const QString c = QString::fromStdString(errorOf([&] { readIdx(path("crc.gz"), 3); }));
    QVERIFY2(c.contains("crc.gz: cannot read"), qPrintable(c));
  }

  void idxCountsAndLabels() {
    writeFile(path("i3.idx"), idx({3, 1, 1}, bytesFrom({0, 128, 255})));
    writeFile(path("l2.idx"), idx({2}, bytesFrom({0, 1})));
    QCOMPARE(QString::fromStdString(errorOf([&] { loadIdx(path("i3.idx"), path("l2.idx")); })),
             QString::fromStdString(path("i3.idx") + ": images and labels differ in count: expected 2 images, as " +
                                    path("l2.idx") + " has labels, got 3"));

    // A label byte with no class name is a bad row.
    writeFile(path("l3.idx"), idx({3}, bytesFrom({2, 11, 9})));
    IdxOptions options;
    options.labelNames = fashionMnistLabelNames();
    const QString expected = QString::fromStdString(path("l3.idx")) +
                             ": field 'label': record 1: label outside the label set: expected 0 to 9, got 11";
    QCOMPARE(QString::fromStdString(errorOf([&] { loadIdx(path("i3.idx"), path("l3.idx"), options); })), expected + kSkipHint);
    options.badRows = BadRows::Skip;
    const Dataset ds = loadIdx(path("i3.idx"), path("l3.idx"), options);
    QCOMPARE(labelsOf(ds), (QList<int>{2, 9}));
    QCOMPARE(ds.skippedRows, 1);
    QCOMPARE(QString::fromStdString(ds.skipped.front()), expected);
    QCOMPARE(ds.examples[1].pixels, std::vector<float>{1.0f});

    options.classes = {3, 12};
    QVERIFY(QString::fromStdString(errorOf([&] { loadIdx(path("i3.idx"), path("l3.idx"), options); }))
                .contains("class filter names a class the file does not have: expected 0 to 9, got 12"));
    options.classes = {3, 3};
    QVERIFY(QString::fromStdString(errorOf([&] { loadIdx(path("i3.idx"), path("l3.idx"), options); }))
                .contains("class filter names a class twice"));
    QVERIFY(QString::fromStdString(errorOf([&] { loadIdx(path("none.idx"), path("l3.idx")); })).contains("cannot open file"));
  }

  // ---- image folders ----

  void imageFolder() {
    const std::string root = path("folder");
    for (const char* dir : {"ant", "cat", "dog", ".hidden"}) QDir().mkpath(QString::fromStdString(root + "/" + dir));
    // 2x2 RGB: red, green / blue, white.
    writeFile(root + "/ant/a.ppm", "P6\n2 2\n255\n" + bytesFrom({255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255}));
    writeFile(root + "/cat/b.pgm", "P5\n4 4\n255\n" + std::string(16, '\x80'));  // 4x4 grey 128
    writeFile(root + "/cat/README.txt", "not an image");
    writeFile(root + "/dog/broken.png", "\x89PNG\r\n\x1a\n garbage");
    writeFile(root + "/dog/c.PPM", "P6\n2 2\n255\n" + std::string(12, '\x40'));  // upper-case extension
    writeFile(root + "/dog/d.gif", std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00;", 14));  // named, so reported
    writeFile(root + "/.hidden/h.ppm", "P6\n1 1\n255\n" + std::string(3, '\0'));

    ImageFolderOptions options;
    options.size = 2;
    options.badRows = BadRows::Skip;
    const Dataset ds = loadImageFolder(root, options);
    QCOMPARE(ds.labelNames, (std::vector<std::string>{"ant", "cat", "dog"}));
    QCOMPARE(ds.numLabels, 3);
    QCOMPARE(labelsOf(ds), (QList<int>{0, 1, 2}));
    QCOMPARE(ds.skippedRows, 2);
    QCOMPARE(QString::fromStdString(ds.skipped[0]), QString::fromStdString(root + "/dog/broken.png: unreadable image: PNG: file is truncated"));
    QCOMPARE(QString::fromStdString(ds.skipped[1]),
             QString::fromStdString(root + "/dog/d.gif: unreadable image: GIF images are not supported: convert them to PNG"));
    QCOMPARE(ds.channels, 3);
    QCOMPARE(ds.height, 2);
    QCOMPARE(QString::fromStdString(ds.name), QString("folder"));
    // Planar CHW: R plane 1 0 0 1, G plane 0 1 0 1, B plane 0 0 1 1.
    QCOMPARE(ds.examples[0].pixels, (std::vector<float>{1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1}));
    // The constant 4x4 grey image resized to 2x2 stays 128 in each of the three channels.
    for (float v : ds.examples[1].pixels) QVERIFY(near(v, 128.0 / 255.0));
    QCOMPARE(ds.examples[2].pixels, std::vector<float>(12, 64.0f / 255.0f));

    // Grey from RGB as stb converts it: (77 R + 150 G + 29 B) >> 8, so red 76, green 149,
    // blue 28, white 255; normalised with mean 0.5 and std 0.25.
    options.channels = 1;
    options.mean = {0.5};
    options.std = {0.25};
    const Dataset grey = loadImageFolder(root, options);
    const std::vector<double> bytes{76, 149, 28, 255};
    for (size_t i = 0; i < 4; ++i) QVERIFY(near(grey.examples[0].pixels[i], (bytes[i] / 255.0 - 0.5) / 0.25));

    // Per-channel normalisation.
    options.channels = 3;
    options.mean = {0.5, 0.0, 1.0};
    options.std = {0.5, 2.0, 1.0};
    const Dataset perChannel = loadImageFolder(root, options);
    QCOMPARE(perChannel.examples[0].pixels, (std::vector<float>{1, -1, -1, 1, 0, 0.5f, 0, 0.5f, -1, -1, 0, 0}));

    options.badRows = BadRows::Fail;
    QVERIFY(QString::fromStdString(errorOf([&] { loadImageFolder(root, options); }))
                .startsWith(QString::fromStdString(root + "/dog/broken.png: unreadable image: ")));
  }

  // An evaluation folder with fewer classes infers its own sorted names (cat, fox: fox = 1), but
  // the model learned the training folder's numbering (cat, dog, fox: fox = 2).
  // adoptTrainingLabels re-numbers by folder name; a class the training folder lacks is an error.
  void imageFolderEvalTakesTrainingClasses() {
    const std::string train = path("cls_train"), eval = path("cls_eval"), extra = path("cls_extra");
    auto image = [&](const std::string& file, int grey) { writeFile(file, "P5\n1 1\n255\n" + bytesFrom({grey})); };
    for (const char* c : {"cat", "dog", "fox"}) QDir().mkpath(QString::fromStdString(train + "/" + c));
    image(train + "/cat/1.pgm", 10);
    image(train + "/dog/1.pgm", 20);
    image(train + "/fox/1.pgm", 30);
    for (const char* c : {"cat", "fox"}) QDir().mkpath(QString::fromStdString(eval + "/" + c));
    image(eval + "/cat/1.pgm", 11);
    image(eval + "/fox/1.pgm", 31);
    image(eval + "/fox/2.pgm", 32);
    ImageFolderOptions options;
    options.size = 1;
    options.channels = 1;
    const Dataset t = loadImageFolder(train, options);
    Dataset e = loadImageFolder(eval, options);
    QCOMPARE(labelsOf(e), (QList<int>{0, 1, 1}));  // on its own
    adoptTrainingLabels(e, t, "class folder", "give the training folder a sub-folder of that name");
    QCOMPARE(labelsOf(e), (QList<int>{0, 2, 2}));
    QCOMPARE(e.labelNames, (std::vector<std::string>{"cat", "dog", "fox"}));
    QCOMPARE(e.numLabels, 3);
    QVERIFY(near(e.examples[1].pixels[0], 31.0 / 255.0));  // the examples themselves are untouched

    for (const char* c : {"bird", "cat"}) QDir().mkpath(QString::fromStdString(extra + "/" + c));
    image(extra + "/bird/1.pgm", 40);
    image(extra + "/cat/1.pgm", 41);
    Dataset x = loadImageFolder(extra, options);
    QCOMPARE(QString::fromStdString(errorOf([&] { adoptTrainingLabels(x, t, "class folder", "give the training folder a sub-folder of that name"); })),
             QString::fromStdString(extra + ": evaluation class folder not in the training set: expected one of "
                                    "cat, dog, fox (from " + train + "), got 'bird' (give the training folder a sub-folder of that name)"));
    // An empty class folder in training is enough: class folders are classes even without images.
    QDir().mkpath(QString::fromStdString(train + "/bird"));
    const Dataset t2 = loadImageFolder(train, options);
    adoptTrainingLabels(x, t2, "class folder");
    QCOMPARE(labelsOf(x), (QList<int>{0, 1}));
    QCOMPARE(x.numLabels, 4);
  }

  // Found by fuzz/fuzz_image_folder (Debian's stb_image 2.27 behind the reader): each file alone
  // in a class folder must be refused with an fw::Error naming it. Before the fixes: a JPEG
  // Huffman table of 4080 codes written into 257 entries (also after padding between segments,
  // which stb skips), a Radiance file of width 0 resized (UBSan: NaN to int), a 16-bit PGM
  // converted to RGB as 8-bit (heap read past the buffer), a 68-byte PSD claiming 28 x 16777216
  // pixels decoded and resized (1.9 GB, minutes). Since session 8 JPEG goes to libjpeg-turbo,
  // which checks its tables, and HDR and PSD are not decoded at all (data/image_decode.h).
  void imageFolderFuzzFindings_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("error");
    const QByteArray counts(16, '\xff');
    QTest::newRow("JPEG Huffman table over 256 codes")
        << "x.jpg" << QByteArray("\xff\xd8\xff\xc4\x00\x13\x00", 7) + counts
        << "unreadable image: JPEG: Bogus Huffman table definition";
    QTest::newRow("JPEG Huffman table after padding")
        << "x.jpg" << QByteArray("\xff\xd8\xff\xdb\x00\x43\x00", 7) + QByteArray(64, '\x10') + "junk" +
                          QByteArray("\xff\xc4\x00\x13\x10", 5) + counts
        << "unreadable image: JPEG: Bogus Huffman table definition";
    QTest::newRow("Radiance width 0")
        << "x.hdr" << QByteArray("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X x\n") + QByteArray(16, '\x80')
        << "unreadable image: HDR images are not supported: convert them to PNG";
    QTest::newRow("16-bit PGM")
        << "x.pgm" << QByteArray("P5\n2 2\n65535\n") + QByteArray(8, '\x7f')
        << "unreadable image: 16-bit PNM (maximum value over 255) is not supported";
    QByteArray psd("8BPS\x00\x01\x00\x00\x00\x00\x00\x00\x00\x03\x01\x00\x00\x00\x00\x00\x00\x1c\x00\x08\x00\x03", 26);
    psd += QByteArray(12, '\0') + QByteArray(2, '\0') + QByteArray(28, '\x55');
    QTest::newRow("PSD of 16777216 rows")
        << "x.psd" << psd << "unreadable image: PSD images are not supported: convert them to PNG";
  }

  void imageFolderFuzzFindings() {
    QFETCH(QString, file);
    QFETCH(QByteArray, bytes);
    QFETCH(QString, error);
    const std::string root = path("fuzz_") + QTest::currentDataTag();
    QDir().mkpath(QString::fromStdString(root + "/cls"));
    const std::string image = root + "/cls/" + file.toStdString();
    writeFile(image, bytes.toStdString());
    ImageFolderOptions options;
    options.size = 4;
    QCOMPARE(QString::fromStdString(errorOf([&] { loadImageFolder(root, options); })),
             QString::fromStdString(image + ": ") + error + kSkipHint);
  }

  void imageFolderErrors() {
    const std::string empty = path("empty_folder");
    QDir().mkpath(QString::fromStdString(empty));
    QCOMPARE(QString::fromStdString(errorOf([&] { loadImageFolder(empty); })),
             QString::fromStdString(empty + ": image folder has no class sub-folders (expected one sub-folder per class)"));
    QCOMPARE(QString::fromStdString(errorOf([&] { loadImageFolder(path("nowhere")); })),
             QString::fromStdString(path("nowhere") + ": not a folder"));
    ImageFolderOptions options;
    options.channels = 5;
    QCOMPARE(QString::fromStdString(errorOf([&] { loadImageFolder(empty, options); })),
             QString("field 'channels': images have 1 to 4 channels: got 5"));
    options.channels = 3;
    options.mean = {0.1, 0.2};
    QCOMPARE(QString::fromStdString(errorOf([&] { loadImageFolder(empty, options); })),
             QString("field 'mean': image normalisation needs one value or one per channel: expected 1 or 3 values, got 2"));
    options.mean = {0.0};
    options.std = {0.0};
    QVERIFY(QString::fromStdString(errorOf([&] { loadImageFolder(empty, options); })).contains("needs std > 0"));
  }
};

QTEST_APPLESS_MAIN(TestImages)
#include "tst_images.moc"
