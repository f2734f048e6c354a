// The widgets with realistic fake data (three methods), grabbed as a user would see them: the
// images are drawn, the legends sit outside the data area, and with FW_SCREENSHOT_DIR set the
// grabs are saved there (plot_panel.png, rank_view.png, spectrum_view.png) for a look by eye.
#include "widgets/live_plot.h"
#include "widgets/plot_panel.h"
#include "widgets/rank_view.h"
#include "widgets/series_store.h"
#include "widgets/spectrum_view.h"

#include <qcustomplot.h>

#include <QtTest/QtTest>

#include <cmath>
#include <random>

using namespace fw::widgets;

namespace {

bool hasInk(const QImage& image) {
  const QRgb background = image.pixel(0, 0);
  for (int y = 0; y < image.height(); y += 2)
    for (int x = 0; x < image.width(); x += 2)
      if (image.pixel(x, y) != background) return true;
  return false;
}

void save(const QImage& image, const QString& name) {
  const QString dir = qEnvironmentVariable("FW_SCREENSHOT_DIR");
  if (dir.isEmpty()) return;
  const QString path = QDir(dir).filePath(name);
  QVERIFY2(image.save(path), qPrintable(path));
  qInfo("saved %s", qPrintable(path));
}

// Waits for the queued replot of every QCustomPlot inside `w`.
void settle(QWidget& w) {
  for (QCustomPlot* p : w.findChildren<QCustomPlot*>()) p->replot(QCustomPlot::rpQueuedReplot);
  QSignalSpy last(w.findChildren<QCustomPlot*>().constLast(), &QCustomPlot::afterReplot);
  QTRY_VERIFY(last.count() >= 1);
  QCoreApplication::processEvents();
}

void legendBelowData(QCustomPlot* plot, const char* what) {
  if (!plot->legend->visible() || plot->legend->itemCount() == 0) return;
  QVERIFY2(!plot->legend->outerRect().intersects(plot->axisRect()->rect()), what);
  QVERIFY2(plot->legend->outerRect().top() >= plot->axisRect()->outerRect().bottom() - 1, what);
}

}  // namespace

class WidgetGalleryTest : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void plotPanelWithThreeMethods() {
    SeriesStore store;
    PlotPanel panel(&store);
    std::mt19937 rng(7);
    std::normal_distribution<double> noise(0.0, 1.0);
    struct Fake {
      const char* name;
      double floor, tau, lr, memory, speed, acc;
    };
    const Fake methods[] = {{"fourierft-n200", 0.32, 160, 0.2, 742, 265, 0.897},
                            {"lora-r8", 0.27, 130, 0.003, 786, 281, 0.903},
                            {"head-only", 0.68, 60, 0.005, 701, 342, 0.757}};
    const int steps = 900, warmup = 54;
    for (int s = 1; s <= steps; ++s) {
      const double factor = s < warmup ? double(s) / warmup : double(steps - s) / (steps - warmup);
      for (const Fake& m : methods) {
        const double loss = m.floor + 1.3 * std::exp(-s / m.tau);
        panel.onStep(QString::fromLatin1(m.name), s, std::max(0.01, loss * (1 + 0.18 * noise(rng))), m.lr * factor,
                     m.speed * (1 + 0.04 * noise(rng)), m.memory + 3 * std::sin(s / 40.0) + (s > 10 ? 12 : 0));
        if (s % 150 == 0) {
          const double progress = 1 - std::exp(-s / (1.5 * m.tau));
          panel.onEval(QString::fromLatin1(m.name), s,
                       {{QStringLiteral("accuracy"), 0.2 + (m.acc - 0.2) * progress},
                        {QStringLiteral("loss"), m.floor + 0.05 + 1.2 * std::exp(-s / m.tau)}});
        }
      }
    }
    panel.resize(1400, 820);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    panel.flushNow();
    settle(panel);
    const QImage image = panel.grab().toImage();
    QCOMPARE(image.size(), panel.size() * panel.devicePixelRatio());
    QVERIFY(hasInk(image));
    for (const QString& which : PlotPanel::plotNames())
      legendBelowData(panel.plot(which)->customPlot(), qPrintable(which));
    save(image, QStringLiteral("plot_panel.png"));
    save(panel.renderPlot(QStringLiteral("loss"), 800, 450), QStringLiteral("plot_loss_report.png"));
  }

  void rankViewWithThreeMethods() {
    SeriesStore store;
    RankView view(&store);
    view.setLayers({QStringLiteral("vit.encoder.layer.0.attention.attention.query"),
                    QStringLiteral("vit.encoder.layer.0.attention.attention.value")});
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> jitter(0.9, 1.1);
    QVector<double> fourier, lora, full;
    for (int i = 0; i < 128; ++i) {
      fourier << 0.8 * std::exp(-i / 140.0) * jitter(rng);
      lora << (i < 8 ? 2.5 * std::exp(-i / 3.0) : 2e-7 * jitter(rng));
      full << 3.0 * std::exp(-i / 25.0) + 0.05 * jitter(rng);
    }
    std::sort(fourier.begin(), fourier.end(), std::greater<>());
    const QString layer = view.layers().front();
    view.setSingularValues(QStringLiteral("fourierft-n200"), layer, fourier, 108.4, true, 768);
    view.setSingularValues(QStringLiteral("lora-r8"), layer, lora, 4.1, true, 768);
    view.setSingularValues(QStringLiteral("full"), layer, full, 61.3, true, 768);
    view.resize(760, 520);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.flush();
    settle(view);
    QCOMPARE(view.noteText(), QStringLiteral("top 128 of 768, randomized SVD"));
    legendBelowData(view.customPlot(), "rank view");
    const QImage image = view.grab().toImage();
    QVERIFY(hasInk(image));
    save(image, QStringLiteral("rank_view.png"));
  }

  void spectrumViewWithMarkers() {
    SpectrumView view;
    const int d1 = 64, d2 = 96;
    std::mt19937 rng(2024);
    std::normal_distribution<double> noise(0.0, 1.0);
    QVector<float> magnitude(d1 * d2);
    for (auto& m : magnitude) m = float(1e-6 * std::abs(noise(rng)));
    QVector<int> u, v;
    std::uniform_int_distribution<int> pick(0, d1 * d2 - 1);
    for (int l = 0; l < 40; ++l) {
      const int idx = pick(rng);
      u << idx / d2;
      v << idx % d2;
      magnitude[idx] = float(std::abs(noise(rng)) * 2 + 0.1);
    }
    view.setSpectrum(d1, d2, SpectrumView::log10Magnitude(magnitude));
    view.setFrequencies(u, v);
    view.setTitle(QStringLiteral("log10 |FFT2(ΔW)|, layer.0.query, fourierft-n40"));
    view.resize(820, 560);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    settle(view);
    QCOMPARE(view.markers()->dataCount(), 40);
    const QImage image = view.grab().toImage();
    QVERIFY(hasInk(image));
    save(image, QStringLiteral("spectrum_view.png"));
    view.setFftShift(true);
    settle(view);
    save(view.grab().toImage(), QStringLiteral("spectrum_view_shifted.png"));
  }
};

QTEST_MAIN(WidgetGalleryTest)
#include "tst_widget_gallery.moc"
