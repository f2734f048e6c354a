// PEFT adapter folders: the fixtures made by peft 0.21 read with their settings and tensors,
// written back identical, native folders keeping their positions, and every broken folder
// rejected with an error that names the file.
#include "adapters/adapter_folder.h"
#include "adapters/fourierft_ops.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "support/test_support.h"
#include "support/toy_model.h"
#include "util/error.h"
#include "util/files.h"

#include <filesystem>

using namespace fw::adapters;
namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& rel) { return fw::test::sharedPath("fixtures/hf/" + rel); }

// Copies a fixture folder so a test may break it.
std::string copyFolder(const std::string& from, const std::string& to) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from)) fs::copy_file(e.path(), fs::path(to) / e.path().filename());
  return to;
}

void writeText(const std::string& path, const std::string& text) { fw::io::writeFileAtomic(path, text); }

}  // namespace

class TestAdapterFolder : public QObject {
  Q_OBJECT
private slots:
  void initTestCase();
  void readsFixtures_data();
  void readsFixtures();
  void peftRoundTripIsIdentical_data();
  void peftRoundTripIsIdentical();
  void appliesFixtureToModel();
  void nativeFolderKeepsPositions();
  void savedModulesRoundTrip();
  void allLinearRoundTrip_data();
  void allLinearRoundTrip();
  void patternOrderSurvivesFolder();
  void refusesSpectrumOfTheWholeLayer();
  void refusesRepeatedPositions();
  void rejectsBrokenFolders_data();
  void rejectsBrokenFolders();
  void describesFolder();
};

void TestAdapterFolder::initTestCase() {
  if (fixture("bert/fourierft").empty()) QSKIP("../shared/fixtures/hf not found (set FW_SHARED_DIR): adapter fixtures missing");
}

void TestAdapterFolder::readsFixtures_data() {
  QTest::addColumn<QString>("folder");
  QTest::addColumn<QString>("method");
  QTest::addColumn<QString>("firstModule");
  QTest::addColumn<int>("layers");
  QTest::addColumn<bool>("fanInFanOut");
  QTest::newRow("bert fourierft") << "bert/fourierft" << "fourierft" << "bert.encoder.layer.0.attention.self.query" << 4 << false;
  QTest::newRow("roberta fourierft") << "roberta/fourierft" << "fourierft" << "roberta.encoder.layer.0.attention.self.query" << 4 << false;
  QTest::newRow("gpt2 fourierft (fan_in_fan_out)") << "gpt2/fourierft" << "fourierft" << "transformer.h.0.attn.c_attn" << 2 << true;
  QTest::newRow("llama fourierft") << "llama/fourierft" << "fourierft" << "model.layers.0.self_attn.q_proj" << 4 << false;
  QTest::newRow("vit fourierft") << "vit/fourierft" << "fourierft" << "vit.layers.0.attention.q_proj" << 4 << false;
  QTest::newRow("bert lora") << "bert/lora" << "lora" << "bert.encoder.layer.0.attention.self.query" << 4 << false;
  QTest::newRow("gpt2 lora") << "gpt2/lora" << "lora" << "transformer.h.0.attn.c_attn" << 2 << true;
  QTest::newRow("llama lora (GQA v_proj 16x32)") << "llama/lora" << "lora" << "model.layers.0.self_attn.q_proj" << 4 << false;
}

void TestAdapterFolder::readsFixtures() {
  QFETCH(QString, folder);
  QFETCH(QString, method);
  QFETCH(QString, firstModule);
  QFETCH(int, layers);
  QFETCH(bool, fanInFanOut);
  auto f = readAdapterFolder(fixture(folder.toStdString()));
  QCOMPARE(int(f.layers.size()), layers);
  QCOMPARE(QString::fromStdString(f.layers[0].module), firstModule);
  QCOMPARE(f.config.fanInFanOut(), fanInFanOut);
  QVERIFY(!f.native);
  auto st = fw::io::SafetensorsFile::open(fixture(folder.toStdString()) + "/adapter_model.safetensors");
  if (method == "fourierft") {
    QCOMPARE(f.config.peft_type, PeftType::FourierFT);
    QCOMPARE(f.config.fourierft.n_frequency, int64_t(48));
    QCOMPARE(f.config.fourierft.scaling, 150.0);
    QCOMPARE(f.config.fourierft.random_loc_seed, uint64_t(2024));
    QCOMPARE(f.config.fourierft.init_weights, false);
    QVERIFY(at::equal(f.layers[0].spectrum, st.tensor(kPeftPrefix + f.layers[0].module + ".fourierft_spectrum")));
    QCOMPARE(f.trainableParameters(), int64_t(48 * layers));
  } else {
    QCOMPARE(f.config.peft_type, PeftType::LoRA);
    QCOMPARE(f.config.lora.r, int64_t(4));
    QCOMPARE(f.config.lora.lora_alpha, 8.0);
    QCOMPARE(f.config.lora.init_lora_weights, std::string("false"));
    QVERIFY(at::equal(f.layers[0].A, st.tensor(kPeftPrefix + f.layers[0].module + ".lora_A.weight")));
    QCOMPARE(f.layers[0].shape[1], int64_t(32));
  }
  if (folder == "llama/lora") QCOMPARE(f.layers[1].shape, (std::vector<int64_t>{16, 32}));  // v_proj with 1 KV head
  if (folder == "gpt2/lora") QCOMPARE(f.layers[0].shape, (std::vector<int64_t>{96, 32}));
}

void TestAdapterFolder::peftRoundTripIsIdentical_data() {
  QTest::addColumn<QString>("folder");
  for (const char* f : {"bert/fourierft", "gpt2/fourierft", "vit/fourierft", "bert/lora", "llama/lora"}) QTest::newRow(f) << f;
}

void TestAdapterFolder::peftRoundTripIsIdentical() {
  QFETCH(QString, folder);
  fw::test::TempDir dir;
  const auto src = fixture(folder.toStdString());
  auto f = readAdapterFolder(src);
  writeAdapterFolder(dir.path(), f, /*native=*/false);
  // Same tensor names, dtypes, shapes and bytes.
  auto a = fw::io::SafetensorsFile::open(src + "/adapter_model.safetensors");
  auto b = fw::io::SafetensorsFile::open(dir.file("adapter_model.safetensors"));
  QCOMPARE(b.names().size(), a.names().size());
  for (const auto& name : a.names()) {
    QVERIFY2(b.contains(name), name.c_str());
    QVERIFY2(at::equal(a.tensor(name), b.tensor(name)), name.c_str());
  }
  QCOMPARE(b.metadata().at("format"), std::string("pt"));
  // An equivalent config: every field PEFT wrote has the same value.
  auto before = nlohmann::json::parse(fw::readTextFile(src + "/adapter_config.json"));
  auto after = nlohmann::json::parse(fw::readTextFile(dir.file("adapter_config.json")));
  for (auto it = before.begin(); it != before.end(); ++it)
    QVERIFY2(after.contains(it.key()) && after[it.key()] == it.value(),
             qPrintable(QString::fromStdString(it.key() + ": " + it.value().dump() + " became " + after.value(it.key(), nlohmann::json()).dump())));
  QVERIFY(!fs::exists(dir.file("workbench.json")));  // plain PEFT layout
}

void TestAdapterFolder::appliesFixtureToModel() {
  // BERT's names and sizes (hidden 32): the adapter's ΔW is PEFT's formula with seed 2024.
  auto model = fw::test::makeToyModel(fw::test::bertLikeLeaves(2, 32));
  auto f = readAdapterFolder(fixture("bert/fourierft"));
  auto summary = applyAdapterFolder(*model, f);
  QCOMPARE(summary.adapterParameters, int64_t(4 * 48));
  auto lin = adaptedLinears(*model)[0].second;
  QCOMPARE(adaptedLinears(*model)[0].first, std::string("bert.encoder.layer.0.attention.self.query"));
  auto g = SpectrumGeometry::make(32, 32, frequencyPositions(32, 32, 48, 2024));
  FW_EXPECT_CLOSE(lin->adapter()->deltaWeight(), deltaWeightPeft(f.layers[0].spectrum, g, 150.0), 1e-6);

  auto loraModel = fw::test::makeToyModel(fw::test::bertLikeLeaves(2, 32));
  auto lf = readAdapterFolder(fixture("bert/lora"));
  applyAdapterFolder(*loraModel, lf);
  auto l0 = adaptedLinears(*loraModel)[0].second;
  FW_EXPECT_CLOSE(l0->adapter()->deltaWeight(), at::mm(lf.layers[0].B, lf.layers[0].A) * 2.0, 1e-6);
  // Captured back out of the model: the same tensors.
  auto captured = captureAdapters(*loraModel, lf.config);
  QVERIFY(at::equal(captured.layers[0].B, lf.layers[0].B));

  // A model whose layers are a different size is refused with both shapes.
  auto small = fw::test::makeToyModel(fw::test::bertLikeLeaves(2, 16));
  FW_EXPECT_ERROR(applyAdapterFolder(*small, lf), "LoRA weights do not fit the layer", "expected A [r, 16]");
  // A model without the modules is refused with the tensor's name.
  auto other = fw::test::makeToyModel(fw::test::bertLikeLeaves(2, 32, "roberta"));
  FW_EXPECT_ERROR(applyAdapterFolder(*other, f), "names a module the model does not have",
                  "base_model.model.bert.encoder.layer.0.attention.self.query");
  // Tensors for a module the config does not target (PEFT drops them as unexpected keys, and its
  // outputs would differ from ours): refused, naming the tensor.
  auto onlyQuery = lf;
  onlyQuery.config.target_modules.names = {"query"};
  auto third = fw::test::makeToyModel(fw::test::bertLikeLeaves(2, 32));
  FW_EXPECT_ERROR(applyAdapterFolder(*third, onlyQuery), "adapter file has tensors for a module its config does not target",
                  "base_model.model.bert.encoder.layer.0.attention.self.value");
}

void TestAdapterFolder::nativeFolderKeepsPositions() {
  fw::test::TempDir dir;
  auto model = fw::test::makeToyModel(fw::test::bertLikeLeaves(1, 24));
  auto cfg = AdapterConfig::fromJson(nlohmann::json::parse(
      R"({"peft_type":"FOURIERFT","n_frequency":10,"scaling":64,"random_loc_seed":5,"target_modules":["query"]})"));
  // Positions chosen by hand, not from the seed.
  auto pos = at::stack({at::arange(10, at::kLong), at::arange(10, at::kLong) * 2});
  injectAdapters(*model, cfg, {{"bert.encoder.layer.0.attention.self.query", pos}});
  auto saved = captureAdapters(*model, cfg);
  writeAdapterFolder(dir.path(), saved, /*native=*/true);
  QVERIFY(fs::exists(dir.file("workbench.json")));
  QVERIFY(fs::exists(dir.file("workbench_positions.safetensors")));

  auto back = readAdapterFolder(dir.path());
  QVERIFY(back.native);
  QVERIFY(at::equal(back.layers[0].positions, pos));
  QCOMPARE(back.layers[0].shape, (std::vector<int64_t>{24, 24}));
  auto model2 = fw::test::makeToyModel(fw::test::bertLikeLeaves(1, 24));
  applyAdapterFolder(*model2, back);
  auto a = adaptedLinears(*model)[0].second->adapter()->deltaWeight();
  auto b = adaptedLinears(*model2)[0].second->adapter()->deltaWeight();
  QVERIFY(at::equal(a, b));
  // PEFT reading the same folder sees only its own files: the spectrum and the seed.
  auto peftView = fw::io::SafetensorsFile::open(dir.file("adapter_model.safetensors"));
  QCOMPARE(peftView.names(), (std::vector<std::string>{"base_model.model.bert.encoder.layer.0.attention.self.query.fourierft_spectrum"}));
}

void TestAdapterFolder::savedModulesRoundTrip() {
  // The head trained in full (modules_to_save) travels with the adapter, under PEFT's key.
  fw::test::TempDir dir;
  auto model = fw::test::makeToyModel(fw::test::bertLikeLeaves(1, 16));
  auto cfg = AdapterConfig::fromJson(nlohmann::json::parse(
      R"({"peft_type":"LORA","r":2,"target_modules":["query"],"modules_to_save":["classifier"]})"));
  injectAdapters(*model, cfg);
  auto head = model->named_parameters()["classifier.weight"];
  {
    at::NoGradGuard g;
    head.fill_(0.25);
  }
  auto saved = captureAdapters(*model, cfg);
  QCOMPARE(saved.savedModules.size(), size_t(2));  // weight and bias
  writeAdapterFolder(dir.path(), saved, false);
  auto st = fw::io::SafetensorsFile::open(dir.file("adapter_model.safetensors"));
  QVERIFY(st.contains("base_model.model.classifier.weight"));
  auto back = readAdapterFolder(dir.path());
  QCOMPARE(back.trainableParameters(), int64_t(2 * 16 + 16 * 2 + 3 * 16 + 3));
  auto fresh = fw::test::makeToyModel(fw::test::bertLikeLeaves(1, 16));
  applyAdapterFolder(*fresh, back);
  QVERIFY(at::equal(fresh->named_parameters()["classifier.weight"], head));
  QVERIFY(fresh->named_parameters()["classifier.weight"].requires_grad());
  QVERIFY2(QString::fromStdString(describeAdapterFolder(back)).contains("trained in full: classifier (2 tensors, 51 parameters saved)"),
           describeAdapterFolder(back).c_str());
}

void TestAdapterFolder::allLinearRoundTrip_data() {
  QTest::addColumn<QString>("config");
  QTest::addColumn<bool>("native");
  const char* lora = R"({"peft_type":"LORA","r":2,"lora_alpha":4,"target_modules":"all-linear"})";
  const char* fourier = R"({"peft_type":"FOURIERFT","n_frequency":20,"scaling":64,"target_modules":"all-linear"})";
  QTest::newRow("lora, PEFT layout") << lora << false;
  QTest::newRow("lora, native") << lora << true;
  QTest::newRow("fourierft, PEFT layout") << fourier << false;
  QTest::newRow("fourierft, native") << fourier << true;
}

void TestAdapterFolder::allLinearRoundTrip() {
  // "all-linear" leaves the head out when injecting; loading the saved folder must leave it out
  // too (it used to count the head as targeted: "lacks tensors ... classifier").
  QFETCH(QString, config);
  QFETCH(bool, native);
  fw::test::TempDir dir;
  auto cfg = AdapterConfig::fromJson(nlohmann::json::parse(config.toStdString()));
  at::manual_seed(3);
  auto model = fw::test::makeToyModel(fw::test::bertLikeLeaves(2, 16));
  auto summary = injectAdapters(*model, cfg, {}, "classifier");
  QCOMPARE(summary.layers.size(), size_t(6));  // q, k, v of two layers; no classifier
  {
    at::NoGradGuard g;
    for (auto& [name, lin] : adaptedLinears(*model))
      if (auto* lo = dynamic_cast<LoRAAdapter*>(lin->adapter())) lo->B().normal_();  // B starts at zero
  }
  writeAdapterFolder(dir.path(), captureAdapters(*model, cfg), native);
  auto back = readAdapterFolder(dir.path());
  QCOMPARE(back.layers.size(), size_t(6));

  at::manual_seed(3);  // the same base weights
  auto fresh = fw::test::makeToyModel(fw::test::bertLikeLeaves(2, 16));
  auto loaded = applyAdapterFolder(*fresh, back, "classifier");
  QCOMPARE(loaded.adapterParameters, summary.adapterParameters);
  auto x = at::randn({3, 16});
  auto a = adaptedLinears(*model), b = adaptedLinears(*fresh);
  QCOMPARE(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    QCOMPARE(b[i].first, a[i].first);
    QCOMPARE(bool(b[i].second->adapter()), bool(a[i].second->adapter()));
    FW_EXPECT_CLOSE(b[i].second->forward(x), a[i].second->forward(x), 1e-6);
  }
  QVERIFY(!b.back().second->adapter());  // the classifier
  // Without the head's name the head counts as targeted, and its tensors are missing.
  at::manual_seed(3);
  auto headless = fw::test::makeToyModel(fw::test::bertLikeLeaves(2, 16));
  FW_EXPECT_ERROR(applyAdapterFolder(*headless, back), "lacks tensors for modules its config targets", "got classifier");
}

void TestAdapterFolder::patternOrderSurvivesFolder() {
  // PEFT takes the first rank_pattern key that matches, in the file's order: "query" (r=2) for
  // layer 0's query although the more specific key (r=6) sorts first.
  fw::test::TempDir dir;
  auto cfg = AdapterConfig::fromJson(nlohmann::ordered_json::parse(
      R"({"peft_type":"LORA","r":4,"target_modules":["query"],
          "rank_pattern":{"query":2,"layer.0.attention.self.query":6}})"));
  auto model = fw::test::makeToyModel(fw::test::bertLikeLeaves(2, 16));
  auto s = injectAdapters(*model, cfg);
  QCOMPARE(s.layers[0].trainable, int64_t(2 * (16 + 16)));
  writeAdapterFolder(dir.path(), captureAdapters(*model, cfg), false);
  const std::string text = fw::readTextFile(dir.file("adapter_config.json"));
  QVERIFY2(text.find("\"query\"") < text.find("\"layer.0.attention.self.query\""), text.c_str());
  auto back = readAdapterFolder(dir.path());  // checks A's rank against rankFor(module): 2
  QCOMPARE(back.config.rankFor("bert.encoder.layer.0.attention.self.query"), int64_t(2));
  QCOMPARE(back.layers[0].A.size(0), int64_t(2));
  auto fresh = fw::test::makeToyModel(fw::test::bertLikeLeaves(2, 16));
  QCOMPARE(applyAdapterFolder(*fresh, back).adapterParameters, int64_t(2 * 2 * (16 + 16)));
}

void TestAdapterFolder::refusesSpectrumOfTheWholeLayer() {
  // A spectrum with d_out x d_in entries (4 x 4 = 16): PEFT's update_layer refuses it, so do we.
  fw::test::TempDir dir;
  AdapterFolder f;
  f.config = AdapterConfig::fromJson(nlohmann::json::parse(
      R"({"peft_type":"FOURIERFT","n_frequency":16,"target_modules":["query"]})"));
  AdapterLayerTensors l;
  l.module = "bert.encoder.layer.0.attention.self.query";
  l.spectrum = at::randn({16});
  f.layers.push_back(l);
  writeAdapterFolder(dir.path(), f, false);
  auto back = readAdapterFolder(dir.path());
  auto model = fw::test::makeToyModel(fw::test::bertLikeLeaves(1, 4));
  const std::string weights = dir.file("adapter_model.safetensors");
  FW_EXPECT_ERROR(applyAdapterFolder(*model, back), weights.c_str(),
                  "base_model.model.bert.encoder.layer.0.attention.self.query.fourierft_spectrum",
                  "n_frequency out of range", "4 x 4 = 16", "expected 1 to 15", "got 16");
  // Nor is such an adapter made.
  FW_EXPECT_ERROR(injectAdapters(*model, f.config), "n_frequency out of range for layer", "4 x 4 = 16");
}

void TestAdapterFolder::refusesRepeatedPositions() {
  // PEFT's index_put keeps one of repeated positions where our paths sum them: a native folder
  // repeating one is refused, naming the file, the layer and the position.
  fw::test::TempDir dir;
  auto model = fw::test::makeToyModel(fw::test::bertLikeLeaves(1, 8));
  auto cfg = AdapterConfig::fromJson(nlohmann::json::parse(
      R"({"peft_type":"FOURIERFT","n_frequency":4,"target_modules":["query"]})"));
  auto pos = at::tensor({1, 0, 5, 1, 2, 3, 0, 2}, at::kLong).view({2, 4});  // (1, 2) at 0 and 3
  injectAdapters(*model, cfg, {{"bert.encoder.layer.0.attention.self.query", pos}});
  writeAdapterFolder(dir.path(), captureAdapters(*model, cfg), /*native=*/true);
  const std::string positions = dir.file("workbench_positions.safetensors");
  FW_EXPECT_ERROR(readAdapterFolder(dir.path()), positions.c_str(),
                  "bert.encoder.layer.0.attention.self.query.fourierft_indices", "frequency position repeated",
                  "(1, 2) at indices 0 and 3");
}

void TestAdapterFolder::rejectsBrokenFolders_data() {
  QTest::addColumn<QString>("breakage");
  QTest::addColumn<QStringList>("messageParts");
  QTest::newRow("malformed config") << "malformed-config" << QStringList{"adapter_config.json:3", "invalid JSON"};
  QTest::newRow("unknown PEFT type") << "unknown-type" << QStringList{"adapter_config.json", "unknown PEFT type 'VERA'", "FOURIERFT or LORA"};
  QTest::newRow("spectrum length") << "n-mismatch" << QStringList{"adapter_model.safetensors", "spectrum length disagrees with n_frequency",
                                                                  "expected [40]", "got [48]", "fourierft_spectrum"};
  QTest::newRow("wrong field type") << "bad-scaling" << QStringList{"field 'scaling'", "wrong type"};
  QTest::newRow("no weights") << "no-weights" << QStringList{"no adapter_model.safetensors"};
  QTest::newRow("pickled weights") << "bin-weights" << QStringList{"safe_serialization=True"};
  QTest::newRow("truncated weights") << "truncated" << QStringList{"adapter_model.safetensors", "truncated"};
  QTest::newRow("LoRA without B") << "lora-no-B" << QStringList{"lacks its lora_B weight"};
  QTest::newRow("no PEFT prefix") << "no-prefix" << QStringList{"lacks PEFT's prefix"};
  QTest::newRow("no folder") << "missing" << QStringList{"adapter folder not found"};
  // fuzz_adapter_folder (docs/reliability.md): nlohmann converted n_frequency 4.9e91 to int64
  // (undefined behaviour, UBSan); integers are checked first now, in lists and maps too.
  QTest::newRow("float n_frequency") << "n-float" << QStringList{"adapter_config.json", "field 'n_frequency'", "wrong type",
                                                                 "number 4.8666666666666665e+91"};
  QTest::newRow("float in rank_pattern") << "rank-float" << QStringList{"field 'rank_pattern'", "wrong type"};
  // Told when the config is read, with its file and field (review, session 16): they failed later,
  // building the model's adapters, naming neither, or as an unexpected tensor.
  QTest::newRow("bad pattern key") << "lora-bad-pattern" << QStringList{"adapter_config.json", "field 'alpha_pattern.layer[0'",
                                                                        "invalid regular expression"};
  QTest::newRow("rank_pattern 0") << "lora-zero-rank" << QStringList{"field 'rank_pattern.query'", "must be positive", "got 0"};
  QTest::newRow("lora_dropout 1") << "lora-dropout" << QStringList{"field 'lora_dropout'", "must be in [0, 1)"};
  QTest::newRow("bias all") << "lora-bias" << QStringList{"field 'bias'", "adapters that train biases are not supported", "got all"};
  QTest::newRow("lora_bias") << "lora-lora-bias" << QStringList{"field 'lora_bias'", "not supported"};
  QTest::newRow("layer_replication") << "lora-replication" << QStringList{"field 'layer_replication'", "not supported"};
  QTest::newRow("native shape with a float") << "shape-float" << QStringList{"workbench.json", "layer shape must be [out, in]",
                                                                             "[32,1e+30]"};
  // fuzz_adapter_folder, session 7: a number where workbench.json's format string belongs threw
  // nlohmann's type_error, which named neither file nor field; a version past int's range wrapped.
  QTest::newRow("native format a number") << "format-number" << QStringList{"workbench.json", "field 'format'",
                                                                            "not a Fourier Workbench adapter", "got 0"};
  QTest::newRow("native format a long array") << "format-array" << QStringList{"field 'format'", "got [0,1,2,3,", "..."};
  QTest::newRow("native version past int") << "version-huge" << QStringList{"workbench.json", "field 'version'",
                                                                            "unsupported native adapter version",
                                                                            "18446744073709551615"};
}

void TestAdapterFolder::rejectsBrokenFolders() {
  QFETCH(QString, breakage);
  QFETCH(QStringList, messageParts);
  fw::test::TempDir tmp;
  const std::string dir = tmp.file("adapter");
  const std::string b = breakage.toStdString();
  if (b == "missing") {
  } else if (b == "lora-no-B" || b == "no-prefix") {
    copyFolder(fixture("bert/lora"), dir);
    auto tensors = fw::io::loadSafetensors(dir + "/adapter_model.safetensors");
    fw::io::NamedTensors kept;
    for (auto& [k, t] : tensors) {
      if (b == "lora-no-B" && k.find("lora_B") != std::string::npos) continue;
      kept.emplace_back(b == "no-prefix" ? k.substr(std::string(kPeftPrefix).size()) : k, t.clone());
    }
    tensors.clear();
    fw::io::saveSafetensors(dir + "/adapter_model.safetensors", kept);
  } else if (b.rfind("lora-", 0) == 0) {
    copyFolder(fixture("bert/lora"), dir);
    auto cfg = nlohmann::json::parse(fw::readTextFile(dir + "/adapter_config.json"));
    if (b == "lora-bad-pattern") cfg["alpha_pattern"] = {{"layer[0", 8}};
    if (b == "lora-zero-rank") cfg["rank_pattern"] = {{"query", 0}};
    if (b == "lora-dropout") cfg["lora_dropout"] = 1.0;
    if (b == "lora-bias") cfg["bias"] = "all";
    if (b == "lora-lora-bias") cfg["lora_bias"] = true;
    if (b == "lora-replication") cfg["layer_replication"] = {{0, 1}, {0, 1}};
    writeText(dir + "/adapter_config.json", cfg.dump(2));
  } else {
    copyFolder(fixture("bert/fourierft"), dir);
    auto cfg = nlohmann::json::parse(fw::readTextFile(dir + "/adapter_config.json"));
    if (b == "malformed-config") writeText(dir + "/adapter_config.json", "{\n  \"peft_type\": \"FOURIERFT\",\n  \"n_frequency\": 48 oops\n}\n");
    if (b == "unknown-type") { cfg["peft_type"] = "VERA"; writeText(dir + "/adapter_config.json", cfg.dump(2)); }
    if (b == "n-mismatch") { cfg["n_frequency"] = 40; writeText(dir + "/adapter_config.json", cfg.dump(2)); }
    if (b == "bad-scaling") { cfg["scaling"] = "high"; writeText(dir + "/adapter_config.json", cfg.dump(2)); }
    if (b == "n-float") { cfg["n_frequency"] = 4.8666666666666665e+91; writeText(dir + "/adapter_config.json", cfg.dump(2)); }
    if (b == "rank-float") {
      cfg["peft_type"] = "LORA";
      cfg["rank_pattern"] = {{"query", 1e30}};
      writeText(dir + "/adapter_config.json", cfg.dump(2));
    }
    if (b == "shape-float")
      writeText(dir + "/workbench.json", R"({"format": "fourier-workbench-adapter", "version": 1, "layers": [
                  {"module": "bert.encoder.layer.0.attention.self.query", "shape": [32, 1e30]}]})");
    if (b == "format-number") writeText(dir + "/workbench.json", R"({"format": 0, "version": 1})");
    if (b == "format-array") {
      nlohmann::json wb = {{"format", nlohmann::json::array()}, {"version", 1}};
      for (int i = 0; i < 100; ++i) wb["format"].push_back(i);
      writeText(dir + "/workbench.json", wb.dump());
    }
    if (b == "version-huge")
      writeText(dir + "/workbench.json", R"({"format": "fourier-workbench-adapter", "version": 18446744073709551615})");
    if (b == "no-weights") fs::remove(dir + "/adapter_model.safetensors");
    if (b == "bin-weights") fs::rename(dir + "/adapter_model.safetensors", dir + "/adapter_model.bin");
    if (b == "truncated") fs::resize_file(dir + "/adapter_model.safetensors", fs::file_size(dir + "/adapter_model.safetensors") - 10);
  }
  try {
    readAdapterFolder(dir);
    QFAIL("read a broken adapter folder");
  } catch (const fw::Error& e) {
    const QString msg = e.what();
    QVERIFY2(msg.contains(QString::fromStdString(dir)), qPrintable("error does not name the folder or file: " + msg));
    for (const auto& part : messageParts) QVERIFY2(msg.contains(part), qPrintable(msg + "  -- lacks: " + part));
  }
}

void TestAdapterFolder::describesFolder() {
  auto text = QString::fromStdString(describeAdapterFolder(readAdapterFolder(fixture("gpt2/fourierft"))));
  QVERIFY2(text.contains("method:     FourierFT (peft_type FOURIERFT)"), qPrintable(text));
  QVERIFY2(text.contains("n_frequency=48 scaling=150 random_loc_seed=2024"), qPrintable(text));
  QVERIFY2(text.contains("fan_in_fan_out=true"), qPrintable(text));
  QVERIFY2(text.contains("transformer.h.1.attn.c_attn  n=48  params=48"), qPrintable(text));
  QVERIFY2(text.contains("trainable:  96 parameters"), qPrintable(text));
  auto lora = QString::fromStdString(describeAdapterFolder(readAdapterFolder(fixture("llama/lora"))));
  QVERIFY2(lora.contains("model.layers.0.self_attn.v_proj  [16 x 32]  r=4  params=192"), qPrintable(lora));
}

QTEST_APPLESS_MAIN(TestAdapterFolder)
#include "tst_adapter_folder.moc"
