// Injection by module name with PEFT's rules (name suffixes, a regex, all-linear, exclusions,
// layers_to_transform, per-module patterns), freezing, and the trainable-parameter summary.
#include "adapters/inject.h"
#include "support/test_support.h"
#include "support/toy_model.h"
#include "util/error.h"

using namespace fw::adapters;

namespace {

AdapterConfig configFrom(const char* json) { return AdapterConfig::fromJson(nlohmann::json::parse(json), "test.json"); }

QStringList adaptedNames(torch::nn::Module& model) {
  QStringList out;
  for (auto& [name, lin] : adaptedLinears(model))
    if (lin->adapter()) out << QString::fromStdString(name);
  return out;
}

}  // namespace

class TestInject : public QObject {
  Q_OBJECT
private slots:
  void targetMatching_data();
  void targetMatching();
  void freezesAllButAdaptersAndSavedModules();
  void perModulePatterns();
  void summaryCounts();
  void noMatchNamesTheModules();
};

void TestInject::targetMatching_data() {
  QTest::addColumn<QString>("config");
  QTest::addColumn<QStringList>("adapted");
  const QString q0 = "bert.encoder.layer.0.attention.self.query", v0 = "bert.encoder.layer.0.attention.self.value";
  const QString q1 = "bert.encoder.layer.1.attention.self.query", v1 = "bert.encoder.layer.1.attention.self.value";
  const QString k0 = "bert.encoder.layer.0.attention.self.key", k1 = "bert.encoder.layer.1.attention.self.key";
  QTest::newRow("suffix list") << R"({"peft_type":"FOURIERFT","n_frequency":10,"target_modules":["query","value"]})"
                               << QStringList{q0, v0, q1, v1};
  QTest::newRow("suffix must be whole name segments")
      << R"({"peft_type":"FOURIERFT","n_frequency":10,"target_modules":["uery","self.value"]})" << QStringList{v0, v1};
  QTest::newRow("regex is a full match")
      << R"j({"peft_type":"LORA","r":2,"target_modules":".*layer\\.1\\..*(query|key)"})j" << QStringList{q1, k1};
  QTest::newRow("regex partial does not match") << R"({"peft_type":"LORA","r":2,"target_modules":"query"})" << QStringList{};
  QTest::newRow("all-linear leaves the head out")
      << R"({"peft_type":"LORA","r":2,"target_modules":"all-linear"})" << QStringList{q0, k0, v0, q1, k1, v1};
  QTest::newRow("exclude_modules") << R"({"peft_type":"LORA","r":2,"target_modules":"all-linear","exclude_modules":["key","value"]})"
                                   << QStringList{q0, q1};
  QTest::newRow("layers_to_transform") << R"({"peft_type":"FOURIERFT","n_frequency":10,"target_modules":["query","value"],"layers_to_transform":[1]})"
                                       << QStringList{q1, v1};
  QTest::newRow("layers_to_transform with pattern")
      << R"({"peft_type":"FOURIERFT","n_frequency":10,"target_modules":["query"],"layers_to_transform":0,"layers_pattern":"layer"})"
      << QStringList{q0};
}

void TestInject::targetMatching() {
  QFETCH(QString, config);
  QFETCH(QStringList, adapted);
  auto model = fw::test::makeToyModel(fw::test::bertLikeLeaves(2, 16));
  auto cfg = configFrom(config.toUtf8().constData());
  if (adapted.isEmpty()) {
    FW_EXPECT_ERROR(injectAdapters(*model, cfg, {}, "classifier"), "match no linear module");
    return;
  }
  injectAdapters(*model, cfg, {}, "classifier");
  QCOMPARE(adaptedNames(*model), adapted);
}

void TestInject::freezesAllButAdaptersAndSavedModules() {
  auto model = fw::test::makeToyModel(fw::test::bertLikeLeaves(2, 16));
  auto cfg = configFrom(R"({"peft_type":"FOURIERFT","n_frequency":20,"target_modules":["query","value"],"modules_to_save":["classifier"]})");
  injectAdapters(*model, cfg);
  QStringList trainable;
  for (const auto& p : model->named_parameters())
    if (p.value().requires_grad()) trainable << QString::fromStdString(p.key());
  QCOMPARE(trainable, (QStringList{"bert.encoder.layer.0.attention.self.query.fourierft_spectrum",
                                   "bert.encoder.layer.0.attention.self.value.fourierft_spectrum",
                                   "bert.encoder.layer.1.attention.self.query.fourierft_spectrum",
                                   "bert.encoder.layer.1.attention.self.value.fourierft_spectrum",
                                   "classifier.weight", "classifier.bias"}));
}

void TestInject::perModulePatterns() {
  auto model = fw::test::makeToyModel(fw::test::bertLikeLeaves(2, 16));
  auto cfg = configFrom(R"({"peft_type":"FOURIERFT","n_frequency":20,"target_modules":["query","value"],
                            "n_frequency_pattern":{"layer.1.attention.self.value":7}})");
  auto s = injectAdapters(*model, cfg);
  QCOMPARE(s.layers.size(), size_t(4));
  QCOMPARE(s.layers[3].name, std::string("bert.encoder.layer.1.attention.self.value"));
  QCOMPARE(s.layers[3].trainable, int64_t(7));
  QCOMPARE(s.layers[1].trainable, int64_t(20));

  auto model2 = fw::test::makeToyModel(fw::test::bertLikeLeaves(2, 16));
  auto lora = configFrom(R"({"peft_type":"LORA","r":4,"lora_alpha":8,"target_modules":["query"],
                             "rank_pattern":{"layer.0.attention.self.query":2},"alpha_pattern":{"query":1}})");
  auto s2 = injectAdapters(*model2, lora);
  QCOMPARE(s2.layers[0].trainable, int64_t(2 * 16 + 16 * 2));
  QCOMPARE(s2.layers[1].trainable, int64_t(4 * 16 + 16 * 4));
  QVERIFY(QString::fromStdString(s2.layers[0].settings).contains("alpha=1"));
}

void TestInject::summaryCounts() {
  auto model = fw::test::makeToyModel(fw::test::bertLikeLeaves(2, 32));
  auto cfg = configFrom(R"({"peft_type":"FOURIERFT","n_frequency":48,"target_modules":["query","value"],"modules_to_save":["classifier"]})");
  auto s = injectAdapters(*model, cfg);
  QCOMPARE(s.adapterParameters, int64_t(4 * 48));
  QCOMPARE(s.savedModuleParameters, int64_t(3 * 32 + 3));
  const int64_t base = 6 * (32 * 32 + 32) + 3 * 32 + 3;
  QCOMPARE(s.totalParameters, base + 4 * 48);
  const auto table = QString::fromStdString(s.table());
  QVERIFY2(table.contains("bert.encoder.layer.1.attention.self.value  32x32"), qPrintable(table));
  QVERIFY2(table.contains("fourierft: 4 layers, 192 adapter parameters + 99 in modules trained in full"), qPrintable(table));
}

void TestInject::noMatchNamesTheModules() {
  auto model = fw::test::makeToyModel(fw::test::bertLikeLeaves(1, 8));
  auto cfg = configFrom(R"({"peft_type":"LORA","r":2,"target_modules":["q_proj","v_proj"]})");
  FW_EXPECT_ERROR(injectAdapters(*model, cfg), "target_modules match no linear module", "q_proj",
                  "bert.encoder.layer.0.attention.self.query");
}

QTEST_APPLESS_MAIN(TestInject)
#include "tst_inject.moc"
