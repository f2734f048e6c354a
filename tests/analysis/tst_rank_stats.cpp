// Rank statistics of ΔW with known answers: low-rank products, the identity, a zero matrix,
// hand-computed effective ranks, and the randomized truncated SVD against the exact one.
#include "adapters/fourierft_ops.h"
#include "analysis/rank_stats.h"
#include "support/test_support.h"
#include "util/error.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cmath>
#include <cstdlib>

using namespace fw::analysis;

namespace {

at::Generator gen(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

// σ above 1e-5 of the largest: the numerical rank of a float32 matrix.
int64_t numericalRank(const at::Tensor& singular) {
  const double top = singular[0].item<double>();
  return (singular > 1e-5 * top).sum().item<int64_t>();
}

// U·diag(σ)·Vᵀ with random orthonormal U [rows, n], V [cols, n] and the given σ, float32.
at::Tensor withSpectrum(int64_t rows, int64_t cols, const at::Tensor& sigma, uint64_t seed) {
  auto g = gen(seed);
  const int64_t n = sigma.numel();
  auto u = std::get<0>(at::linalg_qr(at::randn({rows, n}, g, at::kDouble), "reduced"));
  auto v = std::get<0>(at::linalg_qr(at::randn({cols, n}, g, at::kDouble), "reduced"));
  return at::mm(u * sigma.to(at::kDouble).unsqueeze(0), v.t()).to(at::kFloat);
}

// A FourierFT ΔW (scale · Σ c_l cos(...)) with n positions drawn as PEFT draws them, plus `extra`
// positions appended (self-mirrored bins, say). Returns ΔW and the positions.
std::pair<at::Tensor, at::Tensor> fourierDelta(int64_t d1, int64_t d2, int64_t n,
                                               const std::vector<std::pair<int64_t, int64_t>>& extra = {}) {
  auto positions = fw::adapters::frequencyPositions(d1, d2, n, 2024);
  if (!extra.empty()) {
    auto more = at::empty({2, int64_t(extra.size())}, at::kLong);
    for (size_t i = 0; i < extra.size(); ++i) {
      more[0][int64_t(i)] = extra[i].first;
      more[1][int64_t(i)] = extra[i].second;
    }
    positions = at::cat({positions, more}, 1);
  }
  auto g = gen(uint64_t(d1 + d2 + n));
  const auto spectrum = at::randn({positions.size(1)}, g, at::kFloat);
  const auto geometry = fw::adapters::SpectrumGeometry::make(d1, d2, positions);
  return {fw::adapters::deltaWeight(spectrum, geometry, 150.0 / double(d1 * d2)), positions};
}

double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

class TestRankStats : public QObject {
  Q_OBJECT
private slots:
  void lowRankProduct_data();
  void lowRankProduct();
  void identity_data();
  void identity();
  void effectiveRankByHand_data();
  void effectiveRankByHand();
  void zeroMatrix();
  void randomizedMatchesExact_data();
  void randomizedMatchesExact();
  void truncatedCountsBeyondTopK();
  void fourierFTSpectralPathIsExact_data();
  void fourierFTSpectralPathIsExact();
  void spectralPathFallsBack();
  void rejectsBadShapes();
  void timingAt4096();
};

void TestRankStats::lowRankProduct_data() {
  QTest::addColumn<int>("rows");
  QTest::addColumn<int>("cols");
  QTest::addColumn<int>("r");
  QTest::newRow("rank 1, 64x48") << 64 << 48 << 1;
  QTest::newRow("rank 4, 32x32 (LoRA r=4)") << 32 << 32 << 4;
  QTest::newRow("rank 5, 48x64") << 48 << 64 << 5;
  QTest::newRow("rank 17, 200x300") << 200 << 300 << 17;
  QTest::newRow("full rank 33x33") << 33 << 33 << 33;
}

void TestRankStats::lowRankProduct() {
  QFETCH(int, rows);
  QFETCH(int, cols);
  QFETCH(int, r);
  auto g = gen(uint64_t(rows * 1000 + r));
  const auto delta = at::mm(at::randn({rows, r}, g, at::kFloat), at::randn({r, cols}, g, at::kFloat));
  const auto s = rankStats(delta);
  QVERIFY(!s.truncated);
  QCOMPARE(s.k, int64_t(std::min(rows, cols)));
  QCOMPARE(s.singular.numel(), int64_t(std::min(rows, cols)));
  QCOMPARE(numericalRank(s.singular), int64_t(r));
  // The rounding floor the rank view draws down to: the r true values above it, the float32
  // noise of the product at or below it (a float64 floor would let the noise through).
  const double floor = roundingFloor(s.shape, s.spectralNorm);
  QCOMPARE((s.singular > floor).sum().item<int64_t>(), int64_t(r));
  if (std::min(rows, cols) > r)
    QVERIFY(s.singular[r].item<double>() > roundingFloor(s.shape, s.spectralNorm, /*float64=*/true));
  QVERIFY2(s.effectiveRank <= r + 1e-6, qPrintable(QString::number(s.effectiveRank)));
  QVERIFY(s.effectiveRank >= 1 - 1e-9);
  QVERIFY(s.energy90 >= 1 && s.energy90 <= s.energy99 && s.energy99 <= r);
  QVERIFY(s.stableRank >= 1 - 1e-9 && s.stableRank <= r + 1e-6);
  QVERIFY(std::isnan(s.normRatio));  // no base given
  // Descending, and the Frobenius norm is the root of Σσ².
  QVERIFY((s.singular.slice(0, 0, -1) >= s.singular.slice(0, 1)).all().item<bool>());
  QVERIFY(std::abs(s.frobenius - std::sqrt(s.singular.square().sum().item<double>())) <= 1e-5 * s.frobenius);
}

void TestRankStats::identity_data() {
  QTest::addColumn<int>("n");
  for (int n : {1, 7, 10, 64, 100, 333}) QTest::newRow(qPrintable(QString("n=%1").arg(n))) << n;
}

void TestRankStats::identity() {
  QFETCH(int, n);
  const auto eye = at::eye(n, at::kFloat);
  const auto s = rankStats(eye, 2 * eye);
  QVERIFY2(std::abs(s.effectiveRank - n) <= 1e-9 * n, qPrintable(QString::number(s.effectiveRank, 'g', 17)));
  QCOMPARE(s.energy90, int64_t((9 * n + 9) / 10));   // ceil(0.9 n)
  QCOMPARE(s.energy99, int64_t((99 * n + 99) / 100));  // ceil(0.99 n)
  QVERIFY(std::abs(s.stableRank - n) <= 1e-9 * n);
  QVERIFY(std::abs(s.normRatio - 0.5) <= 1e-12);
  QVERIFY(std::abs(s.spectralNorm - 1) <= 1e-12);
  QCOMPARE(s.capturedEnergy, 1.0);
}

void TestRankStats::effectiveRankByHand_data() {
  QTest::addColumn<QVector<double>>("sigma");
  QTest::addColumn<double>("expected");
  QTest::newRow("two equal, zeros ignored") << QVector<double>{1, 1, 0, 0} << 2.0;
  const double h = -(0.75 * std::log(0.75) + 0.25 * std::log(0.25));
  QTest::newRow("3 and 1") << QVector<double>{3, 1} << std::exp(h);
  QTest::newRow("one value") << QVector<double>{5} << 1.0;
  QTest::newRow("zero matrix") << QVector<double>{0, 0, 0} << 0.0;
}

void TestRankStats::effectiveRankByHand() {
  QFETCH(QVector<double>, sigma);
  QFETCH(double, expected);
  const auto t = at::tensor(std::vector<double>(sigma.begin(), sigma.end()), at::kDouble);
  QVERIFY(std::abs(effectiveRank(t) - expected) <= 1e-12);
}

void TestRankStats::zeroMatrix() {
  const auto s = rankStats(at::zeros({8, 6}), at::ones({8, 6}));
  QCOMPARE(s.effectiveRank, 0.0);
  QCOMPARE(s.energy90, int64_t(0));
  QCOMPARE(s.energy99, int64_t(0));
  QCOMPARE(s.stableRank, 0.0);
  QCOMPARE(s.normRatio, 0.0);
  QCOMPARE(s.frobenius, 0.0);
}

void TestRankStats::randomizedMatchesExact_data() {
  QTest::addColumn<int>("rows");
  QTest::addColumn<int>("cols");
  QTest::addColumn<double>("decay");  // σ_i = exp(-i / decay)
  QTest::addColumn<int>("k");
  QTest::newRow("1500x1200, e^(-i/10), k=64") << 1500 << 1200 << 10.0 << 64;
  QTest::newRow("1100x2000, e^(-i/30), k=128") << 1100 << 2000 << 30.0 << 128;
  QTest::newRow("1200x1200, e^(-i/5), k=32") << 1200 << 1200 << 5.0 << 32;
}

void TestRankStats::randomizedMatchesExact() {
  QFETCH(int, rows);
  QFETCH(int, cols);
  QFETCH(double, decay);
  QFETCH(int, k);
  const int64_t n = std::min(rows, cols);
  const auto sigma = at::exp(-at::arange(n, at::kDouble) / decay);
  const auto m = withSpectrum(rows, cols, sigma, 7);
  const auto exact = singularValues(m).slice(0, 0, k);
  RankOptions o;
  o.k = k;  // fullLimit stays 1024: every case here is above it
  const auto s = rankStats(m, {}, o);
  QVERIFY(s.truncated);
  QCOMPARE(s.k, int64_t(k));
  QCOMPARE(s.singular.numel(), int64_t(k));
  const double err = ((s.singular - exact).abs() / exact).max().item<double>();
  QVERIFY2(err <= 1e-3, qPrintable(QString("max relative error of the top %1: %2").arg(k).arg(err)));
  // The figures that need only σ_max and ‖ΔW‖_F are exact up to the same error.
  const double exactStable = sigma.square().sum().item<double>() / exact[0].item<double>() / exact[0].item<double>();
  QVERIFY(std::abs(s.stableRank - exactStable) <= 1e-3 * exactStable);
  const auto full = rankStats(m);  // the same matrix through the exact path
  QCOMPARE(s.energy90, full.energy90);
  QCOMPARE(s.energy99, full.energy99);
  QVERIFY(s.capturedEnergy > 0.99 && s.capturedEnergy <= 1.0);
}

void TestRankStats::truncatedCountsBeyondTopK() {
  // A flat spectrum: the top 8 of 64 hold 1/8 of the energy, so 90 % is out of their reach.
  const auto m = withSpectrum(64, 64, at::ones({64}, at::kDouble), 3);
  RankOptions o;
  o.fullLimit = 32;
  o.k = 8;
  const auto s = rankStats(m, {}, o);
  QVERIFY(s.truncated);
  QCOMPARE(s.energy90, kBeyondTopK);
  QCOMPARE(s.energy99, kBeyondTopK);
  QVERIFY(std::abs(s.capturedEnergy - 0.125) <= 1e-3);
  QVERIFY(std::abs(s.stableRank - 64) <= 1e-2);
  // k at least the short side: the exact path, not truncated.
  o.k = 64;
  QVERIFY(!rankStats(m, {}, o).truncated);
}

void TestRankStats::fourierFTSpectralPathIsExact_data() {
  QTest::addColumn<int>("d1");
  QTest::addColumn<int>("d2");
  QTest::addColumn<int>("n");
  QTest::addColumn<bool>("selfMirrors");
  QTest::newRow("1500x1100, n=200") << 1500 << 1100 << 200 << false;
  QTest::newRow("1100x2048, n=300 with DC and Nyquist bins") << 1100 << 2048 << 300 << true;
  QTest::newRow("1025x1025 (odd), n=1000") << 1025 << 1025 << 1000 << false;
}

void TestRankStats::fourierFTSpectralPathIsExact() {
  QFETCH(int, d1);
  QFETCH(int, d2);
  QFETCH(int, n);
  QFETCH(bool, selfMirrors);
  std::vector<std::pair<int64_t, int64_t>> extra;
  if (selfMirrors) extra = {{0, 0}, {d1 / 2, 0}, {0, d2 / 2}, {d1 / 2, d2 / 2}};
  const auto [delta, positions] = fourierDelta(d1, d2, n, extra);
  const auto s = rankStats(delta, {}, {}, positions);
  QCOMPARE(s.svd, std::string("spectral"));
  QVERIFY(!s.truncated);
  QCOMPARE(s.k, int64_t(std::min(d1, d2)));
  QCOMPARE(s.singular.numel(), s.k);
  const auto exact = singularValues(delta);
  // Against the dense SVD, to float32 rounding of ΔW: relative to σ_max.
  const double err = (s.singular - exact).abs().max().item<double>() / exact[0].item<double>();
  QVERIFY2(err <= 1e-5, qPrintable(QString("max |σ - σ_exact| / σ_max = %1").arg(err)));
  QCOMPARE(numericalRank(s.singular), numericalRank(exact));
  QVERIFY(numericalRank(s.singular) <= 2 * positions.size(1));
  const auto dense = rankStats(delta, {}, [] { RankOptions o; o.fullLimit = 1 << 20; return o; }());
  QVERIFY(std::abs(s.effectiveRank - dense.effectiveRank) <= 1e-4 * dense.effectiveRank);
  QCOMPARE(s.energy90, dense.energy90);
}

void TestRankStats::spectralPathFallsBack() {
  RankOptions o;
  o.fullLimit = 64;
  o.k = 16;
  // So many positions that the blocks merge into one larger than fullLimit: randomized.
  const auto [dense, many] = fourierDelta(200, 200, 4000);
  QCOMPARE(rankStats(dense, {}, o, many).svd, std::string("randomized"));
  // Positions that are not where the matrix lives: the energy check refuses them.
  const auto [delta, positions] = fourierDelta(200, 200, 20);
  const auto [other, wrong] = fourierDelta(200, 180, 20);
  QCOMPARE(rankStats(delta, {}, o, positions).svd, std::string("spectral"));
  QCOMPARE(rankStats(delta, {}, o, wrong).svd, std::string("randomized"));
  // Without positions, or small enough for the exact SVD: as ever.
  QCOMPARE(rankStats(delta, {}, o).svd, std::string("randomized"));
  QCOMPARE(rankStats(delta, {}, {}, positions).svd, std::string("exact"));
}

void TestRankStats::rejectsBadShapes() {
  FW_EXPECT_ERROR(rankStats(at::zeros({2, 3, 4})), "matrix", "[2, 3, 4]");
  FW_EXPECT_ERROR(rankStats(at::zeros({4, 3}), at::zeros({3, 4})), "W0", "[4, 3]", "[3, 4]");
  FW_EXPECT_ERROR(randomizedSingularValues(at::zeros({4, 3}), 0), "k > 0");
}

void TestRankStats::timingAt4096() {
  // A measurement, not a check: FW_ANALYSIS_BENCH=1 tst_rank_stats timingAt4096
  if (!std::getenv("FW_ANALYSIS_BENCH")) QSKIP("set FW_ANALYSIS_BENCH=1 to time the SVDs of a 4096x4096 layer");
  const int64_t n = 4096;
  const auto sigma = at::exp(-at::arange(n, at::kDouble) / 30.0) + 1e-3;
  const auto m = withSpectrum(n, n, sigma, 11);
  auto t0 = std::chrono::steady_clock::now();
  const auto randomized = rankStats(m);  // k = 128, 2 power iterations
  const double tRandomized = seconds(t0);
  RankOptions textbook;
  textbook.oversampling = 10;
  t0 = std::chrono::steady_clock::now();
  const auto randomized10 = rankStats(m, {}, textbook);
  const double tRandomized10 = seconds(t0);
  t0 = std::chrono::steady_clock::now();
  const auto exact32 = at::linalg_svdvals(m);
  const double tExact32 = seconds(t0);
  t0 = std::chrono::steady_clock::now();
  const auto exact64 = singularValues(m);
  const double tExact64 = seconds(t0);
  const auto top = exact64.slice(0, 0, 128);
  const double err = ((randomized.singular - top).abs() / top).max().item<double>();
  const double err10 = ((randomized10.singular - top).abs() / top).max().item<double>();
  const double err32 = ((exact32.slice(0, 0, 128).to(at::kDouble) - top).abs() / top).max().item<double>();
  qInfo("4096x4096, sigma_i = e^(-i/30) + 1e-3, threads %d: randomized top-128 (p=64, q=2) %.3f s, max rel. error %.2e; "
        "(p=10, q=2) %.3f s, %.2e; exact float32 %.2f s (error %.2e); exact float64 %.2f s",
        at::get_num_threads(), tRandomized, err, tRandomized10, err10, tExact32, err32, tExact64);
  // A FourierFT ΔW, n = 1000: the spectral path against the dense SVD.
  const auto [fdelta, fpositions] = fourierDelta(n, n, 1000);
  t0 = std::chrono::steady_clock::now();
  const auto spectral = rankStats(fdelta, {}, {}, fpositions);
  const double tSpectral = seconds(t0);
  t0 = std::chrono::steady_clock::now();
  const auto fRandomized = rankStats(fdelta);
  const double tFRandomized = seconds(t0);
  const auto fExact = at::linalg_svdvals(fdelta).to(at::kDouble);
  const auto fTop = fExact.slice(0, 0, 128);
  const double fErrSpectral = (spectral.singular - fExact).abs().max().item<double>() / fExact[0].item<double>();
  const double fErrRandomized = ((fRandomized.singular - fTop).abs() / fTop).max().item<double>();
  qInfo("4096x4096 FourierFT n=1000: spectral (%s) %.3f s, max error %.2e of sigma_max; randomized top-128 %.3f s, "
        "max rel. error %.2e",
        spectral.svd.c_str(), tSpectral, fErrSpectral, tFRandomized, fErrRandomized);
  QVERIFY(randomized.truncated);
  QVERIFY(err <= 1e-3);
}

QTEST_APPLESS_MAIN(TestRankStats)
#include "tst_rank_stats.moc"
