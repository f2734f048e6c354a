// Experiment files: the shipped ones parse, the resolved form round-trips, --set overrides,
// and every mistake is an error that names the field and the file.
#include "support/test_support.h"
#include "train/experiment.h"
#include "util/error.h"
#include "util/files.h"

#include <filesystem>

using namespace fw;
using nlohmann::json;

namespace {

json minimal() {
  return json::parse(R"({"schema_version":1,"name":"t","model":{"preset":"vit-fmnist"},
    "dataset":{"kind":"idx_images","train":"imgs-images-idx3-ubyte.gz"},
    "methods":[{"type":"fourierft","n_frequency":10,"lr":0.1,"target_modules":["query"]}]})");
}

std::string writeTemp(const test::TempDir& dir, const json& j) {
  const auto path = dir.file("e.json");
  test::writeBytes(path, j.dump());
  return path;
}

}  // namespace

class TestExperiment : public QObject {
  Q_OBJECT
private slots:
  void shippedExperimentsParse();
  void resolvedFormRoundTrips();
  void defaultsFilled();
  void overrides();
  void pathsResolved();
  void boundariesAccepted();
  void mistakesNameFieldAndFile_data();
  void mistakesNameFieldAndFile();
};

void TestExperiment::shippedExperimentsParse() {
  int count = 0;
  for (const auto& f : std::filesystem::directory_iterator(FW_SOURCE_DIR "/experiments")) {
    if (f.path().extension() != ".json") continue;
    ++count;
    try {
      train::loadExperiment(f.path().string());
    } catch (const Error& e) {
      QFAIL(e.what());
    }
  }
  QVERIFY(count >= 1);
  auto d = train::loadExperiment(FW_SOURCE_DIR "/experiments/default.json");
  QCOMPARE(d.methods.size(), size_t(4));
  QVERIFY(d.model.pretrain.enabled);
  QVERIFY(d.model.pretrain.cache.find("~") == std::string::npos);  // ~ expanded
}

void TestExperiment::resolvedFormRoundTrips() {
  auto e = train::Experiment::fromJson(minimal(), "e.json");
  auto j = e.toJson();
  QCOMPARE(train::Experiment::fromJson(j, "e.json").toJson(), j);
}

void TestExperiment::defaultsFilled() {
  auto e = train::Experiment::fromJson(minimal(), "e.json");
  QCOMPARE(e.batch_size, int64_t(32));
  QCOMPARE(e.warmup_ratio, 0.06);
  QCOMPARE(e.methods[0].name, std::string("fourierft"));  // the type when unnamed
  QCOMPARE(e.methods[0].scaling, 150.0);
  QCOMPARE(e.methods[0].random_loc_seed, int64_t(2024));
  QCOMPARE(e.dataset.bad_rows, std::string("fail"));
}

void TestExperiment::overrides() {
  test::TempDir dir;
  const auto path = writeTemp(dir, minimal());
  auto e = train::loadExperiment(path, {"methods.0.lr=0.5", "epochs=3", "dataset.classes=[5,6]", "name=renamed",
                                        "methods.1={\"type\":\"lora\",\"r\":2,\"lr\":0.01,\"target_modules\":[\"value\"]}"});
  QCOMPARE(e.methods[0].lr, 0.5);
  QCOMPARE(e.epochs, int64_t(3));
  QCOMPARE(e.dataset.classes, (std::vector<int64_t>{5, 6}));
  QCOMPARE(e.name, std::string("renamed"));
  QCOMPARE(e.methods.size(), size_t(2));
  QCOMPARE(e.methods[1].r, int64_t(2));
  FW_EXPECT_ERROR(train::loadExperiment(path, {"epoch=3"}), "field 'epoch'", "unknown field", path.c_str());
  FW_EXPECT_ERROR(train::loadExperiment(path, {"epochs"}), "override must be key=value");
  FW_EXPECT_ERROR(train::loadExperiment(path, {"methods.5.lr=1"}), "list index out of range");
  FW_EXPECT_ERROR(train::loadExperiment(path, {"epochs=\"two\""}), "field 'epochs'", "wrong type", "expected an integer");
  // Found by fuzzing: a bare --set value with invalid UTF-8 escaped as nlohmann's type_error.
  FW_EXPECT_ERROR(train::loadExperiment(path, {"name=ab\xff\xfe"}), "--set name", "not valid UTF-8");
  FW_EXPECT_ERROR(train::loadExperiment(path, {"methods.0x.lr=1"}), "--set methods.0x.lr", "not a list index", "0x");
  // Finding 22: a value nested past 10,000 levels (its dump would recurse past the stack).
  FW_EXPECT_ERROR(train::loadExperiment(path, {"name=" + std::string(20000, '[') + std::string(20000, ']')}),
                  "field '--set name'", "JSON nested deeper than 10000 levels");
}

void TestExperiment::pathsResolved() {
  test::TempDir dir;
  auto j = minimal();
  j["dataset"]["eval"] = "sub/eval-images-idx3-ubyte.gz";
  const auto path = writeTemp(dir, j);
  auto e = train::loadExperiment(path);
  QCOMPARE(e.dataset.train, dir.path() + "/imgs-images-idx3-ubyte.gz");
  QCOMPARE(e.dataset.eval, dir.path() + "/sub/eval-images-idx3-ubyte.gz");
  QCOMPARE(train::resolvePath("~/x", "/tmp"), std::string(std::getenv("HOME")) + "/x");
  QCOMPARE(train::resolvePath("/abs/y", "/tmp"), std::string("/abs/y"));
}

// The edges of the ranges checked at parse time are themselves valid.
void TestExperiment::boundariesAccepted() {
  auto j = minimal();
  j.merge_patch(json::parse(R"({"adam_beta1":0,"adam_beta2":0.9999,"adam_eps":1e-12,"weight_decay":0,"eval_every":0,
    "checkpoint_every":0,"model":{"preset":"vit-fmnist","pretrain":{"dataset":{"kind":"idx_images","train":"x"},
    "cache":"c","weight_decay":0,"warmup_ratio":0,"epochs":1,"batch_size":1,"lr":1e-6}}})"));
  auto e = train::Experiment::fromJson(j, "e.json");
  QCOMPARE(e.adam_beta1, 0.0);
  QCOMPARE(e.adam_beta2, 0.9999);
  QCOMPARE(e.adam_eps, 1e-12);
  QCOMPARE(e.model.pretrain.batch_size, int64_t(1));
  QCOMPARE(e.model.pretrain.lr, 1e-6);
}

void TestExperiment::mistakesNameFieldAndFile_data() {
  QTest::addColumn<QString>("patch");  // JSON merge patch applied to minimal()
  QTest::addColumn<QStringList>("parts");
  QTest::newRow("unknown top-level field") << R"({"epochz":3})"
                                           << QStringList{"field 'epochz'", "unknown field", "did you mean 'epochs'?"};
  QTest::newRow("unknown method field") << R"({"methods":[{"type":"lora","r":2,"lr":0.1,"target_modules":["q"],"rank":4}]})"
                                        << QStringList{"field 'methods.0.rank'", "unknown field", "expected ", "target_modules"};
  QTest::newRow("misspelt required field") << R"({"model":null,"modle":{"preset":"vit-fmnist"}})"
                                           << QStringList{"field 'model': missing field", "the file has 'modle': misspelt?"};
  QTest::newRow("typo of a field already there") << R"({"epochs":3,"epoch":3})"
                                                << QStringList{"field 'epoch'", "unknown field: expected ", "epochs"};
  QTest::newRow("misspelt dataset field") << R"({"dataset":{"kind":"idx_images","train":"x","clases":[1]}})"
                                          << QStringList{"field 'dataset.clases'", "did you mean 'dataset.classes'?"};
  QTest::newRow("wrong type") << R"({"batch_size":"32"})" << QStringList{"field 'batch_size'", "wrong type", "got \"32\""};
  QTest::newRow("unknown method type") << R"({"methods":[{"type":"vera","lr":0.1}]})"
                                       << QStringList{"field 'methods.0.type'", "unknown value 'vera'", "fourierft, lora, full, head-only"};
  QTest::newRow("no targets") << R"({"methods":[{"type":"lora","lr":0.1}]})" << QStringList{"field 'methods.0.target_modules'"};
  QTest::newRow("duplicate method names") << R"({"methods":[{"type":"head-only"},{"type":"head-only"}]})"
                                          << QStringList{"two methods share the name 'head-only'"};
  QTest::newRow("bad dataset kind") << R"({"dataset":{"kind":"parquet","train":"x"}})" << QStringList{"field 'dataset.kind'", "parquet"};
  QTest::newRow("both preset and checkpoint") << R"({"model":{"preset":"gpt2","checkpoint":"/x"}})"
                                              << QStringList{"exactly one of model.preset and model.checkpoint"};
  QTest::newRow("schema version") << R"({"schema_version":2})" << QStringList{"field 'schema_version'", "expected 1"};
  QTest::newRow("negative lr") << R"({"methods":[{"type":"full","lr":-1}]})"
                               << QStringList{"field 'methods.0.lr'", "must be positive: got -1"};
  QTest::newRow("zero epochs") << R"({"epochs":0})" << QStringList{"field 'epochs'", "must be positive: got 0"};
  QTest::newRow("warmup ratio") << R"({"warmup_ratio":1.5})" << QStringList{"field 'warmup_ratio'"};
  QTest::newRow("precision") << R"({"precision":"fp8"})" << QStringList{"field 'precision'", "fp32, bf16"};
  // Fields that were accepted unchecked (review): each refused at parse time, named.
  const QString pretrain = R"({"model":{"preset":"vit-fmnist","pretrain":{"dataset":{"kind":"idx_images","train":"x"},"cache":"c",%1}}})";
  QTest::newRow("pretrain epochs") << pretrain.arg(R"("epochs":0)") << QStringList{"field 'model.pretrain.epochs'", "must be positive"};
  QTest::newRow("pretrain batch size") << pretrain.arg(R"("batch_size":-4)")
                                       << QStringList{"field 'model.pretrain.batch_size'", "must be positive"};
  QTest::newRow("pretrain lr") << pretrain.arg(R"("lr":0)") << QStringList{"field 'model.pretrain.lr'", "must be positive"};
  QTest::newRow("pretrain weight decay") << pretrain.arg(R"("weight_decay":-0.1)")
                                         << QStringList{"field 'model.pretrain.weight_decay'", "must not be negative"};
  QTest::newRow("pretrain warmup ratio") << pretrain.arg(R"("warmup_ratio":1)")
                                         << QStringList{"field 'model.pretrain.warmup_ratio'", "must be in [0, 1)"};
  QTest::newRow("eval every") << R"({"eval_every":-1})" << QStringList{"field 'eval_every'", "must not be negative"};
  QTest::newRow("checkpoint every") << R"({"checkpoint_every":-5})"
                                    << QStringList{"field 'checkpoint_every'", "must not be negative"};
  QTest::newRow("adam beta1") << R"({"adam_beta1":1.0})" << QStringList{"field 'adam_beta1'", "must be in [0, 1)"};
  QTest::newRow("adam beta2") << R"({"adam_beta2":-0.5})" << QStringList{"field 'adam_beta2'", "must be in [0, 1)"};
  QTest::newRow("adam eps") << R"({"adam_eps":0})" << QStringList{"field 'adam_eps'", "must be positive"};
  QTest::newRow("weight decay") << R"({"weight_decay":-0.01})" << QStringList{"field 'weight_decay'", "must not be negative"};
  // Found by fuzzing: a float in an integer list was converted to int64 (undefined behaviour).
  QTest::newRow("float in an integer list") << R"({"dataset":{"kind":"idx_images","train":"x","classes":[5,7.922337203685478e19]}})"
                                            << QStringList{"field 'dataset.classes'", "expected a list of integers"};
  QTest::newRow("integer out of range") << R"({"batch_size":18446744073709551615})"
                                        << QStringList{"field 'batch_size'", "expected an integer"};
}

void TestExperiment::mistakesNameFieldAndFile() {
  QFETCH(QString, patch);
  QFETCH(QStringList, parts);
  auto j = minimal();
  j.merge_patch(json::parse(patch.toStdString()));
  test::TempDir dir;
  const auto path = writeTemp(dir, j);
  try {
    train::loadExperiment(path);
    QFAIL("a broken experiment was accepted");
  } catch (const Error& e) {
    const QString msg = e.what();
    QVERIFY2(msg.startsWith(QString::fromStdString(path)), qPrintable(msg));
    for (const auto& p : parts) QVERIFY2(msg.contains(p), qPrintable(msg + "  -- lacks: " + p));
    QVERIFY2(!msg.contains(".000000"), qPrintable(msg));  // numbers as written, not std::to_string's
  }
}

QTEST_APPLESS_MAIN(TestExperiment)
#include "tst_experiment.moc"
