// Analysis snapshots: written and read back unchanged, listed by method and step, broken files
// rejected naming the file and the field, and the policy's cadence and layer choice.
#include "adapters/adapter_folder.h"
#include "analysis/delta_weights.h"
#include "analysis/snapshot.h"
#include "io/atomic_file.h"
#include "models/checkpoint.h"
#include "models/model_adapters.h"
#include "runs/run_folder.h"
#include "support/test_support.h"
#include "util/error.h"
#include "util/files.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <filesystem>

using namespace fw::analysis;
namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& rel) { return fw::test::sharedPath("fixtures/hf/" + rel); }

LayerDelta lowRank(const std::string& name, int64_t rows, int64_t cols, int64_t r, bool withBase, uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  LayerDelta d;
  d.layer = name;
  d.method = "lora";
  d.delta = at::mm(at::randn({rows, r}, g, at::kFloat), at::randn({r, cols}, g, at::kFloat));
  if (withBase) d.base = at::randn({rows, cols}, g, at::kFloat);
  return d;
}

// Same values, NaN equal to NaN.
bool sameNumber(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

void compareLayers(const LayerSnapshot& a, const LayerSnapshot& b) {
  QCOMPARE(a.name, b.name);
  QCOMPARE(a.method, b.method);
  QCOMPARE(a.shape, b.shape);
  QCOMPARE(a.singularValues, b.singularValues);
  QCOMPARE(a.effectiveRank, b.effectiveRank);
  QCOMPARE(a.energy90, b.energy90);
  QCOMPARE(a.energy99, b.energy99);
  QCOMPARE(a.stableRank, b.stableRank);
  QVERIFY(sameNumber(a.normRatio, b.normRatio));
  QCOMPARE(a.deltaNorm, b.deltaNorm);
  QCOMPARE(a.capturedEnergy, b.capturedEnergy);
  QCOMPARE(a.truncated, b.truncated);
  QCOMPARE(a.k, b.k);
  QCOMPARE(a.svd, b.svd);
  QCOMPARE(a.fourier90, b.fourier90);
  QCOMPARE(a.fourier99, b.fourier99);
  QCOMPARE(a.seconds, b.seconds);
}

Snapshot sample(const std::string& method, int64_t step) {
  Snapshot s;
  s.method = method;
  s.step = step;
  LayerSnapshot l;
  l.name = "layer";
  l.method = method;
  l.shape = {4, 4};
  l.singularValues = {2, 1};
  l.k = 4;
  s.layers.push_back(l);
  return s;
}

}  // namespace

class TestSnapshot : public QObject {
  Q_OBJECT
private slots:
  void roundTrip();
  void keepsAtMost256SingularValues();
  void listsByMethodAndStep();
  void writesIntoTheRunFolder();
  void rejectsBrokenFiles_data();
  void rejectsBrokenFiles();
  void rejectsBadNames();
  void cadence_data();
  void cadence();
  void policyUpdatesAndClamps();
  void chooseLayers();
  void snapshotOfFixture();
};

void TestSnapshot::roundTrip() {
  SnapshotOptions o;
  std::vector<LayerDelta> deltas = {lowRank("a.query", 40, 30, 3, true, 1), lowRank("a.value", 30, 40, 30, false, 2),
                                    lowRank("b.query", 64, 64, 64, true, 3)};
  o.rank.fullLimit = 48;  // the 64x64 layer goes through the truncated SVD
  o.rank.k = 8;
  const auto s = makeSnapshot("lora", 120, deltas, o);
  QCOMPARE(int(s.layers.size()), 3);
  QCOMPARE(s.layers[0].singularValues.size(), size_t(30));
  QVERIFY(std::isnan(s.layers[1].normRatio));  // no base
  QVERIFY(s.layers[2].truncated);
  QCOMPARE(s.layers[2].svd, std::string("randomized"));
  QCOMPARE(s.layers[0].svd, std::string("exact"));
  QCOMPARE(s.layers[2].k, int64_t(8));
  QCOMPARE(s.layers[2].energy90, kBeyondTopK);  // a random 64x64 needs more than 8 values
  QVERIFY(s.layers[0].fourier90 > 0 && s.layers[0].fourier99 >= s.layers[0].fourier90);
  QVERIFY(s.seconds > 0 && s.seconds >= s.layers[0].seconds);

  fw::test::TempDir dir;
  const auto path = writeSnapshot(dir.file("analysis"), s);
  QCOMPARE(path, dir.file("analysis") + "/lora/step-00000120.json");
  const auto j = nlohmann::json::parse(fw::readTextFile(path));
  QVERIFY(j["layers"][1]["norm_ratio"].is_null());
  QVERIFY(j["layers"][2]["energy90"].is_null());
  QCOMPARE(j["format"].get<std::string>(), std::string(kSnapshotFormat));
  const auto back = readSnapshot(path);
  QCOMPARE(back.method, s.method);
  QCOMPARE(back.step, s.step);
  QCOMPARE(back.seconds, s.seconds);
  QCOMPARE(back.layers.size(), s.layers.size());
  for (size_t i = 0; i < s.layers.size(); ++i) compareLayers(back.layers[i], s.layers[i]);

  // Without the Fourier figures, they are left out of the file.
  o.fourier = false;
  const auto plain = makeSnapshot("lora", 121, {deltas[0]}, o);
  QCOMPARE(plain.layers[0].fourier90, int64_t(-1));
  QVERIFY(!plain.layers[0].toJson().contains("fourier90"));
  compareLayers(LayerSnapshot::fromJson(plain.layers[0].toJson(), "x", "layers[0]"), plain.layers[0]);
}

void TestSnapshot::keepsAtMost256SingularValues() {
  const auto s = analyzeLayer(lowRank("big", 300, 280, 280, true, 4));
  QCOMPARE(s.k, int64_t(280));
  QCOMPARE(s.singularValues.size(), kSnapshotSingularValues);
  QVERIFY(s.singularValues.front() >= s.singularValues.back());
}

void TestSnapshot::listsByMethodAndStep() {
  fw::test::TempDir dir;
  const auto analysis = dir.file("analysis");
  QVERIFY(listSnapshots(analysis).empty());  // no folder yet
  for (int64_t step : {100, 20, 300}) writeSnapshot(analysis, sample("fourierft", step));
  writeSnapshot(analysis, sample("lora", 50));
  // What the listing must ignore: a writer's temporary file, other files, a stray folder.
  fw::test::writeBytes(analysis + "/lora/step-00000060.json.tmp.123", "{");
  fw::test::writeBytes(analysis + "/lora/notes.txt", "x");
  fw::test::writeBytes(analysis + "/lora/step-abc.json", "{}");
  fs::create_directories(analysis + "/lora/step-00000070.json.d");
  fw::test::writeBytes(analysis + "/summary.json", "{}");

  const auto all = listSnapshots(analysis);
  QCOMPARE(int(all.size()), 4);
  const std::vector<std::pair<std::string, int64_t>> expected = {{"fourierft", 20}, {"fourierft", 100}, {"fourierft", 300}, {"lora", 50}};
  for (size_t i = 0; i < all.size(); ++i) {
    QCOMPARE(all[i].method, expected[i].first);
    QCOMPARE(all[i].step, expected[i].second);
    QCOMPARE(readSnapshot(all[i].path).step, expected[i].second);
  }
  const auto lora = listSnapshots(analysis, "lora");
  QCOMPARE(int(lora.size()), 1);
  QCOMPARE(lora[0].path, snapshotPath(analysis, "lora", 50));
  QVERIFY(listSnapshots(analysis, "full").empty());
  // Rewriting a step replaces it.
  auto again = sample("lora", 50);
  again.layers[0].singularValues = {3};
  writeSnapshot(analysis, again);
  QCOMPARE(readSnapshot(lora[0].path).layers[0].singularValues, std::vector<double>{3});
  QCOMPARE(int(listSnapshots(analysis, "lora").size()), 1);
}

void TestSnapshot::writesIntoTheRunFolder() {
  fw::test::TempDir dir;
  auto run = fw::runs::RunFolder::create(dir.path(), "run", nlohmann::json::object());
  const auto path = writeSnapshot(run, sample("fourierft", 7));
  QCOMPARE(path, run.analysisDir() + "/fourierft/step-00000007.json");
  QCOMPARE(int(listSnapshots(run).size()), 1);
  QCOMPARE(listSnapshots(run, "fourierft")[0].step, int64_t(7));
}

void TestSnapshot::rejectsBrokenFiles_data() {
  QTest::addColumn<QString>("text");
  QTest::addColumn<QString>("part");
  const std::string good = sample("lora", 1).toJson().dump();
  auto without = [&](const char* key) {
    auto j = nlohmann::json::parse(good);
    j["layers"][0].erase(key);
    return QString::fromStdString(j.dump());
  };
  auto with = [&](const char* key, const nlohmann::json& v) {
    auto j = nlohmann::json::parse(good);
    j[key] = v;
    return QString::fromStdString(j.dump());
  };
  QTest::newRow("not JSON") << "{\"format\": " << ".json:1:";
  QTest::newRow("another format") << with("format", "something") << "not an analysis snapshot";
  QTest::newRow("newer version") << with("version", 99) << "newer version";
  QTest::newRow("layer without shape") << without("shape") << "layers[0].shape";
  QTest::newRow("layer without name") << without("name") << "layers[0].name";
  QTest::newRow("step is text") << with("step", "ten") << "step";
  QTest::newRow("layers not a list") << with("layers", 3) << "layers";
  // Text fields of the wrong type: named (nlohmann's bare type_error said neither file nor field).
  QTest::newRow("format is a number") << with("format", 1) << "not an analysis snapshot";
  auto layerField = [&](const char* key, const nlohmann::json& v) {
    auto j = nlohmann::json::parse(good);
    j["layers"][0][key] = v;
    return QString::fromStdString(j.dump());
  };
  QTest::newRow("layer method is a number") << layerField("method", 3) << "layers[0].method";
  QTest::newRow("layer svd is a list") << layerField("svd", nlohmann::json::array()) << "layers[0].svd";
  auto badShape = nlohmann::json::parse(good);
  badShape["layers"][0]["shape"] = {4, 4, 4};
  QTest::newRow("3-D shape") << QString::fromStdString(badShape.dump()) << "[out, in]";
}

void TestSnapshot::rejectsBrokenFiles() {
  QFETCH(QString, text);
  QFETCH(QString, part);
  fw::test::TempDir dir;
  const auto path = dir.file("step-00000001.json");
  fw::test::writeBytes(path, text.toStdString());
  const std::string fragment = part.toStdString();  // alive for the whole check
  FW_EXPECT_ERROR(readSnapshot(path), "step-00000001.json", fragment.c_str());
}

void TestSnapshot::rejectsBadNames() {
  QCOMPARE(snapshotPath("/a", "fourierft", 100), std::string("/a/fourierft/step-00000100.json"));
  QCOMPARE(snapshotPath("/a", "lora", 123456789), std::string("/a/lora/step-123456789.json"));
  FW_EXPECT_ERROR(snapshotPath("/a", "x/y", 1), "one folder name", "x/y");
  FW_EXPECT_ERROR(snapshotPath("/a", "", 1), "one folder name");
  FW_EXPECT_ERROR(snapshotPath("/a", "lora", -1), "step");
}

void TestSnapshot::cadence_data() {
  QTest::addColumn<double>("snapshot");  // seconds per snapshot
  QTest::addColumn<double>("step");      // seconds per training step
  QTest::addColumn<double>("budget");
  QTest::addColumn<int>("every");
  QTest::newRow("0.5 s / 0.1 s at 5 %: exactly 100") << 0.5 << 0.1 << 0.05 << 100;
  QTest::newRow("0.3 s / 0.1 s: 60") << 0.3 << 0.1 << 0.05 << 60;
  QTest::newRow("0.26 s / 0.1 s: 52 -> 60") << 0.26 << 0.1 << 0.05 << 60;
  QTest::newRow("0.11 s / 0.1 s: 22 -> 25") << 0.11 << 0.1 << 0.05 << 25;
  QTest::newRow("cheap: every step") << 0.01 << 1.0 << 0.05 << 1;
  QTest::newRow("0.03 s / 0.1 s: 6") << 0.03 << 0.1 << 0.05 << 6;
  QTest::newRow("9.1 s full SVD / 0.2 s: 910 -> 1000") << 9.1 << 0.2 << 0.05 << 1000;
  QTest::newRow("at 1 %: 0.5 s / 0.1 s -> 500") << 0.5 << 0.1 << 0.01 << 500;
  QTest::newRow("unknown step time: minimum") << 0.5 << 0.0 << 0.05 << 1;
}

void TestSnapshot::cadence() {
  QFETCH(double, snapshot);
  QFETCH(double, step);
  QFETCH(double, budget);
  QFETCH(int, every);
  const int64_t k = SnapshotPolicy::cadence(snapshot, step, budget);
  QCOMPARE(k, int64_t(every));
  if (step > 0) QVERIFY(snapshot / (double(k) * step) <= budget * (1 + 1e-9));
}

void TestSnapshot::policyUpdatesAndClamps() {
  SnapshotPolicy p;  // 5 %
  QCOMPARE(p.every(), int64_t(1));
  QCOMPARE(p.update(0.5, 0.1), int64_t(100));
  QVERIFY(p.due(100) && p.due(300) && !p.due(150) && !p.due(0));
  QVERIFY(std::abs(p.share(0.5, 0.1) - 0.05) <= 1e-12);
  QCOMPARE(p.update(0.05, 0.1), int64_t(10));  // a cheaper snapshot: more often
  SnapshotPolicy bounded(0.05, 20, 50);
  QCOMPARE(bounded.update(0.5, 0.1), int64_t(50));
  QCOMPARE(bounded.update(0.001, 0.1), int64_t(20));
  FW_EXPECT_ERROR(SnapshotPolicy(0.0), "budget");
  FW_EXPECT_ERROR(SnapshotPolicy(0.05, 10, 5), "max_every");
}

void TestSnapshot::chooseLayers() {
  const std::vector<std::string> adapted = {"m.layer.0.q", "m.layer.0.v", "m.layer.1.q", "m.layer.1.v"};
  QCOMPARE(SnapshotPolicy::chooseLayers(adapted), (std::vector<std::string>{"m.layer.0.q", "m.layer.1.v"}));
  QCOMPARE(SnapshotPolicy::chooseLayers({"only"}), std::vector<std::string>{"only"});
  QVERIFY(SnapshotPolicy::chooseLayers({}).empty());
  // Chosen names keep model order and appear once.
  QCOMPARE(SnapshotPolicy::chooseLayers(adapted, {"v", "layer.0"}),
           (std::vector<std::string>{"m.layer.0.q", "m.layer.0.v", "m.layer.1.v"}));
  FW_EXPECT_ERROR(SnapshotPolicy::chooseLayers(adapted, {"q", "layer.7"}), "layer.7", "m.layer.0.q");
}

void TestSnapshot::snapshotOfFixture() {
  if (fixture("bert/fourierft").empty()) QSKIP("../shared/fixtures/hf not found (set FW_SHARED_DIR)");
  auto loaded = fw::models::loadPretrained(fixture("bert/model"));
  fw::models::attachAdapterFolder(*loaded.model, fw::adapters::readAdapterFolder(fixture("bert/fourierft")));
  const auto layers = SnapshotPolicy::chooseLayers(adaptedLayerNames(*loaded.model));
  QCOMPARE(layers, (std::vector<std::string>{"bert.encoder.layer.0.attention.self.query",
                                            "bert.encoder.layer.1.attention.self.value"}));
  const auto s = makeSnapshot("fourierft", 0, adapterDeltas(*loaded.model, layers));
  QCOMPARE(int(s.layers.size()), 2);
  for (const auto& l : s.layers) {
    QCOMPARE(l.method, std::string("fourierft"));
    QCOMPARE(l.k, int64_t(32));
    QVERIFY(!l.truncated);
    QVERIFY(l.fourier99 <= 96);  // at most 48 positions and their mirrors
    QVERIFY(l.normRatio > 0 && std::isfinite(l.normRatio));
    QVERIFY(l.effectiveRank > 1);
  }
}

QTEST_APPLESS_MAIN(TestSnapshot)
#include "tst_snapshot.moc"
