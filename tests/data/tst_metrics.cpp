// Metrics against numbers worked out by hand (the arithmetic is in the comments), with the
// degenerate cases that must give a defined value instead of a crash.
#include "train/metrics.h"
#include "util/error.h"

#include <QtTest/QtTest>

#include <cmath>

using namespace fw::train;

namespace {

std::vector<int64_t> ints(const QList<int>& v) { return std::vector<int64_t>(v.begin(), v.end()); }
std::vector<double> doubles(const QList<double>& v) { return std::vector<double>(v.begin(), v.end()); }

template <class F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const fw::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not an fw::Error: ") + e.what();
  }
  return "no error";
}

// The binary case used throughout:
//   index       0 1 2 3 4 5 6 7
//   prediction  1 0 1 1 0 1 0 0
//   label       1 0 0 1 1 1 0 1
// Confusion (positive = 1): TP = 3 (0, 3, 5), FP = 1 (2), FN = 2 (4, 7), TN = 2 (1, 6).
//   accuracy = 5/8 = 0.625
//   F1       = 2·3 / (2·3 + 1 + 2) = 6/9
//   MCC      = (TP·TN − FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (6 − 2) / sqrt(4·5·3·4) = 4/sqrt(240)
const QList<int> kPred{1, 0, 1, 1, 0, 1, 0, 0};
const QList<int> kLabel{1, 0, 0, 1, 1, 1, 0, 1};

}  // namespace

class TestMetrics : public QObject {
  Q_OBJECT

private slots:
  void binaryClassification() {
    QCOMPARE(accuracy(ints(kPred), ints(kLabel)), 0.625);
    QVERIFY(std::fabs(f1Binary(ints(kPred), ints(kLabel)) - 6.0 / 9.0) < 1e-12);
    QVERIFY(std::fabs(matthewsCorrelation(ints(kPred), ints(kLabel)) - 4.0 / std::sqrt(240.0)) < 1e-12);
    // F1 of class 0 instead: TP = 2, FP = 2 (4, 7), FN = 1 (2): 4 / (4 + 2 + 1) = 4/7.
    QVERIFY(std::fabs(f1Binary(ints(kPred), ints(kLabel), 0) - 4.0 / 7.0) < 1e-12);
  }

  void multiClassMatthews() {
    // prediction 0 1 2 2 1 0, label 0 1 2 1 1 2: c = 4 right of s = 6.
    // Predicted counts p = (2, 2, 2), true counts t = (1, 3, 2): Σ p·t = 2 + 6 + 4 = 12,
    // Σ p² = 12, Σ t² = 14. MCC = (4·6 − 12) / sqrt((36 − 12)(36 − 14)) = 12 / sqrt(528).
    const double mcc = matthewsCorrelation({0, 1, 2, 2, 1, 0}, {0, 1, 2, 1, 1, 2});
    QVERIFY(std::fabs(mcc - 12.0 / std::sqrt(528.0)) < 1e-12);
    QCOMPARE(matthewsCorrelation({0, 1, 2}, {0, 1, 2}), 1.0);
    QCOMPARE(matthewsCorrelation({1, 0, 1, 0}, {0, 1, 0, 1}), -1.0);
  }

  void pearsonByHand() {
    // x = 1..5, y = 2 4 5 4 5: means 3 and 4; dx = −2 −1 0 1 2, dy = −2 0 1 0 1;
    // Σ dx·dy = 6, Σ dx² = 10, Σ dy² = 6: r = 6 / sqrt(60).
    QVERIFY(std::fabs(pearson({1, 2, 3, 4, 5}, {2, 4, 5, 4, 5}) - 6.0 / std::sqrt(60.0)) < 1e-12);
    QCOMPARE(pearson({1, 2, 3}, {2, 4, 6}), 1.0);
    QCOMPARE(pearson({1, 2, 3}, {3, 2, 1}), -1.0);
  }

  void averageRanksWithTies() {
    // 5 → 1, 10 → 2, the three 20s share ranks 3, 4, 5 → 4 (scipy.stats.rankdata "average").
    QCOMPARE(averageRanks({10, 20, 20, 5, 20}), (std::vector<double>{2, 4, 4, 1, 4}));
    QCOMPARE(averageRanks({}), std::vector<double>{});
  }

  void spearman_data() {
    QTest::addColumn<QList<double>>("x");
    QTest::addColumn<QList<double>>("y");
    QTest::addColumn<double>("expected");
    // Ranks x: 1 2.5 2.5 4, y: 1 3 2 4; deviations −1.5 0 0 1.5 and −1.5 .5 −.5 1.5:
    // Σ = 4.5, Σ dx² = 4.5, Σ dy² = 5: ρ = 4.5 / sqrt(22.5) = 3 / sqrt(10).
    QTest::newRow("ties in x") << QList<double>{1, 2, 2, 3} << QList<double>{1, 3, 2, 4} << 3.0 / std::sqrt(10.0);
    // Ranks x: 1.5 1.5 3 4, y (2 1 1 3): 3 1.5 1.5 4; deviations −1 −1 .5 1.5 and .5 −1 −1 1.5:
    // Σ = 2.25, Σ dx² = Σ dy² = 4.5: ρ = 0.5.
    QTest::newRow("ties on both sides") << QList<double>{1, 1, 2, 3} << QList<double>{2, 1, 1, 3} << 0.5;
    // Ranks y (2 4 5 4 5): 1 2.5 4.5 2.5 4.5; dy = −2 −.5 1.5 −.5 1.5 against dx = −2..2:
    // Σ = 7, Σ dx² = 10, Σ dy² = 9: ρ = 7 / sqrt(90).
    QTest::newRow("STS-B-like") << QList<double>{1, 2, 3, 4, 5} << QList<double>{2, 4, 5, 4, 5} << 7.0 / std::sqrt(90.0);
    // Monotonic but not linear: ρ = 1 where Pearson is not.
    QTest::newRow("monotonic") << QList<double>{1, 2, 3, 4} << QList<double>{1, 8, 27, 64} << 1.0;
  }
  void spearman() {
    QFETCH(QList<double>, x);
    QFETCH(QList<double>, y);
    QFETCH(double, expected);
    QVERIFY2(std::fabs(fw::train::spearman(doubles(x), doubles(y)) - expected) < 1e-12,
             qPrintable(QString::number(fw::train::spearman(doubles(x), doubles(y)), 'g', 17)));
  }

  void degenerateInputs() {
    QVERIFY(std::isnan(accuracy({}, {})));
    QCOMPARE(f1Binary({}, {}), 0.0);
    QCOMPARE(f1Binary({0, 0, 0}, {0, 0, 0}), 0.0);  // no positive anywhere: sklearn's zero_division
    QCOMPARE(f1Binary({0, 0}, {1, 1}), 0.0);        // nothing predicted positive
    QCOMPARE(matthewsCorrelation({}, {}), 0.0);
    QCOMPARE(matthewsCorrelation({1, 1, 1, 1}, {0, 1, 0, 1}), 0.0);  // constant predictions
    QCOMPARE(matthewsCorrelation({0, 1, 0, 1}, {1, 1, 1, 1}), 0.0);  // constant labels
    QVERIFY(std::isnan(pearson({}, {})));
    QVERIFY(std::isnan(pearson({1}, {2})));
    QVERIFY(std::isnan(pearson({1, 2, 3}, {4, 4, 4})));
    QVERIFY(std::isnan(fw::train::spearman({2, 2, 2}, {1, 2, 3})));
  }

  void lengthMismatchIsAnError() {
    QVERIFY(QString::fromStdString(errorOf([] { accuracy({1, 0}, {1}); })).contains("differ in length: expected 1, got 2"));
    QVERIFY(QString::fromStdString(errorOf([] { pearson({1, 2}, {1, 2, 3}); })).startsWith("pearson:"));
  }

  void glueMetrics_data() {
    QTest::addColumn<QString>("task");
    QTest::addColumn<QStringList>("keys");
    QTest::addColumn<QList<double>>("values");
    const double acc = 0.625, f1 = 6.0 / 9.0, mcc = 4.0 / std::sqrt(240.0);
    QTest::newRow("CoLA") << "CoLA" << QStringList{"matthews_correlation"} << QList<double>{mcc};
    QTest::newRow("cola lowercase") << "cola" << QStringList{"matthews_correlation"} << QList<double>{mcc};
    QTest::newRow("MRPC") << "MRPC" << QStringList{"accuracy", "f1"} << QList<double>{acc, f1};
    QTest::newRow("qqp") << "qqp" << QStringList{"accuracy", "f1"} << QList<double>{acc, f1};
    QTest::newRow("SST-2") << "sst2" << QStringList{"accuracy"} << QList<double>{acc};
    QTest::newRow("RTE") << "RTE" << QStringList{"accuracy"} << QList<double>{acc};
    QTest::newRow("MNLI mismatched") << "mnli_mismatched" << QStringList{"accuracy"} << QList<double>{acc};
    QTest::newRow("STS-B") << "STS-B" << QStringList{"pearson", "spearmanr"}
                           << QList<double>{6.0 / std::sqrt(60.0), 7.0 / std::sqrt(90.0)};
  }
  void glueMetrics() {
    QFETCH(QString, task);
    QFETCH(QStringList, keys);
    QFETCH(QList<double>, values);
    const auto m = fw::train::glueMetrics(task.toStdString(), ints(kPred), ints(kLabel), {1, 2, 3, 4, 5}, {2, 4, 5, 4, 5});
    QStringList got;
    for (const auto& [k, v] : m) got.push_back(QString::fromStdString(k));
    QCOMPARE(got, keys);  // std::map: sorted keys
    for (int i = 0; i < keys.size(); ++i)
      QVERIFY2(std::fabs(m.at(keys[i].toStdString()) - values[i]) < 1e-12, qPrintable(keys[i]));
  }

  void glueMetricsUnknownTask() {
    const QString e = QString::fromStdString(errorOf([] { fw::train::glueMetrics("squad", {}, {}); }));
    QVERIFY2(e.contains("unknown GLUE task") && e.contains("CoLA, SST-2, MRPC, STS-B, QQP") && e.contains("'squad'"),
             qPrintable(e));
  }
};

QTEST_APPLESS_MAIN(TestMetrics)
#include "tst_metrics.moc"
