#pragma once
// The runs browser over the SQLite run index: list and filter runs, select several to overlay
// their curves and see only the experiment fields that differ, resume a stopped run, export the
// metrics of the selected runs as CSV. No LibTorch here.
#include <QWidget>

class QLineEdit;
class QPlainTextEdit;
class QTableWidget;

namespace fw::widgets {
class PlotPanel;
}

namespace fw::gui {

class RunsBrowser : public QWidget {
  Q_OBJECT
public:
  explicit RunsBrowser(const QString& indexPath, QWidget* parent = nullptr);
  QStringList selectedFolders() const;
  int rowCount() const;
  void setIndexPath(const QString& path);
  // The experiment fields that differ between the selected runs, one line per field.
  QString differences() const;
  // metrics.jsonl of the given runs as one CSV (run, method, event, step, key, value); throws fw::Error.
  static void exportCsv(const QStringList& runFolders, const QString& path);

public slots:
  void refresh();

signals:
  void openRun(const QString& folder);
  void resumeRun(const QString& folder);

private slots:
  void selectionChanged();
  void exportSelected();

private:
  QString indexPath_;
  QLineEdit* filter_;
  QTableWidget* table_;
  QPlainTextEdit* diff_;
  widgets::PlotPanel* overlay_;
};

}  // namespace fw::gui
