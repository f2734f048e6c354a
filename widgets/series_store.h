// The GUI-side data of the live plots (PlotJuggler's split: data, plot widgets, window wiring).
// Training events arrive on the GUI thread (the worker's queued signals) and only append to a
// per-series pending buffer here; a throttled flush (PlotPanel's 100 ms timer, or LivePlot::flush)
// moves them into GUI-owned storage and into the graphs. No LibTorch, no locks: GUI thread only.
#pragma once

#include <QColor>
#include <QHash>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QVector>

namespace fw::widgets {

// Points of one series, x (step) and y side by side.
struct SeriesPoints {
  QVector<double> x;
  QVector<double> y;
  bool isEmpty() const { return x.isEmpty(); }
  int size() const { return int(x.size()); }
};

// Named series, keyed "<method>/<metric>" (e.g. "fourierft-n200/loss", "lora-r8/eval:accuracy"),
// each with GUI-owned storage and a pending buffer, plus a stable colour per method name.
// Each series is meant to be drawn by one plot: takePending hands the new points to one consumer.
class SeriesStore : public QObject {
  Q_OBJECT
public:
  explicit SeriesStore(QObject* parent = nullptr);

  static QString key(const QString& method, const QString& metric);
  static QString methodOf(const QString& series);  // before the first '/'
  static QString metricOf(const QString& series);  // after the first '/'

  // Appends to the pending buffer (creating the series, and emitting seriesAdded, on first use).
  // A point whose step (x) is at or below the series' last step replaces the tail: the points
  // from that step on are dropped first (a resumed run repeats the steps after its checkpoint,
  // and its values win, as TensorBoard does on a restart). When stored points go, pointsDropped
  // is emitted so plots rebuild that series from points().
  void append(const QString& series, double x, double y);
  void append(const QString& series, const QVector<double>& x, const QVector<double>& y);

  // Moves the pending points into storage and returns them (empty when there are none).
  SeriesPoints takePending(const QString& series);
  bool hasPending(const QString& series) const;
  int pendingCount(const QString& series) const;
  int pendingTotal() const { return pendingTotal_; }

  // Points already taken (the full history a plot rebuilds from, e.g. when smoothing changes).
  const SeriesPoints& points(const QString& series) const;
  // Stored plus pending points.
  int count(const QString& series) const;

  bool contains(const QString& series) const { return series_.contains(series); }
  QStringList seriesNames() const { return order_; }  // in order of creation
  QStringList methods() const { return methods_; }    // in order of first appearance

  // Drops every series (colours stay; resetColors() starts the palette again).
  void clear();

  // The colour of a method: the next palette colour the first time a name is seen, the same
  // colour afterwards (until resetColors).
  QColor methodColor(const QString& method) const;
  void setMethodColor(const QString& method, const QColor& color);
  void resetColors();

  // Tableau 10, then golden-angle hues beyond it.
  static QColor paletteColor(int index);

Q_SIGNALS:
  void seriesAdded(const QString& series);
  // Stored points of `series` were dropped (a step came again): points() is shorter now.
  void pointsDropped(const QString& series);
  // Emitted on every append; a consumer starts its flush timer if none is pending.
  void pointsAppended();
  void cleared();

private:
  struct Series {
    SeriesPoints stored;
    SeriesPoints pending;
  };
  Series& ensure(const QString& series);
  // Drops the points at or after step x; returns whether stored (not only pending) ones went.
  bool dropFrom(Series& s, double x);

  QHash<QString, Series> series_;
  QStringList order_;
  QStringList methods_;
  mutable QHash<QString, QColor> colors_;
  mutable int nextColor_ = 0;
  int pendingTotal_ = 0;
};

}  // namespace fw::widgets
