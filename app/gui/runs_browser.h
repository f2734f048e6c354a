#pragma once
// The runs browser over the SQLite run index: list and filter runs, select several to overlay
// their curves and see only the experiment fields that differ, resume a stopped run, export the
// metrics of the selected runs as CSV. No LibTorch here.
#include <QWidget>

class QLineEdit;
class QPlainTextEdit;
class QTableWidget;
class QTimer;

namespace fw::widgets {
class PlotPanel;
}

namespace fw::gui {

class RunsBrowser : public QWidget {
  Q_OBJECT
public:
  explicit RunsBrowser(const QString& indexPath, QWidget* parent = nullptr);
  QStringList selectedFolders() const;
  QStringList selectedIds() const;  // the index ids of the same rows
  // The selected runs' curves, methods named "#<id> <method>".
  widgets::PlotPanel* overlay() const { return overlay_; }
  int rowCount() const;
  void setIndexPath(const QString& path);
  // The experiment fields that differ between the selected runs, one line per field.
  QString differences() const;
  // metrics.jsonl of the given runs as one CSV (run, method, event, step, key, value); throws fw::Error.
  static void exportCsv(const QStringList& runFolders, const QString& path);

public slots:
  // Reconciles the index (runs whose process is gone) and lists it again.
  void refresh();

signals:
  void openRun(const QString& folder);
  void resumeRun(const QString& folder);

private slots:
  void selectionChanged();
  void exportSelected();

private:
  QStringList selectedColumn(int column) const;
  // Lists the index's runs that match the filter; `reconcile` first marks runs whose process is
  // gone (RunIndex::reconcile).
  void fill(bool reconcile);

  QString indexPath_;
  QLineEdit* filter_;
  QTableWidget* table_;
  QTimer* filterTimer_;
  QPlainTextEdit* diff_;
  widgets::PlotPanel* overlay_;
};

}  // namespace fw::gui
