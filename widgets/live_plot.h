// A live line plot of series from a SeriesStore (QCustomPlot 2.1). Events never touch it: they
// append to the store, and flush() (PlotPanel's 100 ms timer) moves the new points in with
// addData(..., alreadySorted) and asks for one queued replot, only when something changed and the
// plot is on screen. Raw values are drawn faint under TensorBoard's debiased EMA in the method's
// colour; eval-style series are points joined by lines, on the left or a right-hand y axis.
// No torch header here or below: the GUI includes LibTorch before Qt in its own files.
#pragma once

#include "widgets/smoothing.h"

#include <QHash>
#include <QImage>
#include <QString>
#include <QVector>
#include <QWidget>

#include <limits>
#include <memory>
#include <vector>

class QCustomPlot;
class QCPAxis;
class QCPGraph;

namespace fw::widgets {

class SeriesStore;

enum class SeriesKind {
  Smoothed,  // faint raw line under the smoothed line (training loss)
  Line,      // one plain line (memory, throughput, learning rate)
  Points,    // markers joined by a line (eval metrics)
};

enum class YAxisSide { Left, Right };

class LivePlot : public QWidget {
  Q_OBJECT
public:
  // With no store, the plot makes its own (store()).
  LivePlot(SeriesStore* store, const QString& title, const QString& yLabel, QWidget* parent = nullptr);
  ~LivePlot() override;

  // Shows every series of the store whose metric equals `metric`, or starts with it when it ends
  // in '*' ("eval:*"); the first matching track wins. Legend: the method name, then `legendSuffix`
  // (for a '*' track with no suffix, the part of the metric the '*' matched).
  void track(const QString& metric, SeriesKind kind, YAxisSide side = YAxisSide::Left,
             const QString& legendSuffix = {});
  // Shows one series by its full key.
  void addSeries(const QString& series, SeriesKind kind, YAxisSide side = YAxisSide::Left,
                 const QString& legendName = {});
  QStringList seriesShown() const;

  void setYLabel(const QString& label);
  void setY2Label(const QString& label);  // the right-hand axis, shown once a series uses it
  void setLogY(bool log);                 // left axis; values <= 0 are left out
  bool logY() const { return logY_; }

  // TensorBoard smoothing weight in [0, 0.999]; recomputes the smoothed graphs from the store.
  void setSmoothing(double weight);
  double smoothing() const { return smoothing_; }

  // Beyond this many points a graph's older half is decimated 2:1 (min/max kept for raw values).
  void setMaxPointsPerGraph(int maxPoints);
  int maxPointsPerGraph() const { return maxPoints_; }

  // Follow the data (default); dragging or zooming turns it off, a double click turns it back on.
  void setAutoRange(bool on);
  bool autoRange() const { return autoRange_; }

  bool hasPendingData() const;

  // Moves pending points in and queues one replot; does nothing while the plot is not on screen
  // or nothing changed. Returns whether a replot was queued.
  bool flush();
  // Moves pending points into the graphs whether or not the plot is shown; no replot.
  bool pull();
  // Removes every graph (the store's cleared() does this too); tracks stay.
  void clear();

  // The plot as an image (for reports), pending points included.
  QImage render(int width, int height);

  // Milliseconds of the last replot (or the average of recent ones).
  double replotTime(bool average = false) const;

  SeriesStore* store() const { return store_; }
  QCustomPlot* customPlot() const { return plot_; }
  // Smoothed: the faint raw graph; Line and Points: the graph. nullptr when not shown.
  QCPGraph* rawGraph(const QString& series) const;
  // Smoothed only (else nullptr).
  QCPGraph* smoothedGraph(const QString& series) const;

protected:
  void showEvent(QShowEvent* event) override;
  // grab()/render() of a hidden plot paints it: catch up first, so the image is current.
  bool eventFilter(QObject* watched, QEvent* event) override;

private:
  static constexpr int kLegendColumns = 3;  // legend entries per row when the plot is wide enough

  struct Track {
    QString metric;
    SeriesKind kind;
    YAxisSide side;
    QString suffix;
  };
  struct Extent {
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
    double minPositive = std::numeric_limits<double>::infinity();
    void add(double v);
    bool valid() const { return min <= max; }
  };
  struct Shown;

  void onSeriesAdded(const QString& series);
  void addPoints(Shown& s, const QVector<double>& x, const QVector<double>& y);
  void rebuildSmoothed(Shown& s);
  void rebuildAll();
  void rebuildSeries(Shown& s);
  // The store dropped stored points of `series` (a step came again): redraw it from the store.
  void onPointsDropped(const QString& series);
  void applyRanges();
  void requestReplot();
  double display(const Shown& s, double v) const;

  SeriesStore* store_;
  QCustomPlot* plot_;
  QVector<Track> tracks_;
  std::vector<std::unique_ptr<Shown>> shown_;
  QHash<QString, Shown*> byKey_;
  QHash<QString, int> markerStyle_;  // per metric, for Points series
  Extent keys_, left_, right_;
  double smoothing_ = 0.0;
  int maxPoints_ = 200000;
  bool logY_ = false;
  bool autoRange_ = true;
  bool dirty_ = false;  // something changed that the screen has not shown yet
};

}  // namespace fw::widgets
