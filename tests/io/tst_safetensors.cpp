// safetensors: round trips of every dtype, zero-copy reads, the fixtures, and every kind of
// broken file rejected with an error that names the file (and the tensor).
#include "io/safetensors.h"
#include "support/test_support.h"
#include "util/error.h"

#include <cstring>

using namespace fw::io;

namespace {

// A file made by hand: header JSON and a data section of `dataBytes` bytes.
std::string handMade(const std::string& header, size_t dataBytes, uint64_t claimedLen = 0) {
  uint64_t len = claimedLen ? claimedLen : header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = char((len >> (8 * i)) & 0xFF);
  return out + header + std::string(dataBytes, '\x01');
}

}  // namespace

class TestSafetensors : public QObject {
  Q_OBJECT
private slots:
  void roundTripEveryAtenDtype();
  void readsAreZeroCopyAndWritable();
  void metadataRoundTrip();
  void widenedDtypes();
  void readsFixtureCheckpoint();
  void rejectsBrokenFiles_data();
  void rejectsBrokenFiles();
  void rejectsMissingFile();
  void writerRejectsDuplicateNames();
};

void TestSafetensors::roundTripEveryAtenDtype() {
  fw::test::TempDir dir;
  NamedTensors in = {
      {"f32", at::randn({3, 4})},
      {"f64", at::randn({2}, at::kDouble)},
      {"f16", at::randn({5}).to(at::kHalf)},
      {"bf16", at::randn({2, 3}).to(at::kBFloat16)},
      {"i64", at::arange(7, at::kLong)},
      {"i32", at::arange(-3, 3, at::kInt)},
      {"i16", at::arange(4, at::kShort)},
      {"i8", at::arange(-4, 4, at::kChar)},
      {"u8", at::arange(9, at::kByte)},
      {"bool", at::tensor({1, 0, 1}, at::kByte).to(at::kBool)},
      {"scalar", at::tensor(3.5f).reshape({})},
      {"empty", at::empty({0, 4})},
      {"c64", at::randn({3}, at::kComplexFloat)},
      {"strided", at::randn({4, 6}).t()},  // written contiguous
  };
  saveSafetensors(dir.file("a.safetensors"), in);
  auto f = SafetensorsFile::open(dir.file("a.safetensors"));
  QCOMPARE(int(f.tensors().size()), int(in.size()));
  for (const auto& [name, t] : in) {
    auto got = f.tensor(name);
    QCOMPARE(got.scalar_type(), t.scalar_type());
    QCOMPARE(got.sizes().vec(), t.sizes().vec());
    QVERIFY2(at::equal(got, t.contiguous()), name.c_str());
  }
  QCOMPARE(f.info("bf16").dtype, StDtype::BF16);
  QCOMPARE(f.info("f32").end - f.info("f32").begin, uint64_t(48));
}

void TestSafetensors::readsAreZeroCopyAndWritable() {
  fw::test::TempDir dir;
  saveSafetensors(dir.file("z.safetensors"), {{"w", at::ones({256})}});
  auto f = SafetensorsFile::open(dir.file("z.safetensors"));
  auto a = f.tensor("w"), b = f.tensor("w");
  QCOMPARE(a.data_ptr(), b.data_ptr());  // both views of the mapping
  a.mul_(2);  // copy-on-write: the file is untouched
  QCOMPARE(SafetensorsFile::open(dir.file("z.safetensors")).tensor("w").sum().item<float>(), 256.f);
  // The mapping outlives the file object while a tensor holds it.
  at::Tensor kept;
  {
    auto g = SafetensorsFile::open(dir.file("z.safetensors"));
    kept = g.tensor("w");
  }
  QCOMPARE(kept.sum().item<float>(), 256.f);
}

void TestSafetensors::metadataRoundTrip() {
  fw::test::TempDir dir;
  saveSafetensors(dir.file("m.safetensors"), {{"x", at::zeros({1})}}, {{"format", "pt"}, {"note", "é"}});
  auto f = SafetensorsFile::open(dir.file("m.safetensors"));
  QCOMPARE(f.metadata().at("format"), std::string("pt"));
  QCOMPARE(f.metadata().at("note"), std::string("é"));
}

void TestSafetensors::widenedDtypes() {
  // U16, U32, F8 are not ATen types in LibTorch 1.13: converted on read.
  fw::test::TempDir dir;
  std::string header = R"({"u16":{"dtype":"U16","shape":[2],"data_offsets":[0,4]},)"
                       R"("u32":{"dtype":"U32","shape":[1],"data_offsets":[4,8]},)"
                       R"("e4m3":{"dtype":"F8_E4M3","shape":[3],"data_offsets":[8,11]},)"
                       R"("e5m2":{"dtype":"F8_E5M2","shape":[2],"data_offsets":[11,13]}})";
  std::string data;
  auto put16 = [&](uint16_t v) { data += char(v & 0xFF); data += char(v >> 8); };
  put16(65535);
  put16(7);
  uint32_t big = 4000000000u;
  data.append(reinterpret_cast<const char*>(&big), 4);
  data += char(0x38);  // E4M3 1.0
  data += char(0xC0);  // E4M3 -2.0
  data += char(0x7F);  // E4M3 NaN
  data += char(0x3C);  // E5M2 1.0
  data += char(0x7C);  // E5M2 +inf
  auto bytes = handMade(header, 0) + data;
  fw::test::writeBytes(dir.file("w.safetensors"), bytes);
  auto f = SafetensorsFile::open(dir.file("w.safetensors"));
  QCOMPARE(f.tensor("u16")[0].item<int32_t>(), 65535);
  QCOMPARE(f.tensor("u32")[0].item<int64_t>(), int64_t(4000000000LL));
  auto e4 = f.tensor("e4m3");
  QCOMPARE(e4[0].item<float>(), 1.f);
  QCOMPARE(e4[1].item<float>(), -2.f);
  QVERIFY(std::isnan(e4[2].item<float>()));
  QCOMPARE(f.tensor("e5m2")[0].item<float>(), 1.f);
  QVERIFY(std::isinf(f.tensor("e5m2")[1].item<float>()));
}

void TestSafetensors::readsFixtureCheckpoint() {
  auto path = fw::test::sharedPath("fixtures/hf/bert/model/model.safetensors");
  if (path.empty()) QSKIP("../shared/fixtures/hf/bert/model/model.safetensors not found (set FW_SHARED_DIR)");
  auto f = SafetensorsFile::open(path);
  QVERIFY(f.contains("bert.encoder.layer.0.attention.self.query.weight"));
  auto w = f.tensor("bert.encoder.layer.0.attention.self.query.weight");
  QCOMPARE(w.sizes().vec(), (std::vector<int64_t>{32, 32}));
  QVERIFY(at::isfinite(w).all().item<bool>());
}

void TestSafetensors::rejectsBrokenFiles_data() {
  QTest::addColumn<QByteArray>("bytes");
  QTest::addColumn<QStringList>("messageParts");
  const std::string good = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  auto row = [](const char* name, const std::string& bytes, QStringList parts) {
    QTest::newRow(name) << QByteArray(bytes.data(), int(bytes.size())) << parts;
  };
  row("empty file", "", {"file too short"});
  row("truncated header length", "\x05\x00\x00", {"file too short"});
  row("header longer than file", handMade(good, 8, 4096), {"header runs past the end", "truncated"});
  row("oversized header", handMade(good, 8, 1ull << 40), {"header too large"});
  row("truncated data", handMade(good, 5), {"tensor 'a'", "past the end of the file", "truncated"});
  row("not JSON", handMade("{nope", 0), {"not valid JSON"});
  row("JSON array", handMade("[1,2]", 0), {"not a JSON object"});
  // Finding 22 (docs/reliability.md): refused after parsing, before anything recurses into it.
  row("header nested 50,000 deep", handMade(R"({"a":)" + std::string(50000, '[') + std::string(50000, ']') + "}", 0),
      {"safetensors header: JSON nested deeper than 10000 levels"});
  row("wrong dtype name", handMade(R"({"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}})", 8),
      {"tensor 'a'", "unsupported dtype 'F31'"});
  row("dtype disagrees with span", handMade(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", 8),
      {"tensor 'a'", "byte span disagrees", "expected 16 bytes", "got 8 bytes"});
  row("negative shape", handMade(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
      {"tensor 'a'", "non-negative"});
  row("huge shape overflow", handMade(R"({"a":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,8]}})", 8),
      {"tensor 'a'", "byte span disagrees"});
  row("overlapping offsets",
      handMade(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
      {"tensor 'b'", "overlaps"});
  row("hole between tensors",
      handMade(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12),
      {"tensor 'b'", "hole"});
  row("trailing bytes", handMade(good, 12), {"belong to no tensor"});
  row("reversed offsets", handMade(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8), {"reversed"});
  row("missing offsets", handMade(R"({"a":{"dtype":"F32","shape":[2]}})", 8), {"tensor 'a'", "data_offsets"});
  row("metadata not strings", handMade(R"({"__metadata__":{"k":1}})", 0), {"metadata values must be strings"});
}

void TestSafetensors::rejectsBrokenFiles() {
  QFETCH(QByteArray, bytes);
  QFETCH(QStringList, messageParts);
  fw::test::TempDir dir;
  const auto path = dir.file("broken.safetensors");
  fw::test::writeBytes(path, bytes.toStdString());
  try {
    auto f = SafetensorsFile::open(path);
    QFAIL("opened a broken file");
  } catch (const fw::Error& e) {
    const QString msg = e.what();
    QVERIFY2(msg.startsWith(QString::fromStdString(path)), qPrintable(msg));  // names the file
    for (const auto& part : messageParts) QVERIFY2(msg.contains(part), qPrintable(msg + " lacks: " + part));
  }
}

void TestSafetensors::rejectsMissingFile() {
  FW_EXPECT_ERROR(SafetensorsFile::open("/nonexistent/x.safetensors"), "/nonexistent/x.safetensors", "cannot open");
  fw::test::TempDir dir;
  saveSafetensors(dir.file("ok.safetensors"), {{"a", at::zeros({1})}});
  auto f = SafetensorsFile::open(dir.file("ok.safetensors"));
  FW_EXPECT_ERROR(f.tensor("b"), "no such tensor", "'b'", "ok.safetensors");
}

void TestSafetensors::writerRejectsDuplicateNames() {
  fw::test::TempDir dir;
  FW_EXPECT_ERROR(saveSafetensors(dir.file("d.safetensors"), {{"a", at::zeros({1})}, {"a", at::zeros({1})}}),
                  "duplicate tensor name", "'a'");
  FW_EXPECT_ERROR(saveSafetensors(dir.file("/no/such/dir/x.safetensors"), {{"a", at::zeros({1})}}), "cannot create file");
}

QTEST_APPLESS_MAIN(TestSafetensors)
#include "tst_safetensors.moc"
