// The 2D Fourier spectrum of ΔW as a heat map: log10(|FFT2(ΔW)| + eps), d1 x d2 (rows u = output
// frequency, columns v = input frequency), with a colour scale, FourierFT's chosen frequencies
// (u_l, v_l) marked by hollow circles (toggle), their conjugate mirrors (-u_l, -v_l) by fainter
// dotted ones (ΔW = Re(IFFT2(S)) is real, so every chosen frequency also shows at its mirror), and an
// optional fftshift that puts the zero frequency in the middle. Matrices larger than maxCellsPerSide are max-pooled for display, so
// isolated peaks (FourierFT's n coefficients) stay visible.
#pragma once

#include <QString>
#include <QVector>
#include <QWidget>

class QCheckBox;
class QCPColorMap;
class QCPColorScale;
class QCPGraph;
class QCustomPlot;

namespace fw::widgets {

class SpectrumView : public QWidget {
  Q_OBJECT
public:
  explicit SpectrumView(QWidget* parent = nullptr);

  // values: d1*d2 row-major log10 magnitudes (see log10Magnitude). A size mismatch is ignored
  // with a warning.
  void setSpectrum(int d1, int d2, const QVector<float>& values);
  // log10(|x| + eps) of magnitudes, for callers that hold |FFT2(ΔW)|.
  static QVector<float> log10Magnitude(const QVector<float>& magnitude, float eps = 1e-8f);

  // FourierFT's positions: row u[l], column v[l] (as PEFT: u = idx / d2, v = idx % d2).
  void setFrequencies(const QVector<int>& u, const QVector<int>& v);
  int frequencyCount() const { return int(u_.size()); }

  void setMarkersVisible(bool visible);
  bool markersVisible() const;
  void setFftShift(bool shift);
  bool fftShift() const { return shift_; }
  void setTitle(const QString& title);
  void setMaxCellsPerSide(int cells);
  void clear();

  int rows() const { return d1_; }
  int cols() const { return d2_; }
  QCustomPlot* customPlot() const { return plot_; }
  QCPColorMap* colorMap() const { return map_; }
  QCPColorScale* colorScale() const { return scale_; }
  QCPGraph* markers() const { return markers_; }
  // (-u, -v) mod (d1, d2) of each chosen frequency, less those that are chosen themselves.
  QCPGraph* mirrorMarkers() const { return mirrors_; }

  // Where row u / column v is drawn (with fftshift: the signed frequency).
  double displayRow(int u) const;
  double displayCol(int v) const;

protected:
  void showEvent(QShowEvent* event) override;
  // grab()/render() of a hidden view paints it: catch up first, so the image is current.
  bool eventFilter(QObject* watched, QEvent* event) override;

private:
  void rebuildMap();
  void rebuildMarkers();
  void replot();

  QCustomPlot* plot_;
  QCPColorMap* map_;
  QCPColorScale* scale_;
  QCPGraph* markers_;
  QCPGraph* mirrors_;
  QCheckBox* showMarkers_;
  QCheckBox* shiftBox_;
  QVector<float> values_;
  QVector<int> u_, v_;
  int d1_ = 0, d2_ = 0;
  int maxCells_ = 1024;
  bool shift_ = false;
  bool replotPending_ = false;  // changed while hidden
};

}  // namespace fw::widgets
