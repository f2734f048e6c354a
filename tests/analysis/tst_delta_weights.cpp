// ΔW per layer: the adapters of the shared fixtures (FourierFT with its positions, LoRA of rank 4),
// merged layers still reporting W0, layer selection by dotted names, and W − W0 for full
// fine-tuning with errors that name the layer.
#include "adapters/adapted_linear.h"
#include "adapters/adapter_folder.h"
#include "adapters/inject.h"
#include "analysis/delta_weights.h"
#include "analysis/rank_stats.h"
#include "models/checkpoint.h"
#include "models/model_adapters.h"
#include "support/test_support.h"
#include "support/toy_model.h"
#include "util/error.h"

using namespace fw::analysis;

namespace {

std::string fixture(const std::string& rel) { return fw::test::sharedPath("fixtures/hf/" + rel); }

fw::models::LoadedModel bertWith(const std::string& adapter) {
  auto loaded = fw::models::loadPretrained(fixture("bert/model"));
  if (!adapter.empty()) fw::models::attachAdapterFolder(*loaded.model, fw::adapters::readAdapterFolder(fixture(adapter)));
  return loaded;
}

}  // namespace

class TestDeltaWeights : public QObject {
  Q_OBJECT
private slots:
  void initTestCase();
  void adapterFixtures_data();
  void adapterFixtures();
  void loraFixtureHasRankFour_data();
  void loraFixtureHasRankFour();
  void mergedLayerKeepsW0();
  void layerSelection_data();
  void layerSelection();
  void fullFineTuning();
  void fullFineTuningNamesTheLayer();
};

void TestDeltaWeights::initTestCase() {
  if (fixture("bert/fourierft").empty()) QSKIP("../shared/fixtures/hf not found (set FW_SHARED_DIR): fixtures missing");
}

void TestDeltaWeights::adapterFixtures_data() {
  QTest::addColumn<QString>("folder");
  QTest::addColumn<QString>("method");
  QTest::newRow("bert fourierft") << "bert/fourierft" << "fourierft";
  QTest::newRow("bert lora") << "bert/lora" << "lora";
}

void TestDeltaWeights::adapterFixtures() {
  QFETCH(QString, folder);
  QFETCH(QString, method);
  auto loaded = bertWith(folder.toStdString());
  const auto deltas = adapterDeltas(*loaded.model);
  const std::vector<std::string> names = {"bert.encoder.layer.0.attention.self.query", "bert.encoder.layer.0.attention.self.value",
                                          "bert.encoder.layer.1.attention.self.query", "bert.encoder.layer.1.attention.self.value"};
  QCOMPARE(int(deltas.size()), 4);
  QCOMPARE(adaptedLayerNames(*loaded.model), names);
  auto linears = fw::adapters::adaptedLinears(*loaded.model);
  for (size_t i = 0; i < deltas.size(); ++i) {
    const auto& d = deltas[i];
    QCOMPARE(d.layer, names[i]);
    QCOMPARE(d.method, method.toStdString());
    QCOMPARE(d.delta.sizes().vec(), (std::vector<int64_t>{32, 32}));
    QCOMPARE(d.delta.scalar_type(), at::kFloat);
    QCOMPARE(d.positions.defined(), method == "fourierft");
    if (d.positions.defined()) QCOMPARE(d.positions.sizes().vec(), (std::vector<int64_t>{2, 48}));
    for (auto& [name, lin] : linears) {
      if (name != d.layer) continue;
      QVERIFY(at::equal(d.delta, lin->adapter()->deltaWeight()));
      QVERIFY(at::equal(d.base, lin->baseWeight()));
      // Copies: changing the model afterwards leaves them alone.
      QVERIFY(d.base.data_ptr() != lin->weight.data_ptr());
    }
    QVERIFY(d.delta.abs().max().item<double>() > 0);
  }
}

void TestDeltaWeights::loraFixtureHasRankFour_data() {
  QTest::addColumn<QString>("arch");
  QTest::addColumn<int>("layers");
  QTest::newRow("bert") << "bert" << 4;
  QTest::newRow("roberta") << "roberta" << 4;
  QTest::newRow("gpt2 (fan_in_fan_out, 96x32)") << "gpt2" << 2;
  QTest::newRow("llama (v_proj 16x32)") << "llama" << 4;
  QTest::newRow("vit") << "vit" << 4;
}

void TestDeltaWeights::loraFixtureHasRankFour() {
  QFETCH(QString, arch);
  QFETCH(int, layers);
  const std::string a = arch.toStdString();
  auto loaded = fw::models::loadPretrained(fixture(a + "/model"));
  fw::models::attachAdapterFolder(*loaded.model, fw::adapters::readAdapterFolder(fixture(a + "/lora")));
  const auto deltas = adapterDeltas(*loaded.model);
  QCOMPARE(int(deltas.size()), layers);
  for (const auto& d : deltas) {
    QCOMPARE(d.method, std::string("lora"));
    const auto s = rankStats(d.delta, d.base);
    QCOMPARE((s.singular > 1e-5 * s.spectralNorm).sum().item<int64_t>(), int64_t(4));
    QVERIFY(s.effectiveRank <= 4 + 1e-6);
    QVERIFY(s.normRatio > 0);
  }
}

void TestDeltaWeights::mergedLayerKeepsW0() {
  auto loaded = bertWith("bert/fourierft");
  const auto before = adapterDeltas(*loaded.model);
  for (auto& [name, lin] : fw::adapters::adaptedLinears(*loaded.model))
    if (lin->adapter()) lin->merge(/*keepOriginal=*/false);
  const auto after = adapterDeltas(*loaded.model);
  QCOMPARE(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    QVERIFY(at::equal(after[i].delta, before[i].delta));
    QVERIFY(fw::test::maxAbsDiff(after[i].base, before[i].base) <= 1e-6);
  }
}

void TestDeltaWeights::layerSelection_data() {
  QTest::addColumn<QStringList>("patterns");
  QTest::addColumn<int>("selected");
  QTest::newRow("everything") << QStringList{} << 4;
  QTest::newRow("query") << QStringList{"query"} << 2;
  QTest::newRow("layer.1") << QStringList{"layer.1"} << 2;
  QTest::newRow("layer.10 is not layer.1") << QStringList{"layer.10"} << 0;
  QTest::newRow("full name") << QStringList{"bert.encoder.layer.1.attention.self.value"} << 1;
  QTest::newRow("dotted run") << QStringList{"0.attention.self.value"} << 1;
  QTest::newRow("two patterns") << QStringList{"layer.0.attention.self.query", "value"} << 3;
  QTest::newRow("part of a segment does not match") << QStringList{"quer"} << 0;
}

void TestDeltaWeights::layerSelection() {
  QFETCH(QStringList, patterns);
  QFETCH(int, selected);
  std::vector<std::string> p;
  for (const auto& s : patterns) p.push_back(s.toStdString());
  auto loaded = bertWith("bert/lora");
  QCOMPARE(int(adapterDeltas(*loaded.model, p).size()), selected);
}

void TestDeltaWeights::fullFineTuning() {
  auto tuned = bertWith("");
  auto base = bertWith("");
  const std::string changed = "bert.encoder.layer.1.attention.output.dense";
  at::Tensor step = at::full({32, 32}, 0.25f);
  {
    at::NoGradGuard noGrad;
    for (auto& [name, lin] : fw::adapters::adaptedLinears(*tuned.model))
      if (name == changed) lin->weight.add_(step);
  }
  const auto all = fullDeltas(*tuned.model, *base.model);
  QCOMPARE(all.size(), fw::adapters::adaptedLinears(*tuned.model).size());  // every linear, head included
  int found = 0;
  for (const auto& d : all) {
    QCOMPARE(d.method, std::string("full"));
    QVERIFY(!d.positions.defined());
    if (d.layer == changed) {
      ++found;
      FW_EXPECT_CLOSE(d.delta, step, 1e-6);
    } else {
      QCOMPARE(d.delta.abs().max().item<double>(), 0.0);
    }
  }
  QCOMPARE(found, 1);
  // Filtered, and the head the base initialised fresh left out by its parameter name.
  QCOMPARE(int(fullDeltas(*tuned.model, *base.model, {"attention.output.dense"}).size()), 2);
  const auto noHead = fullDeltas(*tuned.model, *base.model, {}, {"classifier.weight"});
  QCOMPARE(noHead.size(), all.size() - 1);
  for (const auto& d : noHead) QVERIFY(d.layer != "classifier");
}

void TestDeltaWeights::fullFineTuningNamesTheLayer() {
  auto tuned = fw::test::makeToyModel(fw::test::bertLikeLeaves(1, 8));
  auto wider = fw::test::makeToyModel(fw::test::bertLikeLeaves(1, 16));
  FW_EXPECT_ERROR(fullDeltas(*tuned, *wider), "bert.encoder.layer.0.attention.self.query.weight", "[8, 8]", "[16, 16]");
  auto fewer = fw::test::makeToyModel({{"bert.encoder.layer.0.attention.self.query", 8, 8}});
  FW_EXPECT_ERROR(fullDeltas(*tuned, *fewer), "no linear layer", "bert.encoder.layer.0.attention.self.key.weight");
  // A model without adapters has no adapter deltas.
  QVERIFY(adapterDeltas(*tuned).empty());
}

QTEST_APPLESS_MAIN(TestDeltaWeights)
#include "tst_delta_weights.moc"
