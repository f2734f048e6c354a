#include "runs/experiment_diff.h"
#include "runs/run_folder.h"
#include "runs/run_index.h"
#include "util/error.h"
#include "io/atomic_file.h"

#include "runs_browser.h"

#include "widgets/plot_panel.h"

#include <QDir>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <sstream>

namespace fw::gui {

namespace {
QString q(const std::string& s) { return QString::fromStdString(s); }
enum Column { kId, kStatus, kName, kModel, kDataset, kMethods, kStarted, kFolder, kColumns };

QString csvField(QString s) {
  if (s.contains(',') || s.contains('"') || s.contains('\n')) s = '"' + s.replace("\"", "\"\"") + '"';
  return s;
}
}  // namespace

RunsBrowser::RunsBrowser(const QString& indexPath, QWidget* parent) : QWidget(parent), indexPath_(indexPath) {
  auto* layout = new QVBoxLayout(this);
  auto* bar = new QHBoxLayout;
  filter_ = new QLineEdit;
  filter_->setPlaceholderText(tr("Filter by name, model, dataset or method"));
  auto* refreshButton = new QPushButton(tr("Refresh"));
  auto* open = new QPushButton(tr("Open"));
  auto* resume = new QPushButton(tr("Resume"));
  auto* csv = new QPushButton(tr("Export CSV…"));
  bar->addWidget(filter_, 1);
  for (auto* b : {refreshButton, open, resume, csv}) bar->addWidget(b);
  layout->addLayout(bar);

  table_ = new QTableWidget(0, kColumns);
  table_->setHorizontalHeaderLabels({tr("Id"), tr("Status"), tr("Name"), tr("Model"), tr("Dataset"), tr("Methods"), tr("Started"), tr("Folder")});
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->verticalHeader()->hide();
  diff_ = new QPlainTextEdit;
  diff_->setReadOnly(true);
  diff_->setPlaceholderText(tr("Select two or more runs to see the experiment fields that differ."));
  overlay_ = new widgets::PlotPanel(nullptr);
  auto* lower = new QSplitter;
  lower->addWidget(diff_);
  lower->addWidget(overlay_);
  lower->setStretchFactor(1, 2);
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(table_);
  split->addWidget(lower);
  layout->addWidget(split, 1);

  connect(refreshButton, &QPushButton::clicked, this, &RunsBrowser::refresh);
  // Typing filters once it pauses (each listing is a query on the index, which another process
  // may hold for a moment), without the reconcile that Refresh does.
  filterTimer_ = new QTimer(this);
  filterTimer_->setSingleShot(true);
  filterTimer_->setInterval(250);
  connect(filter_, &QLineEdit::textChanged, filterTimer_, qOverload<>(&QTimer::start));
  connect(filterTimer_, &QTimer::timeout, this, [this] { fill(false); });
  connect(table_, &QTableWidget::itemSelectionChanged, this, &RunsBrowser::selectionChanged);
  connect(table_, &QTableWidget::cellDoubleClicked, this, [this](int row, int) { emit openRun(table_->item(row, kFolder)->text()); });
  connect(open, &QPushButton::clicked, this, [this] {
    const auto f = selectedFolders();
    if (!f.isEmpty()) emit openRun(f.first());
  });
  connect(resume, &QPushButton::clicked, this, [this] {
    const auto f = selectedFolders();
    if (!f.isEmpty()) emit resumeRun(f.first());
  });
  connect(csv, &QPushButton::clicked, this, &RunsBrowser::exportSelected);
  refresh();
}

void RunsBrowser::setIndexPath(const QString& path) {
  indexPath_ = path;
  refresh();
}

int RunsBrowser::rowCount() const { return table_->rowCount(); }

void RunsBrowser::refresh() { fill(true); }

void RunsBrowser::fill(bool reconcile) {
  filterTimer_->stop();
  table_->setRowCount(0);
  try {
    auto index = runs::RunIndex::open(indexPath_.toStdString());
    if (reconcile) index.reconcile();
    runs::RunFilter f;
    f.text = filter_->text().toStdString();
    f.limit = 500;
    for (const auto& r : index.list(f)) {
      const int row = table_->rowCount();
      table_->insertRow(row);
      QStringList methods;
      for (const auto& m : r.methods) methods << q(m);
      const QStringList cells = {QString::number(r.id), q(runs::statusName(r.status)), q(r.name), q(r.model), q(r.dataset),
                                 methods.join(", "), q(r.startedAt), q(r.folder)};
      for (int c = 0; c < kColumns; ++c) table_->setItem(row, c, new QTableWidgetItem(cells[c]));
    }
  } catch (const std::exception& e) {
    diff_->setPlainText(tr("Run index: %1").arg(q(e.what())));
  }
  table_->resizeColumnsToContents();
}

QStringList RunsBrowser::selectedColumn(int column) const {
  QStringList out;
  for (const auto& range : table_->selectedRanges())
    for (int row = range.topRow(); row <= range.bottomRow(); ++row) out << table_->item(row, column)->text();
  return out;
}

QStringList RunsBrowser::selectedFolders() const { return selectedColumn(kFolder); }

QStringList RunsBrowser::selectedIds() const { return selectedColumn(kId); }

QString RunsBrowser::differences() const {
  const auto folders = selectedFolders();
  if (folders.size() < 2) return {};
  QStringList lines;
  try {
    auto first = runs::RunFolder::open(folders.first().toStdString()).readExperiment();
    for (int i = 1; i < folders.size(); ++i) {
      auto other = runs::RunFolder::open(folders[i].toStdString()).readExperiment();
      lines << tr("%1 vs %2:").arg(QDir(folders.first()).dirName(), QDir(folders[i]).dirName());
      for (const auto& d : runs::experimentDiff(first, other)) {
        auto show = [](const std::optional<nlohmann::json>& v) { return v ? q(v->dump()) : QString("(absent)"); };
        lines << QString("  %1: %2 → %3").arg(q(d.path), show(d.a), show(d.b));
      }
    }
  } catch (const std::exception& e) {
    lines << q(e.what());
  }
  return lines.join('\n');
}

void RunsBrowser::selectionChanged() {
  const auto folders = selectedFolders();
  QStringList notes;
  if (folders.size() >= 2) notes << differences();
  // Overlay the selected runs' curves, each method named after its run's id ("#12 lora"): unique,
  // as in the table, and without the '/' that separates a series' method from its metric.
  overlay_->clear();
  const auto ids = selectedIds();
  for (int i = 0; i < folders.size(); ++i) {
    const QString& folder = folders[i];
    try {
      for (const auto& line : runs::RunFolder::open(folder.toStdString()).readMetrics()) {
        const QString method = "#" + ids[i] + " " + q(line.value("method", std::string()));
        if (line.value("event", std::string()) == "step")
          overlay_->onStep(method, line.value("step", 0.0), line.value("loss", NAN), line.value("lr", NAN),
                           line.value("samples_per_s", NAN), line.value("memory_mib", NAN));
        else if (line.value("event", std::string()) == "eval") {
          QMap<QString, double> m;
          m["loss"] = line.value("loss", NAN);
          // Bound first: items() of the temporary that value() returns would dangle in the loop.
          const nlohmann::json metrics = line.value("metrics", nlohmann::json::object());
          for (const auto& [k, v] : metrics.items())
            if (v.is_number()) m[q(k)] = v.get<double>();
          overlay_->onEval(method, line.value("step", 0.0), m);
        }
      }
    } catch (const std::exception& e) {  // fw::Error, or a field of the wrong type (nlohmann)
      notes << tr("Run #%1: curves not shown: %2").arg(ids[i], q(e.what()));
    }
  }
  diff_->setPlainText(notes.join("\n\n"));
  overlay_->flushNow();
}

void RunsBrowser::exportCsv(const QStringList& runFolders, const QString& path) {
  std::ostringstream out;
  out << "run,method,event,step,key,value\n";
  for (const auto& folder : runFolders) {
    const auto run = csvField(QDir(folder).dirName()).toStdString();
    for (const auto& line : runs::RunFolder::open(folder.toStdString()).readMetrics()) {
      const auto method = csvField(q(line.value("method", std::string()))).toStdString();
      const auto event = line.value("event", std::string());
      const auto step = line.value("step", int64_t(0));
      auto emitValue = [&](const std::string& key, const nlohmann::json& v) {
        if (v.is_number()) out << run << ',' << method << ',' << event << ',' << step << ',' << key << ',' << v.dump() << '\n';
      };
      for (const auto& [k, v] : line.items())
        if (k != "step" && k != "epoch") emitValue(k, v);
      if (line.contains("metrics"))
        for (const auto& [k, v] : line["metrics"].items()) emitValue("metrics." + k, v);
    }
  }
  io::writeFileAtomic(path.toStdString(), out.str());
}

void RunsBrowser::exportSelected() {
  const auto folders = selectedFolders();
  if (folders.isEmpty()) return;
  const auto path = QFileDialog::getSaveFileName(this, tr("Export metrics as CSV"), QDir::homePath(), tr("CSV (*.csv)"));
  if (path.isEmpty()) return;
  try {
    exportCsv(folders, path);
  } catch (const std::exception& e) {  // fw::Error, or a field of the wrong type (nlohmann)
    QMessageBox::critical(this, tr("Cannot export"), q(e.what()));
  }
}

}  // namespace fw::gui
