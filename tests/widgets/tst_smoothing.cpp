// TensorBoard's debiased EMA: hand-computed values, the streaming version against the pure one,
// non-finite values passed through and not counted, the weight clamped to [0, 0.999].
#include "widgets/smoothing.h"

#include <QtTest/QtTest>

#include <cmath>
#include <limits>

using namespace fw::widgets;

class SmoothingTest : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void handComputedValues_data() {
    QTest::addColumn<QVector<double>>("y");
    QTest::addColumn<double>("weight");
    QTest::addColumn<QVector<double>>("expected");
    // w = 0.5: last 0.5, 1.25, 2.125; debias 0.5, 0.75, 0.875.
    QTest::newRow("w=0.5 on 1,2,3") << QVector<double>{1, 2, 3} << 0.5 << QVector<double>{1.0, 5.0 / 3.0, 17.0 / 7.0};
    // w = 0.9: last 0.4, 0.56, 1.304; debias 0.1, 0.19, 0.271.
    QTest::newRow("w=0.9 on 4,2,8") << QVector<double>{4, 2, 8} << 0.9
                                    << QVector<double>{4.0, 0.56 / 0.19, 1.304 / 0.271};
    QTest::newRow("w=0 is the identity") << QVector<double>{3, -1, 7} << 0.0 << QVector<double>{3, -1, 7};
    QTest::newRow("constant series unchanged") << QVector<double>{0.3, 0.3, 0.3} << 0.99
                                               << QVector<double>{0.3, 0.3, 0.3};
  }
  void handComputedValues() {
    QFETCH(QVector<double>, y);
    QFETCH(double, weight);
    QFETCH(QVector<double>, expected);
    const QVector<double> got = debiasedEma(y, weight);
    QCOMPARE(got.size(), expected.size());
    for (int i = 0; i < got.size(); ++i) QVERIFY2(std::abs(got[i] - expected[i]) < 1e-12, qPrintable(QString::number(got[i])));
  }

  void firstValueIsTheFirstPoint() {
    // The debias makes the first smoothed value the first raw value for any weight.
    for (double w : {0.1, 0.6, 0.999}) QCOMPARE(debiasedEma({2.5, 1.0}, w).front(), 2.5);
  }

  void streamingMatchesThePureFunction() {
    QVector<double> y;
    for (int i = 0; i < 500; ++i) y << std::exp(-i / 100.0) + 0.1 * std::sin(i * 0.7);
    const QVector<double> pure = debiasedEma(y, 0.8);
    EmaSmoother ema(0.8);
    for (int i = 0; i < y.size(); ++i) QVERIFY(std::abs(ema.push(y[i]) - pure[i]) < 1e-12);
    QCOMPARE(ema.count(), 500);
  }

  void nonFiniteValuesAreSkipped() {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    const QVector<double> got = debiasedEma({1, nan, 2, inf, 3}, 0.5);
    QVERIFY(std::isnan(got[1]));
    QVERIFY(std::isinf(got[3]));
    // The finite points smooth as if the others were not there: 1, 5/3, 17/7.
    QVERIFY(std::abs(got[0] - 1.0) < 1e-12);
    QVERIFY(std::abs(got[2] - 5.0 / 3.0) < 1e-12);
    QVERIFY(std::abs(got[4] - 17.0 / 7.0) < 1e-12);
    EmaSmoother ema(0.5);
    ema.push(nan);
    QCOMPARE(ema.count(), 0);
  }

  void weightIsClamped() {
    QCOMPARE(clampSmoothing(-0.3), 0.0);
    QCOMPARE(clampSmoothing(1.0), kMaxSmoothing);
    QCOMPARE(clampSmoothing(std::numeric_limits<double>::quiet_NaN()), 0.0);
    QCOMPARE(EmaSmoother(5.0).weight(), kMaxSmoothing);
    // At the largest weight the average still moves (no division by zero).
    EmaSmoother ema(1.0);
    QCOMPARE(ema.push(1.0), 1.0);
    const double second = ema.push(2.0);
    QVERIFY(second > 1.0 && second < 2.0);
  }

  void emptySeries() { QVERIFY(debiasedEma({}, 0.5).isEmpty()); }
};

QTEST_MAIN(SmoothingTest)
#include "tst_smoothing.moc"
