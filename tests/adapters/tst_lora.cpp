// LoRA as PEFT computes it: forward, scaling (plain and rsLoRA), initialisation, dropout.
#include "adapters/lora.h"
#include "support/test_support.h"
#include "util/error.h"

#include <torch/nn/module.h>

using namespace fw::adapters;

class TestLoRA : public QObject {
  Q_OBJECT
private slots:
  void forwardIsBasePlusScaledBA();
  void scaling_data();
  void scaling();
  void initialisationAsPeft();
  void dropoutOnlyWhileTraining();
  void gradientsReachAandB();
  void badSettings();
};

void TestLoRA::forwardIsBasePlusScaledBA() {
  at::manual_seed(0);
  LoRAConfig cfg;
  cfg.init_lora_weights = "false";  // both random, so the update is non-zero
  LoRAAdapter lora(6, 5, 2, 4.0, cfg);
  auto x = at::randn({3, 5});
  auto w0 = at::randn({6, 5});
  auto b = at::randn({6});
  auto want = at::linear(x, w0, b) + at::mm(at::mm(x, lora.A().t()), lora.B().t()) * 2.0;
  FW_EXPECT_CLOSE(lora.forward(x, w0, b, false), want, 1e-6);
  FW_EXPECT_CLOSE(lora.deltaWeight(), at::mm(lora.B(), lora.A()) * 2.0, 1e-6);
  QCOMPARE(lora.trainableParameters(), int64_t(2 * 5 + 6 * 2));
}

void TestLoRA::scaling_data() {
  QTest::addColumn<int>("r");
  QTest::addColumn<double>("alpha");
  QTest::addColumn<bool>("rslora");
  QTest::addColumn<double>("scaling");
  QTest::newRow("alpha/r") << 8 << 16.0 << false << 2.0;
  QTest::newRow("rslora alpha/sqrt(r)") << 16 << 8.0 << true << 2.0;
  QTest::newRow("r 4 alpha 8 (fixtures)") << 4 << 8.0 << false << 2.0;
}

void TestLoRA::scaling() {
  QFETCH(int, r);
  QFETCH(double, alpha);
  QFETCH(bool, rslora);
  QFETCH(double, scaling);
  LoRAConfig cfg;
  cfg.use_rslora = rslora;
  QCOMPARE(LoRAAdapter(8, 8, r, alpha, cfg).scaling(), scaling);
}

void TestLoRA::initialisationAsPeft() {
  at::manual_seed(1);
  LoRAConfig cfg;  // init_lora_weights true: A Kaiming-uniform(a=sqrt 5), B zeros
  LoRAAdapter lora(64, 400, 8, 16, cfg);
  const double bound = 1.0 / std::sqrt(400.0);  // sqrt(6 / ((1 + 5) · fan_in))
  QVERIFY(lora.A().abs().max().item<double>() <= bound);
  QVERIFY(lora.A().abs().max().item<double>() > 0.95 * bound);
  QCOMPARE(lora.B().abs().sum().item<float>(), 0.f);
  QCOMPARE(lora.deltaWeight().abs().max().item<float>(), 0.f);
  cfg.init_lora_weights = "gaussian";
  LoRAAdapter g(64, 400, 8, 16, cfg);
  QVERIFY(std::abs(g.A().std().item<double>() - 1.0 / 8) < 0.01);
  QCOMPARE(g.B().abs().sum().item<float>(), 0.f);
}

void TestLoRA::dropoutOnlyWhileTraining() {
  at::manual_seed(2);
  LoRAConfig cfg;
  cfg.lora_dropout = 0.5;
  cfg.init_lora_weights = "false";
  LoRAAdapter lora(4, 16, 2, 2, cfg);
  auto x = at::randn({64, 16});
  auto w0 = at::zeros({4, 16});
  FW_EXPECT_CLOSE(lora.forward(x, w0, {}, false), at::mm(at::mm(x, lora.A().t()), lora.B().t()), 1e-6);
  QVERIFY(!at::allclose(lora.forward(x, w0, {}, true), lora.forward(x, w0, {}, false)));
}

void TestLoRA::gradientsReachAandB() {
  LoRAConfig cfg;
  cfg.init_lora_weights = "false";
  LoRAAdapter lora(4, 3, 2, 2, cfg);
  torch::nn::Module host;
  host.register_parameter("weight", at::randn({4, 3}), false);
  lora.attach(host);
  auto names = host.named_parameters().keys();
  QVERIFY(std::find(names.begin(), names.end(), "lora_A.weight") != names.end());
  QVERIFY(std::find(names.begin(), names.end(), "lora_B.weight") != names.end());
  lora.forward(at::randn({5, 3}), host.named_parameters()["weight"], {}, true).sum().backward();
  QVERIFY(lora.A().grad().defined() && lora.A().grad().abs().sum().item<float>() > 0);
  QVERIFY(lora.B().grad().defined() && lora.B().grad().abs().sum().item<float>() > 0);
}

void TestLoRA::badSettings() {
  LoRAConfig cfg;
  FW_EXPECT_ERROR(LoRAAdapter(4, 4, 0, 1, cfg), "rank must be positive", "field 'r'");
  cfg.lora_dropout = 1.5;
  FW_EXPECT_ERROR(LoRAAdapter(4, 4, 2, 1, cfg), "lora_dropout");
  cfg = {};
  cfg.init_lora_weights = "olora";
  FW_EXPECT_ERROR(LoRAAdapter(4, 4, 2, 1, cfg), "init_lora_weights", "olora");
}

QTEST_APPLESS_MAIN(TestLoRA)
#include "tst_lora.moc"
