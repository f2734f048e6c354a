// The 2-D magnitude spectrum through FFTW against known answers: a single cosine has one or two
// nonzero coefficients, any matrix agrees with ATen's fft2, the FourierFT fixture's ΔW lives
// exactly on its positions and their mirrors, and plans are shared safely between threads.
#include "adapters/adapted_linear.h"
#include "adapters/adapter_folder.h"
#include "adapters/fourierft.h"
#include "analysis/delta_weights.h"
#include "analysis/fourier_spectrum.h"
#include "analysis/rank_stats.h"
#include "models/checkpoint.h"
#include "models/model_adapters.h"
#include "support/test_support.h"
#include "util/error.h"

#include <ATen/CPUGeneratorImpl.h>

#include <atomic>
#include <cmath>
#include <thread>

using namespace fw::analysis;

namespace {

std::string fixture(const std::string& rel) { return fw::test::sharedPath("fixtures/hf/" + rel); }

// cos(2π (u·j/d1 + v·k/d2)), j < d1, k < d2, in float64 then float32.
at::Tensor cosine(int64_t d1, int64_t d2, int64_t u, int64_t v) {
  const auto j = at::arange(d1, at::kDouble).unsqueeze(1);
  const auto k = at::arange(d2, at::kDouble).unsqueeze(0);
  return at::cos(2 * M_PI * (j * double(u) / double(d1) + k * double(v) / double(d2))).to(at::kFloat);
}

at::Tensor reference(const at::Tensor& m) { return at::abs(at::fft_fft2(m.to(at::kDouble))).to(at::kFloat); }

}  // namespace

class TestFourierSpectrum : public QObject {
  Q_OBJECT
private slots:
  void cosineMatrix_data();
  void cosineMatrix();
  void matchesAtenFft_data();
  void matchesAtenFft();
  void energyCurve();
  void fourierFTFixtureLivesOnItsPositions_data();
  void fourierFTFixtureLivesOnItsPositions();
  void loraFixtureSpreadsOverTheGrid();
  void plansAreSharedBetweenThreads();
  void rejectsBadInput();
};

void TestFourierSpectrum::cosineMatrix_data() {
  QTest::addColumn<int>("d1");
  QTest::addColumn<int>("d2");
  QTest::addColumn<int>("u");
  QTest::addColumn<int>("v");
  QTest::addColumn<int>("coefficients");
  QTest::addColumn<int>("rank");
  QTest::newRow("32x32 (3, 5)") << 32 << 32 << 3 << 5 << 2 << 2;
  QTest::newRow("24x17 (5, 4), odd width") << 24 << 17 << 5 << 4 << 2 << 2;
  QTest::newRow("8x40 (1, 13)") << 8 << 40 << 1 << 13 << 2 << 2;
  QTest::newRow("15x21 (14, 20), next to the mirror") << 15 << 21 << 14 << 20 << 2 << 2;
  QTest::newRow("DC (0, 0)") << 16 << 16 << 0 << 0 << 1 << 1;
  QTest::newRow("constant rows (0, 3)") << 16 << 20 << 0 << 3 << 2 << 1;
  QTest::newRow("Nyquist rows (8, 3)") << 16 << 20 << 8 << 3 << 2 << 1;
  QTest::newRow("Nyquist both (8, 10)") << 16 << 20 << 8 << 10 << 1 << 1;
  QTest::newRow("(0, Nyquist)") << 12 << 20 << 0 << 10 << 1 << 1;
}

void TestFourierSpectrum::cosineMatrix() {
  QFETCH(int, d1);
  QFETCH(int, d2);
  QFETCH(int, u);
  QFETCH(int, v);
  QFETCH(int, coefficients);
  QFETCH(int, rank);
  const auto m = cosine(d1, d2, u, v);
  const auto mag = magnitudeSpectrum(m);
  QCOMPARE(mag.sizes().vec(), (std::vector<int64_t>{d1, d2}));
  const double peak = mag.max().item<double>();
  const auto nonzero = mag > 1e-4 * peak;
  QCOMPARE(nonzero.sum().item<int64_t>(), int64_t(coefficients));
  // At (u, v) and (-u, -v): d1·d2/2 each, or d1·d2 when the two are one bin.
  const int64_t mu = (d1 - u) % d1, mv = (d2 - v) % d2;
  QVERIFY(nonzero[u][v].item<bool>() && nonzero[mu][mv].item<bool>());
  const double expected = coefficients == 1 ? double(d1) * d2 : double(d1) * d2 / 2;
  QVERIFY2(std::abs(mag[u][v].item<double>() - expected) <= 1e-4 * expected, qPrintable(QString::number(mag[u][v].item<double>())));
  QCOMPARE(fourierStats(m).nonzero, int64_t(coefficients));
  QCOMPARE(fourierStats(m).energy99, int64_t(coefficients));
  // Its rank: cos(a + b) = cos a cos b - sin a sin b, and the sines vanish at DC and Nyquist.
  const auto s = rankStats(m);
  QCOMPARE((s.singular > 1e-5 * s.spectralNorm).sum().item<int64_t>(), int64_t(rank));
  // Shifted for display: the coefficient moves by (d1/2, d2/2).
  const auto shifted = magnitudeSpectrum(m, /*shift=*/true);
  QCOMPARE(shifted[(u + d1 / 2) % d1][(v + d2 / 2) % d2].item<float>(), mag[u][v].item<float>());
}

void TestFourierSpectrum::matchesAtenFft_data() {
  QTest::addColumn<int>("d1");
  QTest::addColumn<int>("d2");
  for (auto [a, b] : {std::pair{32, 32}, {17, 24}, {24, 17}, {1, 9}, {9, 1}, {5, 5}, {64, 48}, {1, 1}, {96, 32}})
    QTest::newRow(qPrintable(QString("%1x%2").arg(a).arg(b))) << a << b;
}

void TestFourierSpectrum::matchesAtenFft() {
  QFETCH(int, d1);
  QFETCH(int, d2);
  auto g = at::make_generator<at::CPUGeneratorImpl>(uint64_t(d1 * 100 + d2));
  const auto m = at::randn({d1, d2}, g, at::kFloat);
  const auto ref = reference(m);
  FW_EXPECT_CLOSE(magnitudeSpectrum(m), ref, 1e-5);
  FW_EXPECT_CLOSE(magnitudeSpectrum(m, true), at::fft_fftshift(ref), 1e-5);
  QVERIFY(at::equal(fftShift(ref), at::fft_fftshift(ref)));
  // A non-contiguous view (a transposed weight) and another dtype give the same.
  FW_EXPECT_CLOSE(magnitudeSpectrum(m.t().contiguous().t()), ref, 1e-5);
  FW_EXPECT_CLOSE(magnitudeSpectrum(m.to(at::kDouble)), ref, 1e-5);
  FW_EXPECT_CLOSE(magnitudeSpectrum(m.t()), reference(m.t()), 1e-5);
}

void TestFourierSpectrum::energyCurve() {
  const auto two = fourierEnergyCurve(magnitudeSpectrum(cosine(16, 16, 2, 3)));
  QCOMPARE(two.numel(), int64_t(256));
  QVERIFY(std::abs(two[0].item<double>() - 0.5) <= 1e-6);
  QVERIFY(std::abs(two[1].item<double>() - 1.0) <= 1e-6);
  QCOMPARE(coefficientsFor(two, 0.4), int64_t(1));
  QCOMPARE(coefficientsFor(two, 0.9), int64_t(2));
  QCOMPARE(coefficientsFor(two, 0.99), int64_t(2));

  auto g = at::make_generator<at::CPUGeneratorImpl>(5);
  const auto curve = fourierEnergyCurve(magnitudeSpectrum(at::randn({20, 30}, g, at::kFloat)));
  QVERIFY((curve.slice(0, 1) >= curve.slice(0, 0, -1)).all().item<bool>());
  QVERIFY(std::abs(curve[-1].item<double>() - 1.0) <= 1e-12);
  const int64_t k90 = coefficientsFor(curve, 0.9);
  QVERIFY(curve[k90 - 1].item<double>() >= 0.9 - 1e-12 && curve[k90 - 2].item<double>() < 0.9);
  const auto s = fourierStats(at::randn({20, 30}, g, at::kFloat));
  QVERIFY(s.energy90 > 1 && s.energy90 <= s.energy99 && s.energy99 <= 600);

  // fourierStats selects instead of sorting: the same counts as the curve, ties included.
  const std::vector<at::Tensor> cases = {at::randn({20, 30}, g, at::kFloat), at::randn({33, 17}, g, at::kFloat),
                                         at::eye(16, at::kFloat), cosine(12, 9, 2, 4), at::ones({5, 6}),
                                         at::randn({64, 1}, g, at::kFloat), at::randn({1, 64}, g, at::kFloat)};
  for (const auto& m : cases) {
    const auto c = fourierEnergyCurve(magnitudeSpectrum(m));
    const auto f = fourierStats(m);
    QCOMPARE(f.energy90, coefficientsFor(c, 0.9));
    QCOMPARE(f.energy99, coefficientsFor(c, 0.99));
    const auto mag = magnitudeSpectrum(m);
    QCOMPARE(f.nonzero, (mag > 1e-5 * mag.max().item<double>()).sum().item<int64_t>());
  }
  QCOMPARE(fourierStats(at::eye(16, at::kFloat)).energy90, int64_t(15));  // 16 equal coefficients: ceil(0.9·16)

  const auto zero = fourierEnergyCurve(magnitudeSpectrum(at::zeros({4, 4})));
  QCOMPARE(coefficientsFor(zero, 0.9), int64_t(0));
  QCOMPARE(fourierStats(at::zeros({4, 4})).nonzero, int64_t(0));
}

void TestFourierSpectrum::fourierFTFixtureLivesOnItsPositions_data() {
  QTest::addColumn<QString>("arch");
  QTest::addColumn<int>("layers");
  QTest::newRow("bert") << "bert" << 4;
  QTest::newRow("roberta") << "roberta" << 4;
  QTest::newRow("gpt2 (fan_in_fan_out, 96x32)") << "gpt2" << 2;
  QTest::newRow("llama (v_proj 16x32)") << "llama" << 4;
  QTest::newRow("vit") << "vit" << 4;
}

void TestFourierSpectrum::fourierFTFixtureLivesOnItsPositions() {
  QFETCH(QString, arch);
  QFETCH(int, layers);
  const std::string a = arch.toStdString();
  if (fixture(a + "/fourierft").empty()) QSKIP("../shared/fixtures/hf not found (set FW_SHARED_DIR)");
  auto loaded = fw::models::loadPretrained(fixture(a + "/model"));
  fw::models::attachAdapterFolder(*loaded.model, fw::adapters::readAdapterFolder(fixture(a + "/fourierft")));
  const auto deltas = adapterDeltas(*loaded.model);
  QCOMPARE(int(deltas.size()), layers);
  for (const auto& d : deltas) {
    QCOMPARE(d.method, std::string("fourierft"));
    QCOMPARE(d.positions.sizes().vec(), (std::vector<int64_t>{2, 48}));
    const int64_t d1 = d.delta.size(0), d2 = d.delta.size(1);
    const auto u = d.positions[0], v = d.positions[1];
    // Flat indices of (u, v) and of the mirrors (-u mod d1, -v mod d2).
    const auto bins = u * d2 + v;
    const auto mirror = (d1 - u).remainder(d1) * d2 + (d2 - v).remainder(d2);
    auto expectedMask = at::zeros({d1 * d2}, at::kBool);
    expectedMask.index_fill_(0, bins, true).index_fill_(0, mirror, true);
    expectedMask = expectedMask.view({d1, d2});

    const auto mag = magnitudeSpectrum(d.delta);
    const auto mask = mag > 1e-4 * mag.max().item<double>();
    QVERIFY2(at::equal(mask, expectedMask),
             qPrintable(QString::fromStdString(d.layer) + QString(": %1 nonzero, expected %2")
                            .arg(mask.sum().item<int64_t>()).arg(expectedMask.sum().item<int64_t>())));
    // The values too: FFT2(scale·Re(IFFT2·)) puts scale·d1·d2/2·(c + c_mirror) at each bin.
    fw::adapters::FourierFTAdapter* adapter = nullptr;
    for (auto& [name, l] : fw::adapters::adaptedLinears(*loaded.model))
      if (name == d.layer) adapter = dynamic_cast<fw::adapters::FourierFTAdapter*>(l->adapter());
    QVERIFY(adapter);
    const auto c = adapter->spectrum().detach().to(at::kDouble);
    auto s = at::zeros({d1 * d2}, at::kDouble);
    s.index_copy_(0, bins, c);
    auto sMirror = at::zeros({d1 * d2}, at::kDouble);
    sMirror.index_copy_(0, mirror, c);
    const auto expected = ((s + sMirror) * (adapter->scale() * double(d1 * d2) / 2)).abs().view({d1, d2}).to(at::kFloat);
    FW_EXPECT_CLOSE(mag, expected, 1e-4);
    QCOMPARE(fourierStats(d.delta).nonzero, expectedMask.sum().item<int64_t>());
  }
}

void TestFourierSpectrum::loraFixtureSpreadsOverTheGrid() {
  if (fixture("bert/lora").empty()) QSKIP("../shared/fixtures/hf not found (set FW_SHARED_DIR)");
  auto loaded = fw::models::loadPretrained(fixture("bert/model"));
  fw::models::attachAdapterFolder(*loaded.model, fw::adapters::readAdapterFolder(fixture("bert/lora")));
  for (const auto& d : adapterDeltas(*loaded.model)) {
    const auto s = fourierStats(d.delta);
    QVERIFY2(s.nonzero > 96, qPrintable(QString::number(s.nonzero)));  // far more than FourierFT's 2n
  }
}

void TestFourierSpectrum::plansAreSharedBetweenThreads() {
  // Several threads, several shapes, plans created concurrently: each result as computed alone.
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{31, 7}, {64, 64}, {10, 100}, {48, 33}, {128, 12}};
  std::vector<at::Tensor> inputs, expected;
  auto g = at::make_generator<at::CPUGeneratorImpl>(9);
  for (auto [a, b] : shapes) {
    inputs.push_back(at::randn({a, b}, g, at::kFloat));
    expected.push_back(reference(inputs.back()));
  }
  clearFourierPlanCache();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        const size_t i = size_t(t + round) % shapes.size();
        if (fw::test::relativeError(magnitudeSpectrum(inputs[i]), expected[i]) > 1e-5) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  QCOMPARE(failures.load(), 0);
}

void TestFourierSpectrum::rejectsBadInput() {
  FW_EXPECT_ERROR(magnitudeSpectrum(at::zeros({2, 2, 2})), "matrix", "[2, 2, 2]");
  FW_EXPECT_ERROR(magnitudeSpectrum(at::zeros({0, 4})), "non-empty", "[0, 4]");
  FW_EXPECT_ERROR(magnitudeSpectrum(at::zeros({3, 3}, at::kComplexFloat)), "real");
}

QTEST_APPLESS_MAIN(TestFourierSpectrum)
#include "tst_fourier_spectrum.moc"
