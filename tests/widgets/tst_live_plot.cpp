// LivePlot: pending points reach the graphs only on flush, in one queued replot; a hidden plot is
// neither fed nor replotted until shown; a smoothing change rebuilds the smoothed graphs from the
// store; long series are decimated with their extremes kept; log-y leaves out values <= 0; eval
// series are markers on a right-hand axis.
#include "widgets/live_plot.h"
#include "widgets/series_store.h"
#include "widgets/smoothing.h"

#include <qcustomplot.h>

#include <QtTest/QtTest>

#include <cmath>

using namespace fw::widgets;

namespace {

QVector<double> values(const QCPGraph* g) {
  QVector<double> out;
  for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) out << it->value;
  return out;
}

QVector<double> keys(const QCPGraph* g) {
  QVector<double> out;
  for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) out << it->key;
  return out;
}

// Shown, exposed, and done with the replots that showing and resizing cause.
bool showAndSettle(QWidget& w) {
  w.resize(480, 320);
  w.show();
  if (!QTest::qWaitForWindowExposed(&w)) return false;
  for (int i = 0; i < 3; ++i) QCoreApplication::processEvents();
  return true;
}

const QString kLoss = QStringLiteral("fourierft/loss");

bool containsColour(const QImage& image, const QColor& c) {
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x) {
      const QColor p = image.pixelColor(x, y);
      if (std::abs(p.red() - c.red()) < 24 && std::abs(p.green() - c.green()) < 24 && std::abs(p.blue() - c.blue()) < 24)
        return true;
    }
  return false;
}

}  // namespace

class LivePlotTest : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void tracksPickUpSeriesByMetric() {
    SeriesStore store;
    store.append(QStringLiteral("early/loss"), 1, 1);  // before the plot existed
    LivePlot plot(&store, QStringLiteral("Loss"), QStringLiteral("loss"));
    plot.track(QStringLiteral("loss"), SeriesKind::Smoothed);
    plot.track(QStringLiteral("eval:*"), SeriesKind::Points);
    store.append(kLoss, 1, 2);
    store.append(QStringLiteral("fourierft/eval:accuracy"), 1, 0.5);
    store.append(QStringLiteral("fourierft/lr"), 1, 0.1);
    QCOMPARE(plot.seriesShown(), (QStringList{QStringLiteral("early/loss"), kLoss,
                                              QStringLiteral("fourierft/eval:accuracy")}));
    QCOMPARE(plot.smoothedGraph(kLoss)->name(), QStringLiteral("fourierft"));
    QCOMPARE(plot.rawGraph(QStringLiteral("fourierft/eval:accuracy"))->name(), QStringLiteral("fourierft accuracy"));
    QVERIFY(!plot.rawGraph(QStringLiteral("fourierft/lr")));
    // The raw loss line stays out of the legend: one entry per method and metric.
    QCOMPARE(plot.customPlot()->legend->itemCount(), 3);
  }

  void pendingPointsReachTheGraphOnlyOnFlushInOneReplot() {
    SeriesStore store;
    LivePlot plot(&store, QStringLiteral("Loss"), QStringLiteral("loss"));
    plot.track(QStringLiteral("loss"), SeriesKind::Smoothed);
    plot.setSmoothing(0.6);
    QVERIFY(showAndSettle(plot));
    QSignalSpy replots(plot.customPlot(), &QCustomPlot::afterReplot);

    for (int i = 1; i <= 100; ++i) store.append(kLoss, i, 1.0 / i);
    QCPGraph* raw = plot.rawGraph(kLoss);
    QVERIFY(raw);
    QCOMPARE(raw->dataCount(), 0);  // events only append to the store
    QVERIFY(plot.hasPendingData());
    QCoreApplication::processEvents();
    QCOMPARE(replots.count(), 0);

    QVERIFY(plot.flush());
    QCOMPARE(raw->dataCount(), 100);
    QCOMPARE(plot.smoothedGraph(kLoss)->dataCount(), 100);
    QCOMPARE(store.pendingCount(kLoss), 0);
    QCOMPARE(replots.count(), 0);  // queued, not immediate
    for (int i = 101; i <= 150; ++i) store.append(kLoss, i, 1.0 / i);
    QVERIFY(plot.flush());          // a second flush before the event loop runs ...
    QCOMPARE(raw->dataCount(), 150);
    QTRY_COMPARE(replots.count(), 1);  // ... merges into the same replot
    QCoreApplication::processEvents();
    QCOMPARE(replots.count(), 1);

    QVERIFY(!plot.flush());  // nothing new: no replot
    QCoreApplication::processEvents();
    QCOMPARE(replots.count(), 1);
    QVERIFY(plot.replotTime() >= 0);
    QCOMPARE(keys(raw).front(), 1.0);
    QCOMPARE(keys(raw).back(), 150.0);
  }

  void hiddenPlotIsNotReplotted() {
    SeriesStore store;
    LivePlot plot(&store, QStringLiteral("Loss"), QStringLiteral("loss"));
    plot.track(QStringLiteral("loss"), SeriesKind::Line);
    QCoreApplication::processEvents();  // QCustomPlot's constructor queues a replot of its own
    QSignalSpy replots(plot.customPlot(), &QCustomPlot::afterReplot);
    for (int i = 1; i <= 20; ++i) store.append(kLoss, i, 1.0 / i);
    QVERIFY(!plot.isVisible());
    QVERIFY(!plot.flush());
    QCOMPARE(plot.rawGraph(kLoss)->dataCount(), 0);
    QCOMPARE(store.pendingCount(kLoss), 20);  // left for when it is shown
    QCoreApplication::processEvents();
    QCOMPARE(replots.count(), 0);

    plot.resize(400, 300);
    plot.show();  // catches up by itself
    QTRY_COMPARE(plot.rawGraph(kLoss)->dataCount(), 20);
    QTRY_VERIFY(replots.count() >= 1);
  }

  void grabOfAHiddenPlotIsCurrent() {
    SeriesStore store;
    LivePlot plot(&store, QStringLiteral("Loss"), QStringLiteral("loss"));
    plot.track(QStringLiteral("loss"), SeriesKind::Line);
    QVERIFY(showAndSettle(plot));
    plot.hide();
    store.append(kLoss, {1, 2, 3}, {3, 2, 1});
    QVERIFY(!plot.flush());
    QVERIFY(!containsColour(plot.grab().toImage(), store.methodColor(QStringLiteral("lora"))));
    store.append(QStringLiteral("lora/loss"), {1, 2, 3}, {3.5, 2.5, 1.5});
    const QImage image = plot.grab().toImage();  // painting a hidden plot catches up first
    QCOMPARE(plot.rawGraph(QStringLiteral("lora/loss"))->dataCount(), 3);
    QVERIFY(containsColour(image, store.methodColor(QStringLiteral("lora"))));
  }

  void plotOnAHiddenTabWaits() {
    SeriesStore store;
    QTabWidget tabs;
    auto* shown = new LivePlot(&store, QStringLiteral("Loss"), QStringLiteral("loss"));
    auto* hidden = new LivePlot(&store, QStringLiteral("Memory"), QStringLiteral("MiB"));
    shown->track(QStringLiteral("loss"), SeriesKind::Line);
    hidden->track(QStringLiteral("memory_mib"), SeriesKind::Line);
    tabs.addTab(shown, QStringLiteral("loss"));
    tabs.addTab(hidden, QStringLiteral("memory"));
    QVERIFY(showAndSettle(tabs));
    QSignalSpy hiddenReplots(hidden->customPlot(), &QCustomPlot::afterReplot);
    QSignalSpy shownReplots(shown->customPlot(), &QCustomPlot::afterReplot);
    store.append(kLoss, 1, 1.0);
    store.append(QStringLiteral("fourierft/memory_mib"), 1, 512.0);
    QVERIFY(shown->flush());
    QVERIFY(!hidden->flush());
    QTRY_COMPARE(shownReplots.count(), 1);
    QCOMPARE(hiddenReplots.count(), 0);
    QCOMPARE(hidden->rawGraph(QStringLiteral("fourierft/memory_mib"))->dataCount(), 0);
    tabs.setCurrentIndex(1);
    QTRY_COMPARE(hidden->rawGraph(QStringLiteral("fourierft/memory_mib"))->dataCount(), 1);
  }

  void smoothingChangeRebuildsSmoothedData() {
    SeriesStore store;
    LivePlot plot(&store, QStringLiteral("Loss"), QStringLiteral("loss"));
    plot.track(QStringLiteral("loss"), SeriesKind::Smoothed);
    plot.setSmoothing(0.5);
    store.append(kLoss, {1, 2, 3}, {1, 2, 3});
    QVERIFY(plot.pull());
    QCPGraph* smooth = plot.smoothedGraph(kLoss);
    QVector<double> got = values(smooth);
    QCOMPARE(got.size(), 3);
    QVERIFY(std::abs(got[0] - 1.0) < 1e-9);
    QVERIFY(std::abs(got[1] - 1.6666666667) < 1e-9);
    QVERIFY(std::abs(got[2] - 2.4285714286) < 1e-9);

    QVERIFY(showAndSettle(plot));
    QSignalSpy replots(plot.customPlot(), &QCustomPlot::afterReplot);
    plot.setSmoothing(0.9);
    got = values(smooth);
    const QVector<double> expected = debiasedEma({1, 2, 3}, 0.9);
    for (int i = 0; i < 3; ++i) QVERIFY(std::abs(got[i] - expected[i]) < 1e-12);
    QCOMPARE(values(plot.rawGraph(kLoss)), (QVector<double>{1, 2, 3}));  // raw untouched
    QVERIFY(plot.rawGraph(kLoss)->visible());
    QTRY_COMPARE(replots.count(), 1);

    // Streaming after a rebuild continues the same average.
    store.append(kLoss, 4, 4);
    QVERIFY(plot.flush());
    const QVector<double> longer = debiasedEma({1, 2, 3, 4}, 0.9);
    QVERIFY(std::abs(values(smooth).back() - longer.back()) < 1e-12);

    plot.setSmoothing(0.0);  // no smoothing: the line is the raw values, the faint copy hidden
    QCOMPARE(values(smooth), (QVector<double>{1, 2, 3, 4}));
    QVERIFY(!plot.rawGraph(kLoss)->visible());
  }

  void longSeriesAreDecimatedKeepingExtremes() {
    SeriesStore store;
    LivePlot plot(&store, QStringLiteral("Loss"), QStringLiteral("loss"));
    plot.track(QStringLiteral("loss"), SeriesKind::Smoothed);
    plot.setSmoothing(0.6);
    plot.setMaxPointsPerGraph(1000);
    for (int i = 0; i < 10000; ++i) store.append(kLoss, i, i == 123 ? 50.0 : 1.0 + 0.1 * std::sin(i * 0.3));
    plot.pull();
    QCPGraph* raw = plot.rawGraph(kLoss);
    QVERIFY(raw->dataCount() <= 1000);
    QVERIFY(raw->dataCount() >= 500);
    QVERIFY(plot.smoothedGraph(kLoss)->dataCount() <= 1000);
    QCOMPARE(keys(raw).front(), 0.0);
    QCOMPARE(keys(raw).back(), 9999.0);
    const QVector<double> v = values(raw);
    QCOMPARE(*std::max_element(v.cbegin(), v.cend()), 50.0);  // the spike survives
    // The newest points are kept as they came.
    const QVector<double> k = keys(raw);
    QVERIFY(std::is_sorted(k.cbegin(), k.cend()));
    for (int i = 0; i < 100; ++i) QCOMPARE(k[k.size() - 1 - i], 9999.0 - i);
    QCOMPARE(store.points(kLoss).size(), 10000);  // the store keeps everything
  }

  void logAxisLeavesOutNonPositiveValues() {
    SeriesStore store;
    LivePlot plot(&store, QStringLiteral("LR"), QStringLiteral("lr"));
    plot.track(QStringLiteral("lr"), SeriesKind::Line);
    store.append(QStringLiteral("a/lr"), {1, 2, 3, 4}, {0.1, 0.0, -1.0, 0.2});
    plot.pull();
    plot.setLogY(true);
    QCOMPARE(plot.customPlot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
    const QVector<double> v = values(plot.rawGraph(QStringLiteral("a/lr")));
    QCOMPARE(v.size(), 4);
    QVERIFY(std::isnan(v[1]) && std::isnan(v[2]));
    QCOMPARE(v[3], 0.2);
    QVERIFY(plot.customPlot()->yAxis->range().lower > 0);
    plot.setLogY(false);
    QCOMPARE(values(plot.rawGraph(QStringLiteral("a/lr")))[2], -1.0);
  }

  void evalSeriesArePointsOnTheRightAxis() {
    SeriesStore store;
    LivePlot plot(&store, QStringLiteral("Loss"), QStringLiteral("loss"));
    plot.setY2Label(QStringLiteral("accuracy"));
    plot.track(QStringLiteral("loss"), SeriesKind::Smoothed);
    plot.track(QStringLiteral("eval:accuracy"), SeriesKind::Points, YAxisSide::Right, QStringLiteral("(eval acc.)"));
    QVERIFY(!plot.customPlot()->yAxis2->visible());
    store.append(kLoss, {1, 2, 3}, {2.0, 1.5, 1.2});
    store.append(QStringLiteral("fourierft/eval:accuracy"), {2, 3}, {0.6, 0.7});
    plot.pull();
    QCPGraph* acc = plot.rawGraph(QStringLiteral("fourierft/eval:accuracy"));
    QCOMPARE(acc->valueAxis(), plot.customPlot()->yAxis2);
    QCOMPARE(acc->keyAxis(), plot.customPlot()->xAxis);
    QVERIFY(plot.customPlot()->yAxis2->visible());
    QCOMPARE(acc->scatterStyle().shape(), QCPScatterStyle::ssCircle);
    QCOMPARE(acc->lineStyle(), QCPGraph::lsLine);
    QCOMPARE(acc->name(), QStringLiteral("fourierft (eval acc.)"));
    QCOMPARE(acc->pen().color(), store.methodColor(QStringLiteral("fourierft")));
    QCOMPARE(plot.customPlot()->xAxis->label(), QStringLiteral("step"));
    QCOMPARE(plot.customPlot()->yAxis2->label(), QStringLiteral("accuracy"));
    // The raw line is the method's colour, faint.
    QCOMPARE(plot.rawGraph(kLoss)->pen().color().alpha(), 60);
  }

  void clearingTheStoreEmptiesThePlot() {
    SeriesStore store;
    LivePlot plot(&store, QStringLiteral("Loss"), QStringLiteral("loss"));
    plot.track(QStringLiteral("loss"), SeriesKind::Smoothed);
    store.append(kLoss, 1, 1);
    plot.pull();
    QCOMPARE(plot.customPlot()->graphCount(), 2);
    store.clear();
    QCOMPARE(plot.customPlot()->graphCount(), 0);
    QVERIFY(plot.seriesShown().isEmpty());
    store.append(kLoss, 1, 1);  // tracks stay
    QCOMPARE(plot.seriesShown(), QStringList{kLoss});
  }

  // The Evaluation plot sat beside the loss plot at a third of its width and cut "fourierft
  // accuracy" to "fourierft accu": entries per row now follow the plot's width.
  void legendRowsFitTheWidth() {
    SeriesStore store;
    LivePlot plot(&store, QStringLiteral("Evaluation"), QStringLiteral("metric"));
    plot.track(QStringLiteral("eval:*"), SeriesKind::Points);
    for (const char* method : {"fourierft", "lora", "head-only"})
      store.append(QStringLiteral("%1/eval:accuracy").arg(method), 1, 0.5);
    plot.pull();
    QCPLegend* legend = plot.customPlot()->legend;
    QCOMPARE(legend->itemCount(), 3);
    // Filled row by row: each column as wide as its widest entry.
    const auto entriesFit = [&](int width) {
      const int c = legend->wrap();
      int total = (c - 1) * legend->columnSpacing() + legend->margins().left() + legend->margins().right();
      for (int col = 0; col < c; ++col) {
        int widest = 0;
        for (int i = col; i < legend->itemCount(); i += c) widest = std::max(widest, legend->item(i)->minimumOuterSizeHint().width());
        total += widest;
      }
      return total <= width;
    };
    QVERIFY(showAndSettle(plot));
    const auto resized = [&](int width) {
      plot.resize(width, 300);
      QCoreApplication::processEvents();  // the layout passes the size on to the QCustomPlot inside
      return plot.customPlot()->width() == width;
    };
    QVERIFY(resized(900));
    QCOMPARE(legend->wrap(), 3);  // wide: all three in one row
    QVERIFY(entriesFit(900));
    QVERIFY(resized(280));
    QVERIFY2(legend->wrap() < 3, qPrintable(QString::number(legend->wrap())));
    QVERIFY(entriesFit(280));
    QCOMPARE(legend->rowCount(), (3 + legend->wrap() - 1) / legend->wrap());
    QVERIFY(resized(220));  // the plot's minimum width
    QCOMPARE(legend->wrap(), 1);  // never less than one per row
    // A report image lays the legend out for its own width, then for the widget's again.
    plot.render(900, 300);
    QCOMPARE(legend->wrap(), 1);
    QVERIFY(resized(900));
    QCOMPARE(legend->wrap(), 3);
  }

  void renderGivesTheRequestedSize() {
    SeriesStore store;
    LivePlot plot(&store, QStringLiteral("Loss"), QStringLiteral("loss"));
    plot.track(QStringLiteral("loss"), SeriesKind::Line);
    store.append(kLoss, {1, 2, 3}, {3, 2, 1});
    const QImage image = plot.render(320, 200);
    QCOMPARE(image.size(), QSize(320, 200));
    QCOMPARE(plot.rawGraph(kLoss)->dataCount(), 3);  // rendering takes the pending points
    QVERIFY(plot.render(0, 10).isNull());
  }
};

QTEST_MAIN(LivePlotTest)
#include "tst_live_plot.moc"
