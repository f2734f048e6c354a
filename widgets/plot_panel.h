// The plots a training run needs, fed from one SeriesStore: training loss (smoothed, with eval
// loss as points), eval metrics (perplexity on a right-hand axis), memory, throughput and learning
// rate. Training events only append to the store; ONE 100 ms single-shot timer, started by the
// first point of a burst, flushes every plot (hidden plots skip, and catch up when shown).
#pragma once

#include <QImage>
#include <QMap>
#include <QString>
#include <QStringList>
#include <QTimer>
#include <QWidget>

class QCheckBox;
class QLabel;
class QSlider;

namespace fw::widgets {

class LivePlot;
class SeriesStore;

class PlotPanel : public QWidget {
  Q_OBJECT
public:
  // With no store, the panel makes its own.
  explicit PlotPanel(SeriesStore* store, QWidget* parent = nullptr);

  // Names of the plots, for plot() and renderPlot(): "loss", "eval", "memory", "throughput", "lr".
  static QStringList plotNames();
  LivePlot* plot(const QString& which) const;
  SeriesStore* store() const { return store_; }

  // Series keys written by onStep/onEval: "<method>/loss", "/lr", "/samples_per_s", "/memory_mib",
  // "/eval_loss" and "/eval:<metric>".
  static QString evalMetricKey(const QString& method, const QString& metric);

  // Loads a finished run from its metrics.jsonl (clearing the panel first): "step" and "eval"
  // lines as the trainer writes them; a torn last line is skipped silently, other bad lines are
  // skipped and named in *error. Returns false only when the file cannot be read.
  bool loadMetricsJsonl(const QString& path, QString* error = nullptr);

  // One plot as an image of width x height (QCustomPlot::toPixmap), pending points included;
  // a null image for an unknown name.
  QImage renderPlot(const QString& which, int width, int height);

  double smoothing() const { return smoothing_; }
  // Sets the slider and the loss plot at once (no debounce), e.g. from QSettings "Plots/smoothing".
  void setSmoothing(double weight);

  // Flushes every visible plot now (the timer does this 100 ms after data arrives).
  void flushNow();
  const QTimer& flushTimer() const { return flushTimer_; }

public Q_SLOTS:
  // A training step. Non-finite (missing) values are left out.
  void onStep(const QString& method, double step, double loss, double lr, double samplesPerSecond,
              double memoryMiB);
  // An evaluation: metrics as named by the trainer ("accuracy", "f1", "perplexity", ...); a
  // "loss" entry is the eval loss, drawn on the loss plot.
  void onEval(const QString& method, double step, const QMap<QString, double>& metrics);
  // Drops all series and starts the colour palette again (a new run).
  void clear();

Q_SIGNALS:
  void smoothingChanged(double weight);

private:
  void scheduleFlush();
  void onSliderMoved(int value);
  void applySmoothing();

  SeriesStore* store_;
  LivePlot* loss_;
  LivePlot* eval_;
  LivePlot* memory_;
  LivePlot* throughput_;
  LivePlot* lr_;
  QSlider* smoothingSlider_;
  QLabel* smoothingValue_;
  QCheckBox* logLoss_;
  QTimer flushTimer_;         // the one 100 ms flush timer
  QTimer smoothingDebounce_;  // the slider settles before the smoothed curves are recomputed
  double smoothing_ = 0.6;
};

}  // namespace fw::widgets
