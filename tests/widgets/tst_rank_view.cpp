// RankView: one line per method for the current layer, the effective rank in each legend entry,
// the randomized-SVD note, the layer picker, zeros left off the log axis, throttled replots.
#include "widgets/rank_view.h"
#include "widgets/series_store.h"

#include <qcustomplot.h>

#include <QtTest/QtTest>

#include <cmath>

using namespace fw::widgets;

namespace {

QVector<double> decaying(int n, double rate) {
  QVector<double> v;
  for (int i = 0; i < n; ++i) v << 10.0 * std::exp(-rate * i);
  return v;
}

}  // namespace

class RankViewTest : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void legendCarriesTheEffectiveRank() {
    RankView view;
    view.setLayers({QStringLiteral("layer.0.query"), QStringLiteral("layer.0.value")});
    view.setSingularValues(QStringLiteral("fourierft"), QStringLiteral("layer.0.query"), decaying(64, 0.02), 61.3,
                           false, 64);
    view.setSingularValues(QStringLiteral("lora"), QStringLiteral("layer.0.query"), decaying(64, 0.5), 7.84, false,
                           64);
    QTRY_COMPARE(view.legendTexts().size(), 2);
    const QStringList legend = view.legendTexts();
    QCOMPARE(legend[0], QStringLiteral("fourierft (eff. rank 61.3)"));
    QVERIFY(legend[1].contains(QStringLiteral("eff. rank 7.8")));
    QCOMPARE(view.graph(QStringLiteral("fourierft"))->dataCount(), 64);
    QCOMPARE(view.customPlot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
    QCOMPARE(view.customPlot()->yAxis->numberFormat(), QStringLiteral("eb"));  // 14 decades: 10^k
    QCOMPARE(view.graph(QStringLiteral("fourierft"))->data()->constBegin()->key, 1.0);  // index from 1
    QVERIFY(view.noteText().isEmpty());
  }

  void truncatedValuesAreNoted() {
    RankView view;
    view.setSingularValues(QStringLiteral("fourierft"), QStringLiteral("big"), decaying(128, 0.01), 120.5, true, 768);
    view.flush();
    QCOMPARE(view.noteText(), QStringLiteral("top 128 of 768, randomized SVD"));
    view.setSingularValues(QStringLiteral("lora"), QStringLiteral("big"), decaying(64, 0.3), 8, true, 768);
    view.flush();
    QVERIFY(view.noteText().contains(QStringLiteral("fourierft: top 128 of 768")));
    QVERIFY(view.noteText().contains(QStringLiteral("lora: top 64 of 768")));
  }

  // A run's snapshot keeps the largest 256 values of an exact SVD: the curve says it is cut (a
  // 768 x 768 layer's curve stopped at 256 under "eff. rank 690", with no note).
  void exactButShortenedValuesAreNoted() {
    RankView view;
    view.setSingularValues(QStringLiteral("fourierft"), QStringLiteral("big"), decaying(256, 0.001), 690.2, false, 768);
    view.flush();
    QCOMPARE(view.noteText(), QStringLiteral("top 256 of 768"));
    view.setSingularValues(QStringLiteral("lora"), QStringLiteral("big"), decaying(256, 0.3), 7.1, false, 768);
    view.flush();
    QCOMPARE(view.noteText(), QStringLiteral("top 256 of 768"));  // one note when both are cut alike
    view.setSingularValues(QStringLiteral("fourierft"), QStringLiteral("small"), decaying(64, 0.1), 60.0, false, 64);
    view.setCurrentLayer(QStringLiteral("small"));
    view.flush();
    QVERIFY(view.noteText().isEmpty());  // a whole spectrum needs none
  }

  void layerPickerSwitchesTheLines() {
    RankView view;
    QSignalSpy changed(&view, &RankView::layerChanged);
    view.setSingularValues(QStringLiteral("fourierft"), QStringLiteral("q"), decaying(10, 0.1), 9.1, false, 10);
    view.setSingularValues(QStringLiteral("fourierft"), QStringLiteral("v"), decaying(20, 0.1), 17.2, false, 20);
    QCOMPARE(view.layers(), (QStringList{QStringLiteral("q"), QStringLiteral("v")}));
    QCOMPARE(view.currentLayer(), QStringLiteral("q"));
    view.flush();
    QCOMPARE(view.graph(QStringLiteral("fourierft"))->dataCount(), 10);
    view.layerPicker()->setCurrentIndex(1);
    QCOMPARE(changed.count(), 2);  // the first layer, then v
    QCOMPARE(view.graph(QStringLiteral("fourierft"))->dataCount(), 20);
    QVERIFY(view.legendTexts().front().contains(QStringLiteral("17.2")));
    view.setCurrentLayer(QStringLiteral("missing"));  // ignored
    QCOMPARE(view.currentLayer(), QStringLiteral("v"));
  }

  void zerosAreLeftOffTheLogAxis() {
    RankView view;
    view.setSingularValues(QStringLiteral("lora"), QStringLiteral("q"), {5, 3, 0, 0}, 1.9, false, 4);
    view.flush();
    QCOMPARE(view.graph(QStringLiteral("lora"))->dataCount(), 2);
  }

  // A rank-2 ΔW's other values are its float32 rounding: not drawn (they stretched the log axis
  // over ten decades), counted in the note, the axis fitted to the values drawn.
  void roundingNoiseIsNotDrawn() {
    RankView view;
    view.setSingularValues(QStringLiteral("fourierft"), QStringLiteral("q"), decaying(4, 0.1), 3.9, false, 4, 1e-6);
    view.setSingularValues(QStringLiteral("lora"), QStringLiteral("q"), {5, 3, 2e-7, 1e-9}, 1.9, false, 4, 1e-6);
    view.flush();
    QCOMPARE(view.graph(QStringLiteral("lora"))->dataCount(), 2);
    QCOMPARE(view.graph(QStringLiteral("fourierft"))->dataCount(), 4);
    QCOMPARE(view.noteText(), QStringLiteral("lora: 2 values at ΔW's rounding level (≤ 1e-06) not drawn"));
    QVERIFY(view.customPlot()->yAxis->range().lower > 1);
    // Less than two decades: plain labels (10^k rounding labelled 2.5 and 3 both "3·10^0").
    QCOMPARE(view.customPlot()->yAxis->numberFormat(), QStringLiteral("g"));
  }

  void replotsAreThrottled() {
    RankView view;
    view.resize(500, 400);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setSingularValues(QStringLiteral("fourierft"), QStringLiteral("q"), decaying(32, 0.1), 30, false, 32);
    for (int i = 0; i < 3; ++i) QCoreApplication::processEvents();
    QSignalSpy replots(view.customPlot(), &QCustomPlot::afterReplot);
    for (int i = 0; i < 20; ++i)
      view.setSingularValues(QStringLiteral("fourierft"), QStringLiteral("q"), decaying(32, 0.1 + i * 0.01), 30 - i,
                             false, 32);
    QCOMPARE(replots.count(), 0);
    QTRY_COMPARE(replots.count(), 1);
    QCoreApplication::processEvents();
    QCOMPARE(replots.count(), 1);
    QVERIFY(view.legendTexts().front().contains(QStringLiteral("eff. rank 11.0")));
  }

  void grabOfANeverShownViewIsCurrent() {
    SeriesStore store;
    RankView view(&store);
    view.resize(600, 400);
    view.setSingularValues(QStringLiteral("fourierft"), QStringLiteral("q"), decaying(32, 0.1), 30, false, 32);
    view.grab();
    view.setSingularValues(QStringLiteral("lora"), QStringLiteral("q"), decaying(32, 0.4), 6, false, 32);
    const QImage image = view.grab().toImage();  // no flush, no event loop: the paint catches up
    QCOMPARE(view.legendTexts().size(), 2);
    const QColor lora = store.methodColor(QStringLiteral("lora"));
    bool found = false;
    for (int y = 0; y < image.height() && !found; ++y)
      for (int x = 0; x < image.width() && !found; ++x) found = image.pixelColor(x, y) == lora;
    QVERIFY(found);
  }

  void coloursComeFromTheSharedStore() {
    SeriesStore store;
    store.methodColor(QStringLiteral("lora"));  // lora saw the plots first
    RankView view(&store);
    view.setSingularValues(QStringLiteral("fourierft"), QStringLiteral("q"), {2, 1}, 2, false, 2);
    view.setSingularValues(QStringLiteral("lora"), QStringLiteral("q"), {2, 1}, 2, false, 2);
    view.flush();
    QCOMPARE(view.graph(QStringLiteral("lora"))->pen().color(), SeriesStore::paletteColor(0));
    QCOMPARE(view.graph(QStringLiteral("fourierft"))->pen().color(), SeriesStore::paletteColor(1));
  }

  void clearRemovesEverything() {
    RankView view;
    view.setSingularValues(QStringLiteral("fourierft"), QStringLiteral("q"), {2, 1}, 2, false, 2);
    view.clear();
    QVERIFY(view.layers().isEmpty());
    QCOMPARE(view.customPlot()->graphCount(), 0);
  }
};

QTEST_MAIN(RankViewTest)
#include "tst_rank_view.moc"
