// Injection by module name with PEFT's rules (name suffixes, a regex, all-linear, exclusions,
// layers_to_transform, per-module patterns), freezing, and the trainable-parameter summary.
#include "adapters/inject.h"
#include "support/test_support.h"
#include "support/toy_model.h"
#include "util/error.h"

#include <algorithm>

using namespace fw::adapters;

namespace {

// Parsed keeping the key order, as readAdapterFolder reads adapter_config.json.
AdapterConfig configFrom(const char* json) { return AdapterConfig::fromJson(nlohmann::ordered_json::parse(json), "test.json"); }

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
  void patternsFollowPeft_data();
  void patternsFollowPeft();
  void patternsKeepFileOrder();
  void refusesNFrequencyOfTheWholeLayer();
  void summaryCounts();
  void noMatchNamesTheModules();
  void skipsTargetsTrainedInFull();
  void layersToTransformFollowsPeft();
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

void TestInject::patternsFollowPeft_data() {
  // Expected values are what PEFT picks: n_frequency_pattern with FourierFTModel's rule
  // (re.match(rf".*\.{key}$", name), else pattern.get(name)), rank_pattern with get_pattern_key
  // (re.match(rf"(.*\.)?({key})$", name), else pattern.get(name)); the first key in file order.
  QTest::addColumn<QString>("config");
  QTest::addColumn<QString>("module");
  QTest::addColumn<qlonglong>("value");  // n for FourierFT, r for LoRA
  const QString q0 = "bert.encoder.layer.0.attention.self.query", v0 = "bert.encoder.layer.0.attention.self.value";
  const QString q1 = "bert.encoder.layer.1.attention.self.query", v1 = "bert.encoder.layer.1.attention.self.value";
  const char* fullName = R"({"peft_type":"FOURIERFT","n_frequency":20,"target_modules":["query","value"],
                             "n_frequency_pattern":{"bert.encoder.layer.1.attention.self.value":7}})";
  // No regex match (".*\.bert..." needs a dot before "bert"), but PEFT's .get(name) finds the key.
  QTest::newRow("fourierft full name: the exact key") << fullName << v1 << 7LL;
  QTest::newRow("fourierft full name: other layer default") << fullName << v0 << 20LL;
  const char* suffix = R"({"peft_type":"FOURIERFT","n_frequency":20,"target_modules":["query","value"],
                           "n_frequency_pattern":{"value":7}})";
  QTest::newRow("fourierft suffix key") << suffix << v0 << 7LL;
  QTest::newRow("fourierft suffix key, query default") << suffix << q1 << 20LL;
  // A regex match comes before the exact key, whatever the order: FourierFT gives 3 where
  // LoRA's rule (the full name matches its regex first) gives 7.
  const char* both = R"({"peft_type":"FOURIERFT","n_frequency":20,"target_modules":["query","value"],
                         "n_frequency_pattern":{"bert.encoder.layer.1.attention.self.value":7,"value":3}})";
  QTest::newRow("fourierft regex match before the exact key") << both << v1 << 3LL;
  QTest::newRow("lora full name matches first")
      << R"({"peft_type":"LORA","r":4,"target_modules":["query","value"],
             "rank_pattern":{"bert.encoder.layer.1.attention.self.value":7,"value":3}})" << v1 << 7LL;
  // The key is not grouped in FourierFT's regex: ".*\.query|value$" is ".*\.query" or "value$".
  const char* alternation = R"({"peft_type":"FOURIERFT","n_frequency":20,"target_modules":["query","value"],
                                "n_frequency_pattern":{"query|value":5}})";
  QTest::newRow("fourierft alternation, query") << alternation << q0 << 5LL;
  QTest::newRow("fourierft alternation, value not matched") << alternation << v0 << 20LL;
  QTest::newRow("lora alternation is grouped")
      << R"({"peft_type":"LORA","r":4,"target_modules":["query","value"],"rank_pattern":{"query|value":2}})" << v0 << 2LL;
  // The first key in file order wins, not the most specific one.
  const char* order = R"({"peft_type":"LORA","r":4,"target_modules":["query"],
                          "rank_pattern":{"query":2,"layer.0.attention.self.query":6}})";
  QTest::newRow("lora first key in file order") << order << q0 << 2LL;
  QTest::newRow("lora first key in file order, layer 1") << order << q1 << 2LL;
  QTest::newRow("lora reversed order")
      << R"({"peft_type":"LORA","r":4,"target_modules":["query"],
             "rank_pattern":{"layer.0.attention.self.query":6,"query":2}})" << q0 << 6LL;
  QTest::newRow("fourierft first key in file order")
      << R"({"peft_type":"FOURIERFT","n_frequency":20,"target_modules":["query"],
             "n_frequency_pattern":{"query":9,"layer.0.attention.self.query":11}})" << q0 << 9LL;
}

void TestInject::patternsFollowPeft() {
  QFETCH(QString, config);
  QFETCH(QString, module);
  QFETCH(qlonglong, value);
  auto cfg = configFrom(config.toUtf8().constData());
  const auto name = module.toStdString();
  const bool fourier = cfg.peft_type == PeftType::FourierFT;
  QCOMPARE(fourier ? cfg.nFrequencyFor(name) : cfg.rankFor(name), int64_t(value));
  // The injected layer has that size: n spectrum entries, or r·(in + out) LoRA weights.
  auto model = fw::test::makeToyModel(fw::test::bertLikeLeaves(2, 16));
  auto s = injectAdapters(*model, cfg, {}, "classifier");
  auto it = std::find_if(s.layers.begin(), s.layers.end(), [&](const AdaptedLayer& l) { return l.name == name; });
  QVERIFY(it != s.layers.end());
  QCOMPARE(it->trainable, fourier ? int64_t(value) : int64_t(value) * (16 + 16));
}

void TestInject::patternsKeepFileOrder() {
  // Written back in the order read (toOrderedJson), so the file gives the same first match.
  auto cfg = configFrom(R"({"peft_type":"LORA","r":4,"target_modules":["query"],
                            "rank_pattern":{"query":2,"layer.0.attention.self.query":6},
                            "alpha_pattern":{"self.query":3,"attention.self.query":5}})");
  QCOMPARE(cfg.lora.rank_pattern, (PatternList<int64_t>{{"query", 2}, {"layer.0.attention.self.query", 6}}));
  QCOMPARE(cfg.alphaFor("bert.encoder.layer.0.attention.self.query"), 3.0);
  const std::string text = cfg.toOrderedJson().dump();
  QVERIFY2(text.find(R"("rank_pattern":{"query":2,"layer.0.attention.self.query":6})") != std::string::npos, text.c_str());
  QVERIFY2(text.find(R"("alpha_pattern":{"self.query":3.0,"attention.self.query":5.0})") != std::string::npos, text.c_str());
  auto again = AdapterConfig::fromJson(nlohmann::ordered_json::parse(text), "again.json");
  QCOMPARE(again.rankFor("bert.encoder.layer.0.attention.self.query"), int64_t(2));
  QCOMPARE(again.alphaFor("bert.encoder.layer.0.attention.self.query"), 3.0);
  // A wrong value type names the field.
  FW_EXPECT_ERROR(configFrom(R"({"peft_type":"LORA","target_modules":["query"],"rank_pattern":{"query":2.5}})"),
                  "test.json", "field 'rank_pattern'", "wrong type");
  FW_EXPECT_ERROR(configFrom(R"({"peft_type":"FOURIERFT","target_modules":["query"],"n_frequency_pattern":["query"]})"),
                  "field 'n_frequency_pattern'", "wrong type");
}

void TestInject::refusesNFrequencyOfTheWholeLayer() {
  // PEFT's update_layer raises when n_frequency >= in_features * out_features: 16 x 16 = 256.
  auto model = fw::test::makeToyModel(fw::test::bertLikeLeaves(1, 16));
  auto cfg = configFrom(R"({"peft_type":"FOURIERFT","n_frequency":20,"target_modules":["query","value"],
                            "n_frequency_pattern":{"value":256}})");
  FW_EXPECT_ERROR(injectAdapters(*model, cfg), "n_frequency out of range for layer 'bert.encoder.layer.0.attention.self.value'",
                  "16 x 16 = 256", "expected 1 to 255", "got 256", "n_frequency_pattern");
  auto fits = fw::test::makeToyModel(fw::test::bertLikeLeaves(1, 16));
  auto ok = configFrom(R"({"peft_type":"FOURIERFT","n_frequency":20,"target_modules":["query","value"],
                           "n_frequency_pattern":{"value":255}})");
  auto s = injectAdapters(*fits, ok);
  QCOMPARE(s.layers[1].trainable, int64_t(255));
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

// A module trained in full (modules_to_save), or one inside it, is never adapted, as in PEFT's
// check_target_module_exists: its adapter tensors would also be the saved module's parameters
// (writing the adapter failed after training with "duplicate tensor name").
void TestInject::skipsTargetsTrainedInFull() {
  auto model = fw::test::makeToyModel(fw::test::bertLikeLeaves(1, 8));
  auto itself = configFrom(R"({"peft_type":"LORA","r":2,"target_modules":["query","classifier"],"modules_to_save":["classifier"]})");
  injectAdapters(*model, itself);
  QCOMPARE(adaptedNames(*model), QStringList{"bert.encoder.layer.0.attention.self.query"});
  auto inside = fw::test::makeToyModel(fw::test::bertLikeLeaves(1, 8));
  auto above = configFrom(R"({"peft_type":"FOURIERFT","n_frequency":8,"target_modules":["query"],"modules_to_save":["attention"]})");
  FW_EXPECT_ERROR(injectAdapters(*inside, above), "target_modules match no linear module");
}

// PEFT's layers_to_transform filters the suffix matches only: a full name is taken as it is, and
// with target_modules a string (a regex, all-linear) its config refuses it.
void TestInject::layersToTransformFollowsPeft() {
  auto model = fw::test::makeToyModel(fw::test::bertLikeLeaves(2, 8));
  auto cfg = configFrom(R"({"peft_type":"LORA","r":2,"target_modules":["bert.encoder.layer.0.attention.self.query","value"],"layers_to_transform":[1]})");
  injectAdapters(*model, cfg);
  QCOMPARE(adaptedNames(*model), (QStringList{"bert.encoder.layer.0.attention.self.query", "bert.encoder.layer.1.attention.self.value"}));
  FW_EXPECT_ERROR(configFrom(R"({"peft_type":"LORA","r":2,"target_modules":"all-linear","layers_to_transform":[1]})"),
                  "test.json", "field 'layers_to_transform'", "cannot be used when target_modules is a string");
  FW_EXPECT_ERROR(configFrom(R"({"peft_type":"LORA","r":2,"target_modules":".*query","layers_pattern":"layer","layers_to_transform":[0]})"),
                  "cannot be used when target_modules is a string");
  FW_EXPECT_ERROR(configFrom(R"({"peft_type":"LORA","r":2,"target_modules":["query"],"layers_pattern":["layer"]})"),
                  "field 'layers_pattern'", "layers_pattern needs layers_to_transform");
  (void)configFrom(R"({"peft_type":"LORA","r":2,"target_modules":["query"],"layers_pattern":""})");  // "" is none
}

QTEST_APPLESS_MAIN(TestInject)
#include "tst_inject.moc"
