// AdaptedLinear: checkpoint names, the transposed (fan_in_fan_out) layout, adapters in forward,
// and merge / unmerge for FourierFT and LoRA.
#include "adapters/adapted_linear.h"
#include "adapters/fourierft.h"
#include "adapters/lora.h"
#include "support/test_support.h"
#include "util/error.h"

using namespace fw::adapters;

namespace {
std::shared_ptr<Adapter> makeAdapter(const QString& method, int64_t out, int64_t in, bool fanInFanOut) {
  if (method == "fourierft") {
    FourierFTConfig c;
    c.fan_in_fan_out = fanInFanOut;
    c.scaling = 40;
    return std::make_shared<FourierFTAdapter>(out, in, 30, c);
  }
  LoRAConfig c;
  c.init_lora_weights = "false";
  return std::make_shared<LoRAAdapter>(out, in, 3, 6, c);
}
}  // namespace

class TestAdaptedLinear : public QObject {
  Q_OBJECT
private slots:
  void namesAndLayout();
  void mergeUnmerge_data();
  void mergeUnmerge();
  void oneAdapterPerLayer();
};

void TestAdaptedLinear::namesAndLayout() {
  AdaptedLinear plain(5, 7);
  auto names = plain->named_parameters().keys();
  QCOMPARE(names, (std::vector<std::string>{"weight", "bias"}));
  QCOMPARE(plain->weight.sizes().vec(), (std::vector<int64_t>{7, 5}));
  AdaptedLinear conv1d(5, 7, true, /*fanInFanOut=*/true);  // GPT-2 Conv1D: [in, out]
  QCOMPARE(conv1d->weight.sizes().vec(), (std::vector<int64_t>{5, 7}));
  auto x = at::randn({2, 5});
  FW_EXPECT_CLOSE(conv1d->forward(x), at::mm(x, conv1d->weight) + conv1d->bias, 1e-6);
  FW_EXPECT_CLOSE(plain->forward(x), at::linear(x, plain->weight, plain->bias), 1e-6);
  // Initialised as torch.nn.Linear: |w| and |b| below 1/sqrt(in).
  QVERIFY(plain->weight.abs().max().item<double>() <= 1.0 / std::sqrt(5.0));
  QVERIFY(plain->bias.abs().max().item<double>() <= 1.0 / std::sqrt(5.0));
}

void TestAdaptedLinear::mergeUnmerge_data() {
  QTest::addColumn<QString>("method");
  QTest::addColumn<bool>("fanInFanOut");
  for (const char* m : {"fourierft", "lora"})
    for (bool t : {false, true}) QTest::newRow(qPrintable(QString("%1%2").arg(m, t ? " fan_in_fan_out" : ""))) << QString(m) << t;
}

void TestAdaptedLinear::mergeUnmerge() {
  QFETCH(QString, method);
  QFETCH(bool, fanInFanOut);
  at::manual_seed(4);
  AdaptedLinear lin(12, 20, true, fanInFanOut);
  const auto w0 = lin->weight.detach().clone();
  lin->setAdapter(makeAdapter(method, 20, 12, fanInFanOut));
  const std::string key = method == "fourierft" ? "fourierft_spectrum" : "lora_A.weight";
  auto keys = lin->named_parameters().keys();
  QVERIFY(std::find(keys.begin(), keys.end(), key) != keys.end());

  auto x = at::randn({4, 12});
  at::NoGradGuard noGrad;
  auto unmergedY = lin->forward(x);
  auto baseY = at::linear(x, fanInFanOut ? w0.t() : w0, lin->bias);
  QVERIFY(fw::test::maxAbsDiff(unmergedY, baseY) > 1e-3);  // the adapter does something

  lin->merge();
  QVERIFY(lin->merged());
  FW_EXPECT_CLOSE(lin->forward(x), unmergedY, 1e-5);
  FW_EXPECT_CLOSE(lin->baseWeight() - (fanInFanOut ? w0.t() : w0), lin->adapter()->deltaWeight(), 1e-5);
  lin->unmerge();
  QVERIFY(at::equal(lin->weight, w0));  // bit for bit
  FW_EXPECT_CLOSE(lin->forward(x), unmergedY, 1e-6);

  lin->merge(/*keepOriginal=*/false);
  lin->unmerge();
  QVERIFY(fw::test::maxAbsDiff(lin->weight, w0) < 1e-6);  // subtracted back, to rounding
}

void TestAdaptedLinear::oneAdapterPerLayer() {
  AdaptedLinear lin(4, 4);
  FW_EXPECT_ERROR(lin->merge(), "no adapter");
  lin->setAdapter(makeAdapter("lora", 4, 4, false));
  FW_EXPECT_ERROR(lin->setAdapter(makeAdapter("lora", 4, 4, false)), "already has an adapter");
}

QTEST_APPLESS_MAIN(TestAdaptedLinear)
#include "tst_adapted_linear.moc"
