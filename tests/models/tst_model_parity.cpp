// Each architecture against transformers: the fixture checkpoints of ../shared/fixtures/hf
// (made by transformers 5 and peft 0.21) give the reference logits, with no adapter, with the
// FourierFT and LoRA adapters, and after merging each, within 1e-4.
#include "adapters/adapted_linear.h"
#include "adapters/inject.h"
#include "io/safetensors.h"
#include "models/checkpoint.h"
#include "models/model_adapters.h"
#include "models/model_inputs.h"
#include "support/test_support.h"
#include "adapters/lora.h"
#include "util/error.h"
#include "util/files.h"

#include <algorithm>

using namespace fw;

class TestModelParity : public QObject {
  Q_OBJECT
private slots:
  void initTestCase();
  void logitsMatchTransformers_data();
  void logitsMatchTransformers();
  void renamedViTAdapterSpeaksItsOwnNames();
};

void TestModelParity::initTestCase() {
  if (test::sharedPath("fixtures/hf/bert/model").empty())
    QSKIP("../shared/fixtures/hf not found (set FW_SHARED_DIR): no reference checkpoints");
}

void TestModelParity::logitsMatchTransformers_data() {
  QTest::addColumn<QString>("model");
  QTest::addColumn<QString>("adapter");  // "", "fourierft", "lora"
  QTest::addColumn<bool>("merge");
  for (const char* m : {"bert", "roberta", "gpt2", "llama", "vit"}) {
    QTest::newRow(qPrintable(QString("%1 base").arg(m))) << m << "" << false;
    for (const char* a : {"fourierft", "lora"})
      for (bool merge : {false, true})
        QTest::newRow(qPrintable(QString("%1 %2%3").arg(m, a, merge ? " merged" : ""))) << m << a << merge;
  }
}

void TestModelParity::logitsMatchTransformers() {
  QFETCH(QString, model);
  QFETCH(QString, adapter);
  QFETCH(bool, merge);
  const std::string dir = test::sharedPath("fixtures/hf/" + model.toStdString());
  auto loaded = models::loadPretrained(dir + "/model");
  QCOMPARE(loaded.report.fresh.size(), size_t(0));
  auto ref = io::SafetensorsFile::open(dir + "/reference.safetensors");
  std::string key = "logits";
  if (!adapter.isEmpty()) {
    auto folder = adapters::readAdapterFolder(dir + "/" + adapter.toStdString());
    auto summary = models::attachAdapterFolder(*loaded.model, folder);
    QCOMPARE(summary.layers.size(), folder.layers.size());
    key += "_" + adapter.toStdString() + (merge ? "_merged" : "");
    if (merge) adapters::mergeAdapters(*loaded.model);
  }
  at::NoGradGuard noGrad;
  auto logits = loaded.model->forward(models::modelInputsFrom(ref));
  auto want = ref.tensor(key);
  QCOMPARE(logits.sizes().vec(), want.sizes().vec());
  const double err = test::maxAbsDiff(logits, want);
  qInfo("%s: max |diff| %.2e", key.c_str(), err);
  QVERIFY2(err < 1e-4, qPrintable(QString("%1: max |diff| %2").arg(QString::fromStdString(key)).arg(err)));
}

// The ViT adapters were made with transformers 5 (vit.layers.N.attention.q_proj), and their
// modules are renamed to the checkpoint's names on load; their config's alpha_pattern and
// target_modules still speak transformers 5's names.
void TestModelParity::renamedViTAdapterSpeaksItsOwnNames() {
  const std::string dir = test::sharedPath("fixtures/hf/vit");
  auto config = readJsonFile(dir + "/lora/adapter_config.json");  // r 4, lora_alpha 8, q_proj and v_proj
  config["alpha_pattern"] = {{"v_proj", 32}};
  auto folder = adapters::readAdapterFolder(dir + "/lora");
  folder.config = adapters::AdapterConfig::fromJson(config);
  {
    auto loaded = models::loadPretrained(dir + "/model");
    models::attachAdapterFolder(*loaded.model, folder);
    std::map<std::string, double> scaling;
    for (auto& [name, lin] : adapters::adaptedLinears(*loaded.model))
      if (auto* lora = dynamic_cast<adapters::LoRAAdapter*>(lin->adapter())) scaling[name] = lora->scaling();
    QCOMPARE(scaling.size(), size_t(4));  // 2 layers, query and value
    QCOMPARE(scaling.at("vit.encoder.layer.1.attention.attention.query"), 8.0 / 4);
    QCOMPARE(scaling.at("vit.encoder.layer.1.attention.attention.value"), 32.0 / 4);  // was 8/4: the pattern missed
  }
  // A layer's tensors missing from the file: refused (no module of ours was "targeted" before).
  auto& layers = folder.layers;
  layers.erase(std::remove_if(layers.begin(), layers.end(),
                              [](const adapters::AdapterLayerTensors& l) { return l.module == "vit.layers.1.attention.v_proj"; }),
               layers.end());
  auto loaded = models::loadPretrained(dir + "/model");
  FW_EXPECT_ERROR(models::attachAdapterFolder(*loaded.model, folder), "adapter file lacks tensors for modules its config targets",
                  "vit.encoder.layer.1.attention.attention.value");
}

QTEST_APPLESS_MAIN(TestModelParity)
#include "tst_model_parity.moc"
