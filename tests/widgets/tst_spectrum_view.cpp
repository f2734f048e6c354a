// SpectrumView: the colour map has d2 x d1 cells (key = column v, value = row u), one marker per
// FourierFT position at (v, u) and a dotted one at its conjugate mirror, fftshift moves the zero
// frequency to the centre, large matrices are max-pooled with their peaks kept, bad input is
// ignored with a warning.
#include "widgets/spectrum_view.h"

#include <qcustomplot.h>

#include <QtTest/QtTest>

#include <cmath>
#include <complex>
#include <vector>

using namespace fw::widgets;

namespace {

QVector<float> ramp(int d1, int d2) {
  QVector<float> v(d1 * d2);
  for (int u = 0; u < d1; ++u)
    for (int k = 0; k < d2; ++k) v[u * d2 + k] = float(-6.0 + 0.001 * (u * d2 + k));
  return v;
}

}  // namespace

class SpectrumViewTest : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void colourMapHasTheGivenSizeAndMarkersTheGivenCount() {
    SpectrumView view;
    const int d1 = 6, d2 = 10;
    QVector<float> values = ramp(d1, d2);
    values[2 * d2 + 7] = 3.0f;  // a peak at u = 2, v = 7
    view.setSpectrum(d1, d2, values);
    view.setFrequencies({2, 0, 5, 5, 1}, {7, 0, 9, 3, 4});
    QCPColorMapData* data = view.colorMap()->data();
    QCOMPARE(data->keySize(), d2);
    QCOMPARE(data->valueSize(), d1);
    QCOMPARE(view.rows(), d1);
    QCOMPARE(view.cols(), d2);
    QCOMPARE(data->data(7, 2), 3.0);  // key = v, value = u
    QCOMPARE(data->cell(0, 0), double(values[0]));
    QCOMPARE(view.markers()->dataCount(), 5);
    QCOMPARE(view.frequencyCount(), 5);
    // The marker at (v, u) = (7, 2) is among them.
    bool found = false;
    for (auto it = view.markers()->data()->constBegin(); it != view.markers()->data()->constEnd(); ++it)
      found = found || (it->key == 7 && it->value == 2);
    QVERIFY(found);
    QCOMPARE(view.markers()->scatterStyle().shape(), QCPScatterStyle::ssCircle);
    QCOMPARE(view.markers()->scatterStyle().brush().style(), Qt::NoBrush);  // hollow
    QCOMPARE(view.markers()->lineStyle(), QCPGraph::lsNone);
    QVERIFY(view.colorMap()->colorScale());
    QCOMPARE(view.colorMap()->dataRange().upper, 3.0);
  }

  void markersToggle() {
    SpectrumView view;
    view.setSpectrum(4, 4, ramp(4, 4));
    view.setFrequencies({1}, {2});
    QVERIFY(view.markersVisible());
    auto* box = view.findChild<QCheckBox*>();
    QVERIFY(box);
    box->setChecked(false);
    QVERIFY(!view.markersVisible());
    view.setMarkersVisible(true);
    QVERIFY(box->isChecked());
    QVERIFY(view.markers()->visible());
  }

  void fftShiftCentresTheZeroFrequency() {
    SpectrumView view;
    const int d1 = 4, d2 = 5;
    QVector<float> values = ramp(d1, d2);
    values[0] = 2.0f;                        // zero frequency
    values[(d1 - 1) * d2 + (d2 - 1)] = 1.0f;  // u = -1, v = -1
    view.setSpectrum(d1, d2, values);
    view.setFrequencies({0, 3}, {0, 4});
    view.setFftShift(true);
    QCOMPARE(view.displayRow(0), 0.0);
    QCOMPARE(view.displayRow(3), -1.0);
    QCOMPARE(view.displayRow(2), -2.0);  // even length: the Nyquist row goes first
    QCOMPARE(view.displayCol(4), -1.0);
    QCOMPARE(view.displayCol(2), 2.0);  // odd length: +2 stays positive
    QCPColorMapData* data = view.colorMap()->data();
    QCOMPARE(data->keySize(), d2);
    QCOMPARE(data->valueSize(), d1);
    QCOMPARE(data->data(0, 0), 2.0);
    QCOMPARE(data->data(-1, -1), 1.0);
    QCOMPARE(data->keyRange().lower, -2.0);
    QCOMPARE(data->valueRange().lower, -2.0);
    QCOMPARE(view.markers()->dataCount(), 2);
    QCOMPARE(view.markers()->data()->constBegin()->key, -1.0);  // (v, u) = (4, 3) -> (-1, -1)
    view.setFftShift(false);
    QCOMPARE(data->data(0, 0), 2.0);
    QCOMPARE(data->data(4, 3), 1.0);
  }

  void mirrorsMarkTheConjugateFrequencies() {
    // Why there are mirrors: ΔW = Re(IDFT2(S)) for S with one coefficient at (u, v) = (1, 4) has
    // |DFT2(ΔW)| = 0.5 at (1, 4) and at (-1, -4) = (5, 6), zero elsewhere (naive transforms, 6 x 10).
    const int d1 = 6, d2 = 10;
    const double pi = std::acos(-1.0);
    std::vector<double> dw(d1 * d2);
    for (int i = 0; i < d1; ++i)
      for (int j = 0; j < d2; ++j) dw[i * d2 + j] = std::cos(2 * pi * (1.0 * i / d1 + 4.0 * j / d2)) / (d1 * d2);
    for (int u = 0; u < d1; ++u)
      for (int v = 0; v < d2; ++v) {
        std::complex<double> f = 0;
        for (int i = 0; i < d1; ++i)
          for (int j = 0; j < d2; ++j)
            f += dw[i * d2 + j] * std::polar(1.0, -2 * pi * (double(u) * i / d1 + double(v) * j / d2));
        const bool peak = (u == 1 && v == 4) || (u == 5 && v == 6);
        QVERIFY2(std::abs(std::abs(f) - (peak ? 0.5 : 0.0)) < 1e-12, qPrintable(QString("u %1 v %2").arg(u).arg(v)));
      }

    SpectrumView view;
    view.setSpectrum(d1, d2, ramp(d1, d2));
    // (2, 7) and (4, 3) mirror each other and (0, 0), (3, 5) are their own mirrors: no dotted
    // circle for them. (1, 4) has its mirror at (5, 6), drawn at (v, u) = (6, 5).
    view.setFrequencies({2, 4, 0, 3, 1}, {7, 3, 0, 5, 4});
    QCOMPARE(view.markers()->dataCount(), 5);
    QCOMPARE(view.mirrorMarkers()->dataCount(), 1);
    QCOMPARE(view.mirrorMarkers()->data()->constBegin()->key, 6.0);
    QCOMPARE(view.mirrorMarkers()->data()->constBegin()->value, 5.0);
    QCOMPARE(view.mirrorMarkers()->scatterStyle().pen().style(), Qt::DotLine);
    view.setFftShift(true);  // (u, v) = (5, 6) is the signed frequency (-1, -4)
    QCOMPARE(view.mirrorMarkers()->data()->constBegin()->key, -4.0);
    QCOMPARE(view.mirrorMarkers()->data()->constBegin()->value, -1.0);
    view.setMarkersVisible(false);
    QVERIFY(!view.mirrorMarkers()->visible());
    view.setMarkersVisible(true);
    QVERIFY(view.mirrorMarkers()->visible());
    view.clear();
    QCOMPARE(view.mirrorMarkers()->dataCount(), 0);
  }

  void largeMatricesArePooledKeepingPeaks() {
    SpectrumView view;
    view.setMaxCellsPerSide(16);
    const int d1 = 64, d2 = 40;
    QVector<float> values = ramp(d1, d2);
    values[17 * d2 + 23] = 9.0f;
    view.setSpectrum(d1, d2, values);
    QCPColorMapData* data = view.colorMap()->data();
    QVERIFY(data->keySize() <= 16 && data->valueSize() <= 16);
    QCOMPARE(data->data(23, 17), 9.0);  // the peak's cell, found by its original coordinates
    QCOMPARE(view.colorMap()->dataRange().upper, 9.0);
  }

  void log10MagnitudeHelper() {
    const QVector<float> out = SpectrumView::log10Magnitude({100.0f, 0.0f, -1000.0f}, 1e-8f);
    QVERIFY(std::abs(out[0] - 2.0f) < 1e-6f);
    QVERIFY(std::abs(out[1] + 8.0f) < 1e-5f);
    QVERIFY(std::abs(out[2] - 3.0f) < 1e-6f);
  }

  void wrongSizeIsIgnored() {
    SpectrumView view;
    view.setSpectrum(2, 2, {1, 2, 3, 4});
    QTest::ignoreMessage(QtWarningMsg, "SpectrumView: 3 x 3 spectrum with 4 values ignored");
    view.setSpectrum(3, 3, {1, 2, 3, 4});
    QCOMPARE(view.rows(), 2);
    QCOMPARE(view.colorMap()->data()->keySize(), 2);
  }
};

QTEST_MAIN(SpectrumViewTest)
#include "tst_spectrum_view.moc"
