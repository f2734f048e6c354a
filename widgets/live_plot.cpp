#include "widgets/live_plot.h"

#include "widgets/plot_style.h"
#include "widgets/series_store.h"

#include <qcustomplot.h>

#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace fw::widgets {

namespace {

// Halves the older part of a graph until it holds at most maxPoints: buckets of four become their
// minimum and maximum (in key order) for raw values, every second point for smooth curves. The
// first point and the newest maxPoints/2 points are kept as they are.
void decimate(QCPGraph* graph, int maxPoints, bool keepExtremes) {
  auto data = graph->data();
  while (data->size() > maxPoints) {
    const int n = data->size();
    const int old = n - maxPoints / 2;
    const QCPGraphData* at = &*data->constBegin();
    QVector<QCPGraphData> out;
    out.reserve(old / 2 + maxPoints / 2 + 2);
    out.append(at[0]);  // the first point stays: the curve starts where it started
    for (int i = 1; i < old; i += 4) {
      const int end = std::min(i + 4, old);
      if (!keepExtremes) {
        out.append(at[i]);
        if (i + 2 < end) out.append(at[i + 2]);
        continue;
      }
      int lo = -1, hi = -1;
      for (int j = i; j < end; ++j) {
        const double v = at[j].value;
        if (!std::isfinite(v)) continue;
        if (lo < 0 || v < at[lo].value) lo = j;
        if (hi < 0 || v > at[hi].value) hi = j;
      }
      if (lo < 0) {
        out.append(at[i]);  // all missing: keep the gap
      } else if (lo == hi) {
        out.append(at[lo]);
      } else {
        out.append(at[std::min(lo, hi)]);
        out.append(at[std::max(lo, hi)]);
      }
    }
    for (int i = old; i < n; ++i) out.append(at[i]);
    data->set(out, true);
  }
}

QCPScatterStyle::ScatterShape markerShape(int index) {
  static const QCPScatterStyle::ScatterShape shapes[] = {
      QCPScatterStyle::ssCircle,  QCPScatterStyle::ssSquare,           QCPScatterStyle::ssTriangle,
      QCPScatterStyle::ssDiamond, QCPScatterStyle::ssTriangleInverted, QCPScatterStyle::ssCross,
      QCPScatterStyle::ssPlus,    QCPScatterStyle::ssStar};
  return shapes[index % int(sizeof(shapes) / sizeof(shapes[0]))];
}

bool sortedKeys(const QVector<double>& x) { return std::is_sorted(x.cbegin(), x.cend()); }

}  // namespace

struct LivePlot::Shown {
  QString key;
  SeriesKind kind = SeriesKind::Line;
  YAxisSide side = YAxisSide::Left;
  QCPGraph* raw = nullptr;
  QCPGraph* smooth = nullptr;
  EmaSmoother ema;
};

void LivePlot::Extent::add(double v) {
  if (!std::isfinite(v)) return;
  min = std::min(min, v);
  max = std::max(max, v);
  if (v > 0) minPositive = std::min(minPositive, v);
}

LivePlot::LivePlot(SeriesStore* store, const QString& title, const QString& yLabel, QWidget* parent)
    : QWidget(parent), store_(store ? store : new SeriesStore(this)), plot_(new QCustomPlot(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(plot_);
  setMinimumSize(220, 160);

  detail::stylePlot(plot_, title);
  detail::placeLegendBelow(plot_, kLegendColumns);
  plot_->xAxis->setLabel(tr("step"));
  plot_->yAxis->setLabel(yLabel);
  plot_->yAxis2->setVisible(false);
  plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);

  // The user takes over the axes by dragging or zooming; a double click gives them back.
  connect(plot_, &QCustomPlot::mouseWheel, this, [this] { autoRange_ = false; });
  connect(plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
    if (e->buttons() != Qt::NoButton) autoRange_ = false;
  });
  connect(plot_, &QCustomPlot::mouseDoubleClick, this, [this] { setAutoRange(true); });

  plot_->installEventFilter(this);
  connect(store_, &SeriesStore::seriesAdded, this, &LivePlot::onSeriesAdded);
  connect(store_, &SeriesStore::cleared, this, &LivePlot::clear);
  connect(store_, &SeriesStore::pointsDropped, this, &LivePlot::onPointsDropped);
}

LivePlot::~LivePlot() = default;

void LivePlot::track(const QString& metric, SeriesKind kind, YAxisSide side, const QString& legendSuffix) {
  tracks_.append(Track{metric, kind, side, legendSuffix});
  for (const QString& series : store_->seriesNames())
    if (!byKey_.contains(series)) onSeriesAdded(series);
}

void LivePlot::onSeriesAdded(const QString& series) {
  const QString metric = SeriesStore::metricOf(series);
  for (const Track& t : tracks_) {
    const bool wildcard = t.metric.endsWith(QLatin1Char('*'));
    if (wildcard ? !metric.startsWith(t.metric.chopped(1)) : metric != t.metric) continue;
    QString suffix = t.suffix;
    if (suffix.isEmpty() && wildcard) suffix = metric.mid(t.metric.size() - 1);
    QString name = SeriesStore::methodOf(series);
    if (!suffix.isEmpty()) name += QLatin1Char(' ') + suffix;
    addSeries(series, t.kind, t.side, name);
    return;
  }
}

void LivePlot::addSeries(const QString& series, SeriesKind kind, YAxisSide side, const QString& legendName) {
  if (byKey_.contains(series)) return;
  auto s = std::make_unique<Shown>();
  s->key = series;
  s->kind = kind;
  s->side = side;
  QCPAxis* valueAxis = side == YAxisSide::Right ? plot_->yAxis2 : plot_->yAxis;
  const QString method = SeriesStore::methodOf(series);
  const QColor color = store_->methodColor(method);
  const QString name = legendName.isEmpty() ? method : legendName;
  auto newGraph = [&] {
    QCPGraph* g = plot_->addGraph(plot_->xAxis, valueAxis);
    g->setAdaptiveSampling(true);
    return g;
  };
  switch (kind) {
    case SeriesKind::Smoothed: {
      s->raw = newGraph();
      QColor faint = color;
      faint.setAlpha(60);
      s->raw->setPen(QPen(faint, 1));
      s->raw->setAntialiased(false);  // dense and faint: antialiasing would cost most of the replot
      s->raw->removeFromLegend();
      s->raw->setVisible(smoothing_ > 0);
      s->smooth = newGraph();
      s->smooth->setPen(QPen(color, 2));
      s->smooth->setName(name);
      s->ema.setWeight(smoothing_);
      break;
    }
    case SeriesKind::Line:
      s->raw = newGraph();
      s->raw->setPen(QPen(color, 1.6));
      s->raw->setName(name);
      break;
    case SeriesKind::Points: {
      s->raw = newGraph();
      s->raw->setPen(QPen(color, 1.4));
      const QString metric = SeriesStore::metricOf(series);
      if (!markerStyle_.contains(metric)) markerStyle_.insert(metric, int(markerStyle_.size()));
      s->raw->setScatterStyle(
          QCPScatterStyle(markerShape(markerStyle_.value(metric)), QPen(color, 1.5), QBrush(Qt::white), 6.5));
      s->raw->setName(name);
      break;
    }
  }
  if (side == YAxisSide::Right) {
    plot_->yAxis2->setVisible(true);
    plot_->yAxis2->setTickLabels(true);
  }
  Shown* shown = s.get();
  byKey_.insert(series, shown);
  shown_.push_back(std::move(s));
  // Points another consumer already took (or stored before this plot showed the series).
  const SeriesPoints& stored = store_->points(series);
  if (!stored.isEmpty()) addPoints(*shown, stored.x, stored.y);
  detail::fitLegendColumns(plot_, kLegendColumns);
  dirty_ = true;
}

QStringList LivePlot::seriesShown() const {
  QStringList out;
  for (const auto& s : shown_) out << s->key;
  return out;
}

void LivePlot::setYLabel(const QString& label) {
  plot_->yAxis->setLabel(label);
  requestReplot();
}

void LivePlot::setY2Label(const QString& label) {
  plot_->yAxis2->setLabel(label);
  requestReplot();
}

void LivePlot::setLogY(bool log) {
  if (log == logY_) return;
  logY_ = log;
  detail::setLogAxis(plot_->yAxis, log);
  rebuildAll();
  requestReplot();
}

void LivePlot::setSmoothing(double weight) {
  weight = clampSmoothing(weight);
  if (weight == smoothing_) return;
  smoothing_ = weight;
  for (const auto& s : shown_) {
    if (!s->smooth) continue;
    rebuildSmoothed(*s);
    s->raw->setVisible(weight > 0);  // with no smoothing the smoothed line is the raw line
  }
  requestReplot();
}

void LivePlot::setMaxPointsPerGraph(int maxPoints) {
  maxPoints_ = std::max(16, maxPoints);
  for (const auto& s : shown_) {
    decimate(s->raw, maxPoints_, true);
    if (s->smooth) decimate(s->smooth, maxPoints_, false);
  }
  requestReplot();
}

void LivePlot::setAutoRange(bool on) {
  autoRange_ = on;
  if (on) requestReplot();
}

bool LivePlot::hasPendingData() const {
  return std::any_of(shown_.cbegin(), shown_.cend(), [&](const auto& s) { return store_->hasPending(s->key); });
}

bool LivePlot::pull() {
  bool added = false;
  for (const auto& s : shown_) {
    if (!store_->hasPending(s->key)) continue;
    const SeriesPoints p = store_->takePending(s->key);
    addPoints(*s, p.x, p.y);
    added = true;
  }
  return added;
}

bool LivePlot::flush() {
  if (!detail::isShownOnScreen(this)) return false;
  const bool added = pull();
  if (!added && !dirty_) return false;
  dirty_ = false;
  applyRanges();
  plot_->replot(QCustomPlot::rpQueuedReplot);
  return true;
}

void LivePlot::clear() {
  plot_->clearGraphs();
  shown_.clear();
  byKey_.clear();
  markerStyle_.clear();
  keys_ = Extent{};
  left_ = Extent{};
  right_ = Extent{};
  plot_->yAxis2->setVisible(false);
  autoRange_ = true;
  requestReplot();
}

QImage LivePlot::render(int width, int height) {
  if (width <= 0 || height <= 0) return {};
  pull();
  applyRanges();
  detail::fitLegendColumns(plot_, kLegendColumns, width);
  const QImage image = plot_->toPixmap(width, height).toImage();
  // toPixmap lays the plot out for the image: lay it out for the widget again.
  detail::fitLegendColumns(plot_, kLegendColumns);
  if (detail::isShownOnScreen(this)) plot_->replot(QCustomPlot::rpQueuedReplot);
  return image;
}

double LivePlot::replotTime(bool average) const { return plot_->replotTime(average); }

QCPGraph* LivePlot::rawGraph(const QString& series) const {
  const Shown* s = byKey_.value(series, nullptr);
  return s ? s->raw : nullptr;
}

QCPGraph* LivePlot::smoothedGraph(const QString& series) const {
  const Shown* s = byKey_.value(series, nullptr);
  return s ? s->smooth : nullptr;
}

void LivePlot::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  // Points that arrived while hidden come in on the next pass of the event loop.
  if (dirty_ || hasPendingData()) QTimer::singleShot(0, this, [this] { flush(); });
}

bool LivePlot::eventFilter(QObject* watched, QEvent* event) {
  if (watched == plot_ && event->type() == QEvent::Resize && detail::fitLegendColumns(plot_, kLegendColumns))
    dirty_ = true;  // the plot replots for its new size anyway; this makes the next flush draw the new rows
  if (watched == plot_ && event->type() == QEvent::Paint && !detail::isShownOnScreen(this) &&
      (dirty_ || hasPendingData())) {
    pull();
    dirty_ = false;
    applyRanges();
    plot_->replot(QCustomPlot::rpQueuedRefresh);  // draws the buffers now, before they are painted
  }
  return QWidget::eventFilter(watched, event);
}

double LivePlot::display(const Shown& s, double v) const {
  return (logY_ && s.side == YAxisSide::Left && !(v > 0)) ? std::numeric_limits<double>::quiet_NaN() : v;
}

void LivePlot::addPoints(Shown& s, const QVector<double>& x, const QVector<double>& y) {
  const auto n = std::min(x.size(), y.size());
  if (n == 0) return;
  const bool sorted = sortedKeys(x);
  Extent& values = s.side == YAxisSide::Right ? right_ : left_;
  QVector<double> shownY(n);
  for (qsizetype i = 0; i < n; ++i) {
    keys_.add(x[i]);
    values.add(y[i]);
    shownY[i] = display(s, y[i]);
  }
  s.raw->addData(x, shownY, /*alreadySorted=*/sorted);
  decimate(s.raw, maxPoints_, true);
  if (s.smooth) {
    QVector<double> smoothed(n);
    for (qsizetype i = 0; i < n; ++i) smoothed[i] = display(s, s.ema.push(y[i]));
    s.smooth->addData(x, smoothed, /*alreadySorted=*/sorted);
    decimate(s.smooth, maxPoints_, false);
  }
}

void LivePlot::rebuildSmoothed(Shown& s) {
  if (!s.smooth) return;
  s.ema.setWeight(smoothing_);
  const SeriesPoints& p = store_->points(s.key);
  QVector<QCPGraphData> data;
  data.reserve(p.size());
  for (int i = 0; i < p.size(); ++i) data.append(QCPGraphData(p.x[i], display(s, s.ema.push(p.y[i]))));
  s.smooth->data()->set(data, sortedKeys(p.x));
  decimate(s.smooth, maxPoints_, false);
}

void LivePlot::rebuildSeries(Shown& s) {
  const SeriesPoints& p = store_->points(s.key);
  QVector<QCPGraphData> data;
  data.reserve(p.size());
  for (int i = 0; i < p.size(); ++i) data.append(QCPGraphData(p.x[i], display(s, p.y[i])));
  s.raw->data()->set(data, sortedKeys(p.x));
  decimate(s.raw, maxPoints_, true);
  rebuildSmoothed(s);
}

void LivePlot::rebuildAll() {
  for (const auto& s : shown_) rebuildSeries(*s);
}

void LivePlot::onPointsDropped(const QString& series) {
  Shown* s = byKey_.value(series, nullptr);
  if (!s) return;
  rebuildSeries(*s);  // the points still pending come in with the next pull, as always
  // The ranges follow what is left (the dropped points may have held the extremes).
  keys_ = Extent{};
  left_ = Extent{};
  right_ = Extent{};
  for (const auto& shown : shown_) {
    const SeriesPoints& p = store_->points(shown->key);
    Extent& values = shown->side == YAxisSide::Right ? right_ : left_;
    for (int i = 0; i < p.size(); ++i) {
      keys_.add(p.x[i]);
      values.add(p.y[i]);
    }
  }
  dirty_ = true;
}

void LivePlot::requestReplot() {
  dirty_ = true;
  if (!detail::isShownOnScreen(this)) return;
  dirty_ = false;
  applyRanges();
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void LivePlot::applyRanges() {
  if (!autoRange_) return;
  if (keys_.valid()) {
    double lo = keys_.min, hi = keys_.max;
    if (lo == hi) {
      lo -= 1;
      hi += 1;
    }
    plot_->xAxis->setRange(lo, hi);
  }
  auto fit = [](QCPAxis* axis, const Extent& e, bool log) {
    if (log) {
      if (!std::isfinite(e.minPositive)) return;
      double lo = e.minPositive, hi = e.max;
      const double pad = lo == hi ? 2.0 : std::pow(hi / lo, 0.05);
      axis->setRange(lo / pad, hi * pad);
      detail::fitLogAxisLabels(axis);
      return;
    }
    if (!e.valid()) return;
    double span = e.max - e.min;
    if (span == 0) span = e.max != 0 ? std::abs(e.max) * 0.2 : 1.0;
    axis->setRange(e.min - 0.05 * span, e.max + 0.05 * span);
  };
  fit(plot_->yAxis, left_, logY_);
  fit(plot_->yAxis2, right_, false);
}

}  // namespace fw::widgets
