// The three ways of computing a FourierFT layer (dense, merged, spectral) give the value and
// both gradients (input and spectrum) of the float64 cosine-sum reference, to float rounding:
// square and non-square, odd and even sizes, repeated rows and columns, DC and Nyquist bins.
#include "adapters/fourierft_ops.h"
#include "adapters/fourierft_reference.h"
#include "support/test_support.h"
#include "util/autocast.h"
#include "util/error.h"

using namespace fw::adapters;

Q_DECLARE_METATYPE(FourierPath)
Q_DECLARE_METATYPE(SpectrumGrad)

namespace {

struct Reference {
  at::Tensor y, dx, dc;
};

// y = x·(W0 + ΔW)ᵀ + b in float64 with autograd; loss = Σ y ⊙ R.
Reference reference(const at::Tensor& x, const at::Tensor& w0, const at::Tensor& b, const at::Tensor& c,
                    const at::Tensor& pos, int64_t d1, int64_t d2, double scale, const at::Tensor& R) {
  auto xd = x.detach().to(at::kDouble).requires_grad_();
  auto cd = c.detach().to(at::kDouble).requires_grad_();
  auto w = w0.to(at::kDouble) + naiveDeltaWeight(cd, pos, d1, d2, scale);
  auto y = at::linear(xd, w, b.to(at::kDouble));
  (y * R.to(at::kDouble)).sum().backward();
  return {y.detach(), xd.grad(), cd.grad()};
}

at::Tensor repeatedPositions(int64_t d1, int64_t d2) {
  // Same row several times, same column several times, (0,0), Nyquist row and column.
  std::vector<int64_t> u = {0, 0, 0, 3, 3, d1 / 2, d1 / 2, d1 - 1, 1, 2, d1 - 1, 5 % d1};
  std::vector<int64_t> v = {0, 1, d2 - 1, 2, d2 / 2, 0, d2 / 2, 2, 2, 2, d2 - 2, 0};
  return at::stack({at::tensor(u, at::kLong), at::tensor(v, at::kLong)});
}

// The layer computed by `path` (not Auto).
at::Tensor runPath(FourierPath path, const at::Tensor& x, const at::Tensor& w0, const at::Tensor& b, const at::Tensor& c,
                   const SpectrumGeometry& g, double scale) {
  switch (path) {
    case FourierPath::Dense: return fourierLinearDense(x, w0, b, c, g, scale);
    case FourierPath::Merged: return fourierLinearMerged(x, w0, b, c, g, scale);
    default: return fourierLinearSpectral(x, w0, b, c, g, scale);
  }
}

}  // namespace

class TestFourierFTPaths : public QObject {
  Q_OBJECT
private slots:
  void pathsAgreeWithReference_data();
  void pathsAgreeWithReference();
  void bfloat16InputComputesSpectrumInFloat32_data();
  void bfloat16InputComputesSpectrumInFloat32();
  void underAutocast_data();
  void underAutocast();
  void inputWithoutGradient();
  void pathNamesAndChoice();
  void shapeErrors();
};

void TestFourierFTPaths::pathsAgreeWithReference_data() {
  QTest::addColumn<int>("d1");
  QTest::addColumn<int>("d2");
  QTest::addColumn<int>("n");
  QTest::addColumn<int>("tokens");
  QTest::addColumn<bool>("repeated");
  QTest::addColumn<FourierPath>("path");
  QTest::addColumn<bool>("fftw");  // merged and spectral on the CPU: FFTW kernels, or LibTorch's FFTs
  QTest::addColumn<bool>("offset");  // input rows one float past an aligned address (FFTW's unaligned plans)
  QTest::addColumn<SpectrumGrad>("grad");  // merged without FFTW (a GPU's way): how the spectrum gradient is formed
  struct Shape { const char* name; int d1, d2, n, tokens; bool repeated, offset = false; };
  const Shape shapes[] = {
      {"square even 32x32", 32, 32, 48, 10, false},
      {"tall 96x32", 96, 32, 60, 7, false},
      {"wide 24x40", 24, 40, 50, 9, false},
      {"odd 15x9", 15, 9, 40, 5, false},
      {"odd-even 7x12", 7, 12, 30, 6, false},
      {"repeated rows/cols 16x10", 16, 10, 12, 8, true},
      {"repeated rows/cols odd 11x13", 11, 13, 12, 4, true},
      {"more tokens than a block 40x24", 40, 24, 60, 150, false},
      {"unaligned input rows 40x24", 40, 24, 60, 150, false, true},
  };
  for (const auto& s : shapes) {
    for (auto p : {FourierPath::Dense, FourierPath::Merged, FourierPath::Spectral})
      QTest::newRow(qPrintable(QString("%1 %2").arg(s.name, pathName(p))))
          << s.d1 << s.d2 << s.n << s.tokens << s.repeated << p << true << s.offset << SpectrumGrad::Auto;
    QTest::newRow(qPrintable(QString("%1 spectral (LibTorch FFTs)").arg(s.name)))
        << s.d1 << s.d2 << s.n << s.tokens << s.repeated << FourierPath::Spectral << false << s.offset << SpectrumGrad::Auto;
    for (auto m : {SpectrumGrad::Rows, SpectrumGrad::WeightGrad})
      QTest::newRow(qPrintable(QString("%1 merged (LibTorch FFTs, %2 gradient)").arg(s.name, spectrumGradName(m))))
          << s.d1 << s.d2 << s.n << s.tokens << s.repeated << FourierPath::Merged << false << s.offset << m;
  }
}

void TestFourierFTPaths::pathsAgreeWithReference() {
  QFETCH(int, d1);
  QFETCH(int, d2);
  QFETCH(int, n);
  QFETCH(int, tokens);
  QFETCH(bool, repeated);
  QFETCH(FourierPath, path);
  QFETCH(bool, fftw);
  QFETCH(bool, offset);
  QFETCH(SpectrumGrad, grad);
  setFftwKernels(fftw);
  setSpectrumGrad(grad);
  at::manual_seed(7);
  auto pos = repeated ? repeatedPositions(d1, d2) : frequencyPositions(d1, d2, n, 2024);
  auto g = SpectrumGeometry::make(d1, d2, pos);
  const double scale = 150.0 / double(d1 * d2);
  auto x = at::randn({2, tokens, d2});  // batched: [batch, seq, in]
  if (offset) {  // the same values at an address FFTW's aligned (SIMD) plans cannot take
    auto buffer = at::empty({x.numel() + 1});
    x = buffer.narrow(0, 1, x.numel()).view({2, tokens, d2}).copy_(x);
    QVERIFY(reinterpret_cast<uintptr_t>(x.data_ptr<float>()) % 16 != 0);
  }
  x = x.detach().requires_grad_();
  auto w0 = at::randn({d1, d2}) * 0.1;
  auto b = at::randn({d1});
  auto c = at::randn({g.n}).requires_grad_();
  auto R = at::randn({2, tokens, d1});

  auto y = runPath(path, x, w0, b, c, g, scale);
  (y * R).sum().backward();
  auto ref = reference(x, w0, b, c, pos, d1, d2, scale, R);
  QCOMPARE(y.scalar_type(), at::kFloat);
  FW_EXPECT_CLOSE(y, ref.y, 1e-5);
  FW_EXPECT_CLOSE(x.grad(), ref.dx, 1e-5);
  FW_EXPECT_CLOSE(c.grad(), ref.dc, 1e-5);
  setFftwKernels(true);
  setSpectrumGrad(SpectrumGrad::Auto);
}

void TestFourierFTPaths::bfloat16InputComputesSpectrumInFloat32_data() {
  QTest::addColumn<FourierPath>("path");
  QTest::addColumn<bool>("fftw");
  QTest::addColumn<SpectrumGrad>("grad");
  for (auto p : {FourierPath::Dense, FourierPath::Merged, FourierPath::Spectral})
    QTest::newRow(pathName(p)) << p << true << SpectrumGrad::Auto;
  // The GPU's code paths, run on the CPU: bf16 rows into LibTorch's float32 FFTs, bf16 matmuls.
  QTest::newRow("spectral (LibTorch FFTs)") << FourierPath::Spectral << false << SpectrumGrad::Auto;
  for (auto m : {SpectrumGrad::Rows, SpectrumGrad::WeightGrad})
    QTest::newRow(qPrintable(QString("merged (LibTorch FFTs, %1 gradient)").arg(spectrumGradName(m))))
        << FourierPath::Merged << false << m;
}

void TestFourierFTPaths::bfloat16InputComputesSpectrumInFloat32() {
  QFETCH(FourierPath, path);
  QFETCH(bool, fftw);
  QFETCH(SpectrumGrad, grad);
  setFftwKernels(fftw);
  setSpectrumGrad(grad);
  at::manual_seed(3);
  const int64_t d1 = 24, d2 = 16;
  auto pos = frequencyPositions(d1, d2, 30, 2024);
  auto g = SpectrumGeometry::make(d1, d2, pos);
  auto x = at::randn({12, d2}).to(at::kBFloat16).requires_grad_();
  auto w0 = (at::randn({d1, d2}) * 0.1).to(at::kBFloat16);
  auto c = at::randn({30}).requires_grad_();  // the spectrum stays float32
  auto y = runPath(path, x, w0, {}, c, g, 0.5);
  QCOMPARE(y.scalar_type(), at::kBFloat16);
  y.to(at::kFloat).sum().backward();
  QCOMPARE(c.grad().scalar_type(), at::kFloat);
  QCOMPARE(x.grad().scalar_type(), at::kBFloat16);
  auto ref = reference(x, w0, at::zeros({d1}), c, pos, d1, d2, 0.5, at::ones({12, d1}));
  // bf16 has 8 bits of mantissa: agreement to about 1 %.
  FW_EXPECT_CLOSE(y, ref.y, 2e-2);
  FW_EXPECT_CLOSE(c.grad(), ref.dc, 2e-2);
  FW_EXPECT_CLOSE(x.grad().to(at::kFloat), ref.dx, 2e-2);
  setFftwKernels(true);
  setSpectrumGrad(SpectrumGrad::Auto);
}

void TestFourierFTPaths::underAutocast_data() { bfloat16InputComputesSpectrumInFloat32_data(); }

// The trainer's bf16 mixed precision: float32 activations and weights under autocast, backward
// outside it. Every path trains (merged once failed here: a bf16 gradient against its float32
// weight) and gives what a linear layer gives under autocast, bf16 output and float32 gradients.
void TestFourierFTPaths::underAutocast() {
  QFETCH(FourierPath, path);
  QFETCH(bool, fftw);
  QFETCH(SpectrumGrad, grad);
  setFftwKernels(fftw);
  setSpectrumGrad(grad);
  at::manual_seed(4);
  const int64_t d1 = 24, d2 = 16;
  auto pos = frequencyPositions(d1, d2, 30, 2024);
  auto g = SpectrumGeometry::make(d1, d2, pos);
  auto x = at::randn({2, 6, d2}).requires_grad_();
  auto w0 = at::randn({d1, d2}) * 0.1;
  auto b = at::randn({d1});
  auto c = at::randn({30}).requires_grad_();
  auto R = at::randn({2, 6, d1});
  at::Tensor y;
  {
    fw::AutocastScope autocast(true, at::kCPU);
    QVERIFY(fw::autocastDtype(at::kCPU) == at::kBFloat16);
    y = runPath(path, x, w0, b, c, g, 0.5);
  }
  QVERIFY(!fw::autocastDtype(at::kCPU).has_value());
  QCOMPARE(y.scalar_type(), at::kBFloat16);
  (y.to(at::kFloat) * R).sum().backward();
  QCOMPARE(x.grad().scalar_type(), at::kFloat);
  QCOMPARE(c.grad().scalar_type(), at::kFloat);
  auto ref = reference(x, w0, b, c, pos, d1, d2, 0.5, R);
  FW_EXPECT_CLOSE(y, ref.y, 2e-2);
  FW_EXPECT_CLOSE(x.grad(), ref.dx, 2e-2);
  FW_EXPECT_CLOSE(c.grad(), ref.dc, 2e-2);
  setFftwKernels(true);
  setSpectrumGrad(SpectrumGrad::Auto);
}

void TestFourierFTPaths::inputWithoutGradient() {
  // The first adapted layer of a network: only the spectrum needs a gradient.
  at::manual_seed(5);
  auto pos = frequencyPositions(20, 12, 25, 1);
  auto g = SpectrumGeometry::make(20, 12, pos);
  auto x = at::randn({6, 12});
  auto w0 = at::randn({20, 12});
  auto R = at::randn({6, 20});
  auto ref = reference(x, w0, at::zeros({20}), at::ones({25}), pos, 20, 12, 0.1, R);
  for (auto fn : {fourierLinearMerged, fourierLinearSpectral, fourierLinearDense}) {
    auto c = at::ones({25}).requires_grad_();
    (fn(x, w0, {}, c, g, 0.1) * R).sum().backward();
    FW_EXPECT_CLOSE(c.grad(), ref.dc, 1e-5);
  }
}

void TestFourierFTPaths::pathNamesAndChoice() {
  for (auto p : {FourierPath::Auto, FourierPath::Dense, FourierPath::Merged, FourierPath::Spectral})
    QCOMPARE(pathFromName(pathName(p)), p);
  FW_EXPECT_ERROR(pathFromName("fast"), "unknown FourierFT path 'fast'", "auto, dense, merged or spectral");
  for (auto m : {SpectrumGrad::Auto, SpectrumGrad::WeightGrad, SpectrumGrad::Rows})
    QCOMPARE(spectrumGradFromName(spectrumGradName(m)), m);
  FW_EXPECT_ERROR(spectrumGradFromName("fft"), "unknown spectrum-gradient method 'fft'", "auto, weight or rows");
  // Few tokens on a huge layer favour the spectral path; many tokens on a small one, merged.
  PathShape big{512, 4096, 4096, 1000, true, true};
  PathShape small{4096, 64, 64, 200, true, true};
  QCOMPARE(choosePath(big, at::kCPU), FourierPath::Spectral);
  QCOMPARE(choosePath(small, at::kCPU), FourierPath::Merged);
  // The choices measured fastest on this CPU (README.md, "Choosing the path").
  QCOMPARE(choosePath({512, 768, 768, 1000, true, true}, at::kCPU), FourierPath::Spectral);
  QCOMPARE(choosePath({4096, 768, 768, 1000, true, true}, at::kCPU), FourierPath::Merged);
  QCOMPARE(choosePath({512, 4096, 4096, 1000, true, true}, at::kCPU), FourierPath::Spectral);
  QCOMPARE(choosePath({4096, 4096, 4096, 1000, true, true}, at::kCPU), FourierPath::Spectral);
  QCOMPARE(choosePath({2048, 3072, 768, 1000, true, true}, at::kCPU), FourierPath::Spectral);  // 130 vs 151 ms
  // On a GPU (a bytes-moved model): what an H200 measured fastest (docs/performance.md, "On a
  // GPU"): merged on the RoBERTa shapes (4096 tokens), spectral on LLaMA's 4096 x 4096 (2048
  // tokens), in fp32 and bf16; the row-FFT spectrum gradient where fp32's weight-gradient matmul
  // is large (RoBERTa-large 125.8 vs 122.6 ms, LLaMA 157.4 vs 146.3 ms).
  const at::Device gpu(at::kCUDA, 0);
  // A layer's shape for that choice: under autocast a float32 input counts as bf16.
  auto pos = frequencyPositions(24, 16, 30, 2024);
  auto geometry = SpectrumGeometry::make(24, 16, pos);
  const auto x = at::randn({2, 5, 16}).requires_grad_();
  const auto shape = pathShapeOf(x, geometry, true);
  QCOMPARE(shape.tokens, int64_t(10));
  QCOMPARE(shape.d1, int64_t(24));
  QVERIFY(shape.backward && shape.inputGrad && !shape.lowPrecision);
  QVERIFY(pathShapeOf(x.detach().to(at::kBFloat16), geometry, false).lowPrecision);
  QVERIFY(!pathShapeOf(x.detach(), geometry, false).backward);
  {
    fw::AutocastScope autocast(true, at::kCPU);
    QVERIFY(pathShapeOf(x, geometry, true).lowPrecision);
  }
  for (bool bf16 : {false, true}) {
    QCOMPARE(choosePath({4096, 768, 768, 1000, true, true, bf16}, gpu), FourierPath::Merged);
    QCOMPARE(choosePath({4096, 1024, 1024, 1000, true, true, bf16}, gpu), FourierPath::Merged);
    QCOMPARE(choosePath({2048, 4096, 4096, 1000, true, true, bf16}, gpu), FourierPath::Spectral);
  }
  for (PathShape s : {PathShape{4096, 1024, 1024, 1000, true, true, false}, PathShape{2048, 4096, 4096, 1000, true, true, false}})
    QVERIFY(spectrumGradCost(SpectrumGrad::Rows, s, gpu) < spectrumGradCost(SpectrumGrad::WeightGrad, s, gpu));
  // Dense never beats merged in the model: it does the merged work plus a second matmul.
  QVERIFY(pathCost(FourierPath::Dense, big, at::kCPU) > pathCost(FourierPath::Merged, big, at::kCPU));
}

void TestFourierFTPaths::shapeErrors() {
  auto g = SpectrumGeometry::make(8, 4, frequencyPositions(8, 4, 5, 0));
  FW_EXPECT_ERROR(fourierLinearSpectral(at::randn({3, 5}), at::randn({8, 4}), {}, at::randn({5}), g, 1.0),
                  "in_features", "expected 4", "got [3, 5]");
  FW_EXPECT_ERROR(fourierLinearMerged(at::randn({3, 4}), at::randn({8, 4}), {}, at::randn({6}), g, 1.0),
                  "spectrum length does not match n_frequency", "expected 5");
  FW_EXPECT_ERROR(fourierLinearDense(at::randn({3, 4}), at::randn({4, 8}), {}, at::randn({5}), g, 1.0),
                  "base weight", "expected [8, 4]", "got [4, 8]");
  FW_EXPECT_ERROR(SpectrumGeometry::make(8, 4, at::tensor({9, 0}, at::kLong).view({2, 1})),
                  "frequency position out of range", "(9, 0)");
}

QTEST_APPLESS_MAIN(TestFourierFTPaths)
#include "tst_fourierft_paths.moc"
