// PlotPanel: events reach the plots through the one 100 ms timer (one replot per burst), the
// smoothing slider is debounced, metrics.jsonl replays with the right point counts per method
// (a torn last line skipped, a bad middle line reported), renderPlot gives a drawn image.
#include "widgets/live_plot.h"
#include "widgets/plot_panel.h"
#include "widgets/series_store.h"

#include <qcustomplot.h>

#include <QtTest/QtTest>

using namespace fw::widgets;

namespace {

bool showAndSettle(QWidget& w, QSize size = {1000, 700}) {
  w.resize(size);
  w.show();
  if (!QTest::qWaitForWindowExposed(&w)) return false;
  for (int i = 0; i < 3; ++i) QCoreApplication::processEvents();
  return true;
}

QByteArray stepLine(const char* method, int step, double loss) {
  return QStringLiteral("{\"event\":\"step\",\"method\":\"%1\",\"step\":%2,\"epoch\":0,\"loss\":%3,\"lr\":0.01,"
                        "\"samples_per_s\":250.5,\"memory_mib\":812.0,\"peak_memory_mib\":900.0,\"time\":1.5}")
             .arg(QLatin1String(method))
             .arg(step)
             .arg(loss)
      .toUtf8() + '\n';
}

QByteArray evalLine(const char* method, int step, double accuracy) {
  return QStringLiteral("{\"event\":\"eval\",\"method\":\"%1\",\"step\":%2,\"epoch\":0,\"loss\":0.5,\"examples\":100,"
                        "\"metrics\":{\"accuracy\":%3,\"f1\":null}}")
             .arg(QLatin1String(method))
             .arg(step)
             .arg(accuracy)
      .toUtf8() + '\n';
}

bool hasInk(const QImage& image) {
  const QRgb background = image.pixel(0, 0);
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x)
      if (image.pixel(x, y) != background) return true;
  return false;
}

}  // namespace

class PlotPanelTest : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void plotsAreNamed() {
    SeriesStore store;
    PlotPanel panel(&store);
    for (const QString& name : PlotPanel::plotNames()) QVERIFY2(panel.plot(name), qPrintable(name));
    QVERIFY(!panel.plot(QStringLiteral("nope")));
    QCOMPARE(panel.plot(QStringLiteral("memory"))->customPlot()->yAxis->label(), QStringLiteral("MiB"));
    QCOMPARE(panel.plot(QStringLiteral("throughput"))->customPlot()->yAxis->label(), QStringLiteral("samples/s"));
    QCOMPARE(panel.plot(QStringLiteral("loss"))->customPlot()->xAxis->label(), QStringLiteral("step"));
  }

  void eventsAreFlushedByTheTimerInOneReplot() {
    SeriesStore store;
    PlotPanel panel(&store);
    QVERIFY(showAndSettle(panel));
    LivePlot* loss = panel.plot(QStringLiteral("loss"));
    QSignalSpy replots(loss->customPlot(), &QCustomPlot::afterReplot);
    for (int i = 1; i <= 50; ++i) panel.onStep(QStringLiteral("fourierft"), i, 2.0 / i, 0.01, 300, 700);
    QVERIFY(panel.flushTimer().isActive());
    QCOMPARE(panel.flushTimer().interval(), 100);
    QCOMPARE(loss->rawGraph(QStringLiteral("fourierft/loss"))->dataCount(), 0);
    QTRY_COMPARE(loss->rawGraph(QStringLiteral("fourierft/loss"))->dataCount(), 50);
    QCOMPARE(panel.plot(QStringLiteral("memory"))->rawGraph(QStringLiteral("fourierft/memory_mib"))->dataCount(), 50);
    QCOMPARE(panel.plot(QStringLiteral("lr"))->rawGraph(QStringLiteral("fourierft/lr"))->dataCount(), 50);
    QTRY_COMPARE(replots.count(), 1);  // fifty events, one replot
    QCoreApplication::processEvents();
    QCOMPARE(replots.count(), 1);
    QVERIFY(!panel.flushTimer().isActive());  // idle until the next event

    QMap<QString, double> metrics{{QStringLiteral("accuracy"), 0.8}, {QStringLiteral("loss"), 0.7},
                                  {QStringLiteral("perplexity"), 3.5}};
    panel.onEval(QStringLiteral("fourierft"), 50, metrics);
    LivePlot* eval = panel.plot(QStringLiteral("eval"));
    QTRY_COMPARE(eval->rawGraph(QStringLiteral("fourierft/eval:accuracy"))->dataCount(), 1);
    QCOMPARE(loss->rawGraph(QStringLiteral("fourierft/eval_loss"))->dataCount(), 1);
    QVERIFY(!eval->rawGraph(QStringLiteral("fourierft/eval:loss")));
    QCOMPARE(eval->rawGraph(QStringLiteral("fourierft/eval:perplexity"))->valueAxis(), eval->customPlot()->yAxis2);
  }

  void smoothingSliderIsDebounced() {
    SeriesStore store;
    PlotPanel panel(&store);
    QCOMPARE(panel.smoothing(), 0.6);
    QCOMPARE(panel.plot(QStringLiteral("loss"))->smoothing(), 0.6);
    QSignalSpy changed(&panel, &PlotPanel::smoothingChanged);
    auto* slider = panel.findChild<QSlider*>();
    QVERIFY(slider);
    QCOMPARE(slider->maximum(), 999);
    for (int v : {700, 800, 900}) slider->setValue(v);
    QCOMPARE(panel.plot(QStringLiteral("loss"))->smoothing(), 0.6);  // not yet
    QTRY_COMPARE(changed.count(), 1);
    QCOMPARE(panel.smoothing(), 0.9);
    QCOMPARE(panel.plot(QStringLiteral("loss"))->smoothing(), 0.9);
    panel.setSmoothing(0.25);
    QCOMPARE(slider->value(), 250);
    QCOMPARE(panel.plot(QStringLiteral("loss"))->smoothing(), 0.25);
  }

  void loadMetricsJsonlCountsPointsPerMethod() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("metrics.jsonl"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    for (int i = 1; i <= 5; ++i) f.write(stepLine("fourierft", i * 10, 1.0 / i));
    f.write(evalLine("fourierft", 30, 0.7));
    for (int i = 1; i <= 3; ++i) f.write(stepLine("lora", i * 10, 1.5 / i));
    f.write("{\"event\":\"run\",\"status\":\"finished\"}" "\n");  // other events are ignored
    f.write(evalLine("fourierft", 50, 0.8));
    f.write(evalLine("lora", 30, 0.75));
    f.write("{\"event\":\"step\",\"method\":\"lora\",\"step\":40,\"lo");  // torn: no newline
    f.close();

    SeriesStore store;
    PlotPanel panel(&store);
    panel.onStep(QStringLiteral("stale"), 1, 1, 1, 1, 1);  // replaced by the load
    QString error;
    QVERIFY(panel.loadMetricsJsonl(path, &error));
    QVERIFY2(error.isEmpty(), qPrintable(error));  // a torn last line is no error
    QCOMPARE(store.methods(), (QStringList{QStringLiteral("fourierft"), QStringLiteral("lora")}));
    QCOMPARE(store.count(QStringLiteral("fourierft/loss")), 5);
    QCOMPARE(store.count(QStringLiteral("lora/loss")), 3);
    QCOMPARE(store.count(QStringLiteral("lora/memory_mib")), 3);
    QCOMPARE(store.count(QStringLiteral("fourierft/eval:accuracy")), 2);
    QCOMPARE(store.count(QStringLiteral("fourierft/eval_loss")), 2);
    QCOMPARE(store.count(QStringLiteral("lora/eval:accuracy")), 1);
    QVERIFY(!store.contains(QStringLiteral("fourierft/eval:f1")));  // null metric values
    QVERIFY(!store.contains(QStringLiteral("stale/loss")));

    // The plots get the same counts (renderPlot takes pending points even while hidden).
    QVERIFY(!panel.renderPlot(QStringLiteral("loss"), 400, 300).isNull());
    LivePlot* loss = panel.plot(QStringLiteral("loss"));
    QCOMPARE(loss->rawGraph(QStringLiteral("fourierft/loss"))->dataCount(), 5);
    QCOMPARE(loss->rawGraph(QStringLiteral("lora/loss"))->dataCount(), 3);
    QCOMPARE(loss->rawGraph(QStringLiteral("fourierft/eval_loss"))->dataCount(), 2);
    QCOMPARE(store.points(QStringLiteral("lora/loss")).x, (QVector<double>{10, 20, 30}));
  }

  void badMiddleLinesAreReportedAndSkipped() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("metrics.jsonl"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(stepLine("fourierft", 1, 1.0));
    f.write("not json\n");
    f.write(stepLine("fourierft", 2, 0.9));
    f.close();
    SeriesStore store;
    PlotPanel panel(&store);
    QString error;
    QVERIFY(panel.loadMetricsJsonl(path, &error));
    QVERIFY2(error.contains(QStringLiteral("line 2")), qPrintable(error));
    QVERIFY(error.contains(path));
    QCOMPARE(store.count(QStringLiteral("fourierft/loss")), 2);
  }

  // metrics.jsonl of a resumed run: steps 40 and 50 were logged before the kill and again after
  // the resume from the step-30 checkpoint. The curve keeps the resumed values, once per step.
  void resumedRunReplacesRepeatedSteps() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("metrics.jsonl"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    for (int i = 1; i <= 5; ++i) f.write(stepLine("fourierft", i * 10, i));
    f.write(evalLine("fourierft", 50, 0.6));
    for (int i = 4; i <= 7; ++i) f.write(stepLine("fourierft", i * 10, 100 + i));  // after the resume
    f.write(evalLine("fourierft", 50, 0.65));
    f.write(evalLine("fourierft", 70, 0.7));
    f.close();
    SeriesStore store;
    PlotPanel panel(&store);
    QString error;
    QVERIFY(panel.loadMetricsJsonl(path, &error));
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(store.count(QStringLiteral("fourierft/loss")), 7);
    QCOMPARE(panel.renderPlot(QStringLiteral("loss"), 400, 300).width(), 400);  // takes the pending points
    QCOMPARE(panel.renderPlot(QStringLiteral("eval"), 400, 300).width(), 400);
    const SeriesPoints& loss = store.points(QStringLiteral("fourierft/loss"));
    QCOMPARE(loss.x, (QVector<double>{10, 20, 30, 40, 50, 60, 70}));
    QCOMPARE(loss.y, (QVector<double>{1, 2, 3, 104, 105, 106, 107}));
    QCOMPARE(store.points(QStringLiteral("fourierft/eval:accuracy")).x, (QVector<double>{50, 70}));
    QCOMPARE(store.points(QStringLiteral("fourierft/eval:accuracy")).y, (QVector<double>{0.65, 0.7}));
    QCPGraph* raw = panel.plot(QStringLiteral("loss"))->rawGraph(QStringLiteral("fourierft/loss"));
    QCOMPARE(raw->dataCount(), 7);
    QCOMPARE(raw->data()->at(3)->value, 104.0);
  }

  // Live: the plot already drew steps 1..6 when the resumed run reports step 4 again; the graph
  // is rebuilt from the store, so it holds each step once, with the new values.
  void liveRepeatedStepRedrawsTheCurve() {
    SeriesStore store;
    PlotPanel panel(&store);
    QVERIFY(showAndSettle(panel));
    for (int i = 1; i <= 6; ++i) panel.onStep(QStringLiteral("lora"), i, 2.0, 0.01, 300, 700);
    LivePlot* lossPlot = panel.plot(QStringLiteral("loss"));
    QTRY_COMPARE(lossPlot->rawGraph(QStringLiteral("lora/loss"))->dataCount(), 6);
    for (int i = 4; i <= 5; ++i) panel.onStep(QStringLiteral("lora"), i, 1.0, 0.01, 300, 700);
    panel.flushNow();
    QCPGraph* raw = lossPlot->rawGraph(QStringLiteral("lora/loss"));
    QCOMPARE(raw->dataCount(), 5);
    QVector<double> keys, values;
    for (auto it = raw->data()->constBegin(); it != raw->data()->constEnd(); ++it) keys << it->key, values << it->value;
    QCOMPARE(keys, (QVector<double>{1, 2, 3, 4, 5}));
    QCOMPARE(values, (QVector<double>{2, 2, 2, 1, 1}));
    // The smoothed line restarts from the kept points: it matches a fresh average of them.
    QCPGraph* smooth = lossPlot->smoothedGraph(QStringLiteral("lora/loss"));
    QCOMPARE(smooth->dataCount(), 5);
    const QVector<double> expected = debiasedEma({2, 2, 2, 1, 1}, panel.smoothing());
    for (int i = 0; i < 5; ++i) QCOMPARE(smooth->data()->at(i)->value, expected[i]);
    QCOMPARE(panel.plot(QStringLiteral("memory"))->rawGraph(QStringLiteral("lora/memory_mib"))->dataCount(), 5);
  }

  void missingFileIsAnError() {
    PlotPanel panel(nullptr);
    QString error;
    QVERIFY(!panel.loadMetricsJsonl(QStringLiteral("/nonexistent/metrics.jsonl"), &error));
    QVERIFY(error.contains(QStringLiteral("/nonexistent/metrics.jsonl")));
  }

  void renderPlotIsTheRequestedSizeAndNotBlank() {
    SeriesStore store;
    PlotPanel panel(&store);
    for (int i = 1; i <= 40; ++i) {
      panel.onStep(QStringLiteral("fourierft"), i, 2.0 / i, 0.01, 300, 700);
      panel.onStep(QStringLiteral("lora"), i, 2.5 / i, 0.003, 320, 690);
    }
    for (const QString& which : PlotPanel::plotNames()) {
      const QImage image = panel.renderPlot(which, 640, 360);
      QCOMPARE(image.size(), QSize(640, 360));
      QVERIFY2(hasInk(image), qPrintable(which));
    }
    // The method's colour is in the loss image.
    const QImage loss = panel.renderPlot(QStringLiteral("loss"), 640, 360);
    const QRgb blue = store.methodColor(QStringLiteral("fourierft")).rgb();
    bool found = false;
    for (int y = 0; y < loss.height() && !found; ++y)
      for (int x = 0; x < loss.width() && !found; ++x) found = (loss.pixel(x, y) & 0xFFFFFF) == (blue & 0xFFFFFF);
    QVERIFY(found);
    QVERIFY(panel.renderPlot(QStringLiteral("unknown"), 640, 360).isNull());
  }

  void clearEmptiesEveryPlot() {
    SeriesStore store;
    PlotPanel panel(&store);
    panel.onStep(QStringLiteral("fourierft"), 1, 1, 1, 1, 1);
    panel.clear();
    for (const QString& which : PlotPanel::plotNames()) QCOMPARE(panel.plot(which)->customPlot()->graphCount(), 0);
    QVERIFY(store.seriesNames().isEmpty());
  }
};

QTEST_MAIN(PlotPanelTest)
#include "tst_plot_panel.moc"
