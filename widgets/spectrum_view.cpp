#include "widgets/spectrum_view.h"

#include "widgets/plot_style.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QHBoxLayout>
#include <QSet>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

namespace fw::widgets {

namespace {

// Viridis, sampled at eleven points.
QCPColorGradient viridis() {
  QCPColorGradient g;
  g.clearColorStops();
  const QRgb stops[] = {0x440154, 0x482475, 0x414487, 0x355F8D, 0x2A788E, 0x21918C,
                        0x22A884, 0x44BF70, 0x7AD151, 0xBDDF26, 0xFDE725};
  for (int i = 0; i < 11; ++i) g.setColorStopAt(i / 10.0, QColor(stops[i]));
  g.setColorInterpolation(QCPColorGradient::ciRGB);
  return g;
}

// Index of original row/column i after fftshift (zero frequency to n/2).
int shifted(int i, int n) { return (i + n / 2) % n; }

}  // namespace

SpectrumView::SpectrumView(QWidget* parent) : QWidget(parent), plot_(new QCustomPlot(this)) {
  showMarkers_ = new QCheckBox(tr("Show FourierFT frequencies"), this);
  showMarkers_->setChecked(true);
  shiftBox_ = new QCheckBox(tr("fftshift (zero frequency in the centre)"), this);
  auto* controls = new QHBoxLayout;
  controls->addWidget(showMarkers_);
  controls->addSpacing(16);
  controls->addWidget(shiftBox_);
  controls->addStretch(1);
  auto* root = new QVBoxLayout(this);
  root->setContentsMargins(4, 4, 4, 4);
  root->addLayout(controls);
  root->addWidget(plot_, 1);
  setMinimumSize(300, 260);

  detail::stylePlot(plot_, tr("Spectrum of ΔW: log10 |FFT2(ΔW)|"));
  plot_->xAxis->setLabel(tr("v (input frequency)"));
  plot_->yAxis->setLabel(tr("u (output frequency)"));
  plot_->yAxis->setRangeReversed(true);  // row 0 on top, as in the matrix
  plot_->xAxis->grid()->setVisible(false);
  plot_->yAxis->grid()->setVisible(false);
  plot_->axisRect()->setupFullAxesBox(true);
  plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);

  map_ = new QCPColorMap(plot_->xAxis, plot_->yAxis);
  map_->setInterpolate(false);
  map_->setTightBoundary(true);
  scale_ = new QCPColorScale(plot_);
  const int mapRow = plot_->plotLayout()->rowCount() - 1;  // below the title row
  plot_->plotLayout()->addElement(mapRow, 1, scale_);
  scale_->setType(QCPAxis::atRight);
  scale_->setBarWidth(12);
  scale_->axis()->setLabel(QStringLiteral("log10 |FFT2(ΔW)|"));
  scale_->axis()->setLabelFont(plot_->yAxis->labelFont());
  scale_->axis()->setTickLabelFont(plot_->yAxis->tickLabelFont());
  map_->setColorScale(scale_);
  map_->setGradient(viridis());
  auto* group = new QCPMarginGroup(plot_);
  plot_->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
  scale_->setMarginGroup(QCP::msBottom | QCP::msTop, group);

  markers_ = plot_->addGraph(plot_->xAxis, plot_->yAxis);
  markers_->setLineStyle(QCPGraph::lsNone);
  markers_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(QColor(0xFF, 0x3B, 0x6B), 1.5),
                                            Qt::NoBrush, 12));
  markers_->setName(tr("FourierFT frequencies"));
  markers_->setAdaptiveSampling(false);  // every marker is drawn
  mirrors_ = plot_->addGraph(plot_->xAxis, plot_->yAxis);
  mirrors_->setLineStyle(QCPGraph::lsNone);
  mirrors_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle,
                                            QPen(QColor(0xFF, 0x3B, 0x6B, 150), 1.2, Qt::DotLine), Qt::NoBrush, 9));
  mirrors_->setName(tr("their conjugate mirrors"));
  mirrors_->setAdaptiveSampling(false);
  showMarkers_->setToolTip(tr("Solid circles: the n frequencies FourierFT trains. ΔW = Re(IFFT2) is real, so its "
                              "spectrum is conjugate-symmetric and each one shows again at (-u, -v): the dotted "
                              "circles."));
  plot_->legend->setVisible(false);

  plot_->installEventFilter(this);
  connect(showMarkers_, &QCheckBox::toggled, this, &SpectrumView::setMarkersVisible);
  connect(shiftBox_, &QCheckBox::toggled, this, &SpectrumView::setFftShift);
}

QVector<float> SpectrumView::log10Magnitude(const QVector<float>& magnitude, float eps) {
  QVector<float> out(magnitude.size());
  for (qsizetype i = 0; i < magnitude.size(); ++i) out[i] = std::log10(std::abs(magnitude[i]) + eps);
  return out;
}

void SpectrumView::setSpectrum(int d1, int d2, const QVector<float>& values) {
  if (d1 <= 0 || d2 <= 0 || values.size() != qsizetype(d1) * d2) {
    qWarning("SpectrumView: %d x %d spectrum with %lld values ignored", d1, d2, static_cast<long long>(values.size()));
    return;
  }
  d1_ = d1;
  d2_ = d2;
  values_ = values;
  rebuildMap();
  rebuildMarkers();
  replot();
}

void SpectrumView::setFrequencies(const QVector<int>& u, const QVector<int>& v) {
  const auto n = std::min(u.size(), v.size());
  u_ = u.mid(0, n);
  v_ = v.mid(0, n);
  rebuildMarkers();
  replot();
}

void SpectrumView::setMarkersVisible(bool visible) {
  if (showMarkers_->isChecked() != visible) showMarkers_->setChecked(visible);  // comes back here
  markers_->setVisible(visible);
  mirrors_->setVisible(visible);
  replot();
}

bool SpectrumView::markersVisible() const { return markers_->visible(); }

void SpectrumView::setFftShift(bool shift) {
  if (shiftBox_->isChecked() != shift) shiftBox_->setChecked(shift);
  if (shift == shift_) return;
  shift_ = shift;
  rebuildMap();
  rebuildMarkers();
  replot();
}

void SpectrumView::setTitle(const QString& title) {
  if (auto* text = qobject_cast<QCPTextElement*>(plot_->plotLayout()->element(0, 0))) text->setText(title);
  replot();
}

void SpectrumView::setMaxCellsPerSide(int cells) {
  maxCells_ = std::max(16, cells);
  rebuildMap();
  replot();
}

void SpectrumView::clear() {
  values_.clear();
  u_.clear();
  v_.clear();
  d1_ = d2_ = 0;
  map_->data()->clear();
  markers_->data()->clear();
  mirrors_->data()->clear();
  replot();
}

double SpectrumView::displayRow(int u) const {
  return shift_ ? double(shifted(u, d1_) - d1_ / 2) : double(u);
}

double SpectrumView::displayCol(int v) const {
  return shift_ ? double(shifted(v, d2_) - d2_ / 2) : double(v);
}

void SpectrumView::rebuildMap() {
  if (d1_ == 0 || d2_ == 0) return;
  // Pool factor per side; max-pooling keeps single-bin peaks.
  const int fr = (d1_ + maxCells_ - 1) / maxCells_;
  const int fc = (d2_ + maxCells_ - 1) / maxCells_;
  const int rows = (d1_ + fr - 1) / fr;
  const int cols = (d2_ + fc - 1) / fc;
  QVector<double> cells(qsizetype(rows) * cols, -std::numeric_limits<double>::infinity());
  for (int u = 0; u < d1_; ++u) {
    const int r = (shift_ ? shifted(u, d1_) : u) / fr;
    const float* row = values_.constData() + qsizetype(u) * d2_;
    for (int v = 0; v < d2_; ++v) {
      const int c = (shift_ ? shifted(v, d2_) : v) / fc;
      double& cell = cells[qsizetype(r) * cols + c];
      if (std::isfinite(row[v])) cell = std::max(cell, double(row[v]));
    }
  }
  const double r0 = shift_ ? -(d1_ / 2) : 0;  // display coordinate of shifted index 0
  const double c0 = shift_ ? -(d2_ / 2) : 0;
  QCPColorMapData* data = map_->data();
  data->setSize(cols, rows);  // key = column (x), value = row (y)
  data->setRange(QCPRange(c0 + (fc - 1) / 2.0, c0 + (cols - 1) * fc + (fc - 1) / 2.0),
                 QCPRange(r0 + (fr - 1) / 2.0, r0 + (rows - 1) * fr + (fr - 1) / 2.0));
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const double z = cells[qsizetype(r) * cols + c];
      if (std::isfinite(z)) {
        lo = std::min(lo, z);
        hi = std::max(hi, z);
      }
      data->setCell(c, r, z);
    }
  for (int r = 0; r < rows; ++r)  // cells with no finite value take the bottom of the scale
    for (int c = 0; c < cols; ++c)
      if (!std::isfinite(cells[qsizetype(r) * cols + c])) data->setCell(c, r, std::isfinite(lo) ? lo : 0.0);
  if (std::isfinite(lo)) map_->setDataRange(QCPRange(lo, hi > lo ? hi : lo + 1));
  plot_->xAxis->setRange(c0 - 0.5, c0 + d2_ - 0.5);
  plot_->yAxis->setRange(r0 - 0.5, r0 + d1_ - 0.5);
}

void SpectrumView::rebuildMarkers() {
  QVector<double> x, y;
  x.reserve(u_.size());
  y.reserve(u_.size());
  for (qsizetype l = 0; l < u_.size(); ++l) {
    x << (d2_ > 0 ? displayCol(v_[l]) : double(v_[l]));
    y << (d1_ > 0 ? displayRow(u_[l]) : double(u_[l]));
  }
  markers_->setData(x, y);  // sorts by key

  // Mirrors need the matrix size; positions that are chosen themselves keep their solid circle.
  QVector<double> mx, my;
  if (d1_ > 0 && d2_ > 0) {
    QSet<qint64> chosen;
    for (qsizetype l = 0; l < u_.size(); ++l) chosen.insert(qint64(u_[l]) * d2_ + v_[l]);
    QSet<qint64> drawn;
    for (qsizetype l = 0; l < u_.size(); ++l) {
      const int mu = (d1_ - u_[l] % d1_) % d1_, mv = (d2_ - v_[l] % d2_) % d2_;
      const qint64 key = qint64(mu) * d2_ + mv;
      if (chosen.contains(key) || drawn.contains(key)) continue;
      drawn.insert(key);
      mx << displayCol(mv);
      my << displayRow(mu);
    }
  }
  mirrors_->setData(mx, my);
}

void SpectrumView::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  if (replotPending_) {
    replotPending_ = false;
    plot_->replot(QCustomPlot::rpQueuedReplot);  // changes made while hidden
  }
}

bool SpectrumView::eventFilter(QObject* watched, QEvent* event) {
  if (watched == plot_ && event->type() == QEvent::Paint && replotPending_ && !detail::isShownOnScreen(this)) {
    replotPending_ = false;
    plot_->replot(QCustomPlot::rpQueuedRefresh);
  }
  return QWidget::eventFilter(watched, event);
}

void SpectrumView::replot() {
  if (detail::isShownOnScreen(this))
    plot_->replot(QCustomPlot::rpQueuedReplot);
  else
    replotPending_ = true;
}

}  // namespace fw::widgets
