// FourierFT's building blocks against references: PEFT's positions (values printed by PyTorch's
// randperm), ΔW against the cosine sum and against PEFT's dense ifft2, the spectrum gradient.
#include "adapters/fourierft.h"
#include "adapters/fourierft_ops.h"
#include "adapters/fourierft_reference.h"
#include "support/test_support.h"
#include "util/error.h"

using namespace fw::adapters;

class TestFourierFTMath : public QObject {
  Q_OBJECT
private slots:
  void positionsEqualPytorchRandperm_data();
  void positionsEqualPytorchRandperm();
  void positionsRejectBadN();
  void deltaWeightEqualsCosineSumAndPeft_data();
  void deltaWeightEqualsCosineSumAndPeft();
  void deltaWeightGradientEqualsCosineSum();
  void normFactors();
  void adapterInitialisation();
};

void TestFourierFTMath::positionsEqualPytorchRandperm_data() {
  QTest::addColumn<int>("d1");
  QTest::addColumn<int>("d2");
  QTest::addColumn<int>("n");
  QTest::addColumn<int>("seed");
  QTest::addColumn<QList<qlonglong>>("firstIdx");  // randperm(d1*d2, seed)[:8] printed by torch 1.13
  QTest::addColumn<qlonglong>("sumIdx");           // sum of the first n
  QTest::newRow("32x32 n48 seed2024 (fixtures)") << 32 << 32 << 48 << 2024
      << QList<qlonglong>{648, 846, 922, 28, 307, 306, 434, 897} << 25540LL;
  QTest::newRow("96x32 n48 seed2024 (gpt2 c_attn)") << 96 << 32 << 48 << 2024
      << QList<qlonglong>{2696, 2660, 1916, 506, 1463, 1856, 2068, 848} << 73407LL;
  QTest::newRow("768x768 n1000 seed2024 (roberta-base)") << 768 << 768 << 1000 << 2024
      << QList<qlonglong>{466568, 254852, 455206, 248204, 53127, 314058, 4414, 29327} << 307452542LL;
  QTest::newRow("7x5 n6 seed777 (odd)") << 7 << 5 << 6 << 777 << QList<qlonglong>{5, 32, 30, 9, 2, 22} << 100LL;
}

void TestFourierFTMath::positionsEqualPytorchRandperm() {
  QFETCH(int, d1);
  QFETCH(int, d2);
  QFETCH(int, n);
  QFETCH(int, seed);
  QFETCH(QList<qlonglong>, firstIdx);
  QFETCH(qlonglong, sumIdx);
  auto pos = frequencyPositions(d1, d2, n, uint64_t(seed));
  QCOMPARE(pos.sizes().vec(), (std::vector<int64_t>{2, n}));
  auto idx = pos[0] * d2 + pos[1];
  for (int i = 0; i < firstIdx.size(); ++i) QCOMPARE(idx[i].item<int64_t>(), int64_t(firstIdx[i]));
  QCOMPARE(idx.sum().item<int64_t>(), int64_t(sumIdx));
  QVERIFY((pos[0] < d1).all().item<bool>());
  QVERIFY((pos[1] < d2).all().item<bool>());
}

void TestFourierFTMath::positionsRejectBadN() {
  // PEFT's update_layer: n_frequency must be less than d_out x d_in, so every bin is refused.
  FW_EXPECT_ERROR(frequencyPositions(4, 4, 16, 0), "n_frequency out of range", "PEFT requires it less than d_out x d_in",
                  "4 x 4 = 16", "expected 1 to 15", "got 16", "lower n_frequency");
  FW_EXPECT_ERROR(frequencyPositions(4, 4, 17, 0), "n_frequency out of range", "1 to 15", "got 17");
  FW_EXPECT_ERROR(frequencyPositions(4, 4, 0, 0), "n_frequency must be positive", "got 0");
  FW_EXPECT_ERROR(frequencyPositions(1, 1, 1, 0), "1 x 1 = 1", "expected none: the layer has one weight");
  QCOMPARE(frequencyPositions(4, 4, 15, 0).size(1), int64_t(15));
  // Positions given (a native folder) do not lift the bound.
  FourierFTConfig cfg;
  auto every = at::stack({at::arange(16, at::kLong) / 4, at::arange(16, at::kLong) % 4});
  FW_EXPECT_ERROR(FourierFTAdapter(4, 4, 16, cfg, every), "n_frequency out of range", "4 x 4 = 16");
  FW_EXPECT_ERROR(checkFrequencyCount(7, 5, 35, "encoder.q"), "for layer 'encoder.q'", "7 x 5 = 35", "1 to 34",
                  "n_frequency_pattern");
}

void TestFourierFTMath::deltaWeightEqualsCosineSumAndPeft_data() {
  QTest::addColumn<int>("d1");
  QTest::addColumn<int>("d2");
  QTest::addColumn<int>("n");
  QTest::newRow("square even 32x32") << 32 << 32 << 48;
  QTest::newRow("tall 96x32 (c_attn)") << 96 << 32 << 48;
  QTest::newRow("wide 16x40") << 16 << 40 << 60;
  QTest::newRow("odd 7x5, every bin but one (PEFT's most)") << 7 << 5 << 34;
  QTest::newRow("odd-even 9x12") << 9 << 12 << 50;
  QTest::newRow("one row 1x16") << 1 << 16 << 8;
}

void TestFourierFTMath::deltaWeightEqualsCosineSumAndPeft() {
  QFETCH(int, d1);
  QFETCH(int, d2);
  QFETCH(int, n);
  at::manual_seed(1);
  auto pos = frequencyPositions(d1, d2, n, 2024);
  auto g = SpectrumGeometry::make(d1, d2, pos);
  auto c = at::randn({n});
  const double alpha = 150.0, scale = alpha / double(d1 * d2);
  auto ref = naiveDeltaWeight(c, pos, d1, d2, scale);
  FW_EXPECT_CLOSE(deltaWeight(c, g, scale), ref, 2e-6);
  FW_EXPECT_CLOSE(deltaWeightPeft(c, g, alpha), ref, 2e-6);
}

void TestFourierFTMath::deltaWeightGradientEqualsCosineSum() {
  // Repeated rows and columns, and the DC and Nyquist bins, on purpose.
  const int64_t d1 = 8, d2 = 6;
  auto pos = at::tensor({0, 0, 4, 4, 3, 5, 1, 7, 2, 2,  //
                         0, 3, 0, 3, 1, 1, 5, 4, 2, 5}, at::kLong).view({2, 10});
  auto g = SpectrumGeometry::make(d1, d2, pos);
  auto c = at::randn({10}).requires_grad_();
  auto cd = c.detach().to(at::kDouble).requires_grad_();
  auto G = at::randn({d1, d2});
  deltaWeight(c, g, 0.3).mul(G).sum().backward();
  naiveDeltaWeight(cd, pos, d1, d2, 0.3).mul(G.to(at::kDouble)).sum().backward();
  FW_EXPECT_CLOSE(deltaWeight(c.detach(), g, 0.3), naiveDeltaWeight(cd.detach(), pos, d1, d2, 0.3), 2e-6);
  FW_EXPECT_CLOSE(c.grad(), cd.grad(), 2e-6);
}

void TestFourierFTMath::normFactors() {
  QCOMPARE(ifft2NormFactor("backward", 8, 4), 1.0 / 32);
  QCOMPARE(ifft2NormFactor("ortho", 8, 2), 0.25);
  QCOMPARE(ifft2NormFactor("forward", 8, 4), 1.0);
  FW_EXPECT_ERROR(ifft2NormFactor("sideways", 8, 4), "ifft2_norm", "sideways");
}

void TestFourierFTMath::adapterInitialisation() {
  FourierFTConfig cfg;
  cfg.init_weights = true;
  FourierFTAdapter zeros(16, 8, 10, cfg);
  QCOMPARE(zeros.spectrum().abs().sum().item<float>(), 0.f);
  QCOMPARE(zeros.deltaWeight().abs().max().item<float>(), 0.f);
  cfg.init_weights = false;
  at::manual_seed(0);
  FourierFTAdapter normal(64, 64, 4000, cfg);
  // N(0, 1): mean near 0 and standard deviation near 1 over 4000 draws.
  QVERIFY(std::abs(normal.spectrum().mean().item<float>()) < 0.06f);
  QVERIFY(std::abs(normal.spectrum().std().item<float>() - 1.f) < 0.05f);
  QCOMPARE(normal.scale(), 150.0 / (64 * 64));
  QCOMPARE(normal.trainableParameters(), int64_t(4000));
}

QTEST_APPLESS_MAIN(TestFourierFTMath)
#include "tst_fourierft_math.moc"
