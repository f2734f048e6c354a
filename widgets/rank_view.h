// Singular values of ΔW for one layer, one line per method on a log y axis (x = index, from 1),
// each legend entry carrying the method's effective rank, a layer picker, and a note when the
// values are only the top k of a randomized SVD. Updates arrive from the analysis (off the GUI
// thread, through queued signals) and are drawn at most every 100 ms, only while on screen.
#pragma once

#include <QHash>
#include <QMap>
#include <QString>
#include <QStringList>
#include <QTimer>
#include <QVector>
#include <QWidget>

class QComboBox;
class QCustomPlot;
class QCPGraph;
class QLabel;

namespace fw::widgets {

class SeriesStore;

class RankView : public QWidget {
  Q_OBJECT
public:
  // Method colours come from `colors` (the PlotPanel's store) when given, so they match the plots.
  explicit RankView(SeriesStore* colors = nullptr, QWidget* parent = nullptr);

  void setLayers(const QStringList& layers);
  QStringList layers() const;
  void setCurrentLayer(const QString& layer);
  QString currentLayer() const;

  // values: descending singular values (the top `values.size()` of `total` when truncated).
  // Values at or below `floor` (ΔW's own rounding, analysis::roundingFloor) are not drawn: a
  // rank-8 LoRA's 760 others are float32 noise, and on a log axis they stretched the plot over
  // ten decades; the note counts them.
  void setSingularValues(const QString& method, const QString& layer, const QVector<double>& values,
                         double effectiveRank, bool truncated, int total, double floor = 0);
  void clear();

  // Rebuilds the graphs now if something changed (the throttle timer calls this); replots only
  // when on screen.
  void flush();

  QCustomPlot* customPlot() const { return plot_; }
  QComboBox* layerPicker() const { return picker_; }
  QString noteText() const;
  QStringList legendTexts() const;
  QCPGraph* graph(const QString& method) const;
  double replotTime(bool average = false) const;

  static QString legendText(const QString& method, double effectiveRank);

Q_SIGNALS:
  void layerChanged(const QString& layer);

protected:
  void showEvent(QShowEvent* event) override;
  // grab()/render() of a hidden view paints it: catch up first, so the image is current.
  bool eventFilter(QObject* watched, QEvent* event) override;

private:
  struct Entry {
    QVector<double> values;
    double effectiveRank = 0;
    bool truncated = false;
    int total = 0;
    double floor = 0;
  };
  void rebuild();
  void scheduleFlush();
  QColor colorOf(const QString& method) const;

  SeriesStore* colors_;
  QCustomPlot* plot_;
  QComboBox* picker_;
  QLabel* note_;
  QTimer throttle_;
  QMap<QString, QMap<QString, Entry>> data_;  // layer -> method -> values
  QStringList methodOrder_;
  QHash<QString, QCPGraph*> graphs_;
  bool dirty_ = false;
  bool replotPending_ = false;
};

}  // namespace fw::widgets
