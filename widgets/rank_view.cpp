#include "widgets/rank_view.h"

#include "widgets/plot_style.h"
#include "widgets/series_store.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

#include <cmath>

namespace fw::widgets {

RankView::RankView(SeriesStore* colors, QWidget* parent)
    : QWidget(parent), colors_(colors ? colors : new SeriesStore(this)), plot_(new QCustomPlot(this)) {
  picker_ = new QComboBox(this);
  picker_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  picker_->setMinimumContentsLength(24);
  auto* pickerLabel = new QLabel(tr("Layer"), this);
  pickerLabel->setBuddy(picker_);
  note_ = new QLabel(this);
  note_->setVisible(false);
  note_->setWordWrap(true);
  note_->setStyleSheet(QStringLiteral("color: #666; font-style: italic;"));

  auto* top = new QHBoxLayout;
  top->addWidget(pickerLabel);
  top->addWidget(picker_, 1);
  top->addStretch(0);
  auto* root = new QVBoxLayout(this);
  root->setContentsMargins(4, 4, 4, 4);
  root->addLayout(top);
  root->addWidget(plot_, 1);
  root->addWidget(note_);
  setMinimumSize(260, 220);

  detail::stylePlot(plot_, tr("Singular values of ΔW"));
  detail::placeLegendBelow(plot_, 2);
  plot_->xAxis->setLabel(tr("index i"));
  plot_->yAxis->setLabel(tr("singular value σᵢ"));
  detail::setLogAxis(plot_->yAxis, true);
  plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);

  plot_->installEventFilter(this);
  throttle_.setSingleShot(true);
  throttle_.setInterval(100);
  connect(&throttle_, &QTimer::timeout, this, &RankView::flush);
  connect(picker_, &QComboBox::currentTextChanged, this, [this](const QString& layer) {
    dirty_ = true;
    flush();  // the user asked: no throttle
    Q_EMIT layerChanged(layer);
  });
}

void RankView::setLayers(const QStringList& layers) {
  const QString current = picker_->currentText();
  {
    const QSignalBlocker block(picker_);
    picker_->clear();
    picker_->addItems(layers);
    const int keep = picker_->findText(current);
    picker_->setCurrentIndex(keep >= 0 ? keep : (layers.isEmpty() ? -1 : 0));
  }
  if (picker_->currentText() != current) {
    dirty_ = true;
    flush();
    Q_EMIT layerChanged(picker_->currentText());
  }
}

QStringList RankView::layers() const {
  QStringList out;
  for (int i = 0; i < picker_->count(); ++i) out << picker_->itemText(i);
  return out;
}

void RankView::setCurrentLayer(const QString& layer) {
  const int i = picker_->findText(layer);
  if (i >= 0) picker_->setCurrentIndex(i);
}

QString RankView::currentLayer() const { return picker_->currentText(); }

void RankView::setSingularValues(const QString& method, const QString& layer, const QVector<double>& values,
                                 double effectiveRank, bool truncated, int total, double floor) {
  data_[layer][method] = Entry{values, effectiveRank, truncated, total, floor};
  if (!methodOrder_.contains(method)) methodOrder_ << method;
  if (picker_->findText(layer) < 0) {
    const bool first = picker_->count() == 0;
    picker_->addItem(layer);  // the first layer becomes current and triggers a rebuild
    if (first) return;
  }
  if (layer == picker_->currentText()) scheduleFlush();
}

void RankView::clear() {
  data_.clear();
  methodOrder_.clear();
  {
    const QSignalBlocker block(picker_);
    picker_->clear();
  }
  dirty_ = true;
  flush();
}

void RankView::scheduleFlush() {
  dirty_ = true;
  if (!throttle_.isActive()) throttle_.start();
}

void RankView::flush() {
  throttle_.stop();
  if (dirty_) {
    dirty_ = false;
    rebuild();
    replotPending_ = true;
  }
  if (replotPending_ && detail::isShownOnScreen(this)) {
    replotPending_ = false;
    plot_->replot(QCustomPlot::rpQueuedReplot);
  }
}

void RankView::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  if (dirty_ || replotPending_) QTimer::singleShot(0, this, &RankView::flush);
}

bool RankView::eventFilter(QObject* watched, QEvent* event) {
  if (watched == plot_ && event->type() == QEvent::Resize && detail::fitLegendColumns(plot_, 2)) replotPending_ = true;
  if (watched == plot_ && event->type() == QEvent::Paint && !detail::isShownOnScreen(this) &&
      (dirty_ || replotPending_)) {
    throttle_.stop();
    if (dirty_) rebuild();
    dirty_ = replotPending_ = false;
    plot_->replot(QCustomPlot::rpQueuedRefresh);
  }
  return QWidget::eventFilter(watched, event);
}

QString RankView::legendText(const QString& method, double effectiveRank) {
  return QStringLiteral("%1 (eff. rank %2)").arg(method, QString::number(effectiveRank, 'f', 1));
}

QColor RankView::colorOf(const QString& method) const { return colors_->methodColor(method); }

void RankView::rebuild() {
  plot_->clearGraphs();
  graphs_.clear();
  const auto layerData = data_.value(picker_->currentText());
  double maxIndex = 0, lo = std::numeric_limits<double>::infinity(), hi = 0;
  QStringList notes, floorNotes;  // floorNotes always name their method
  for (const QString& method : methodOrder_) {
    auto it = layerData.constFind(method);
    if (it == layerData.constEnd()) continue;
    const Entry& e = *it;
    QVector<double> x, y;
    x.reserve(e.values.size());
    y.reserve(e.values.size());
    int belowFloor = 0;
    for (int i = 0; i < e.values.size(); ++i) {
      const double v = e.values[i];
      if (!(v > 0) || !std::isfinite(v)) continue;  // exact zeros have no place on a log axis
      if (v <= e.floor) {
        ++belowFloor;
        continue;
      }
      x << double(i + 1);
      y << v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    maxIndex = std::max(maxIndex, double(e.values.size()));
    QCPGraph* g = plot_->addGraph();
    g->setPen(QPen(colorOf(method), 2));
    g->setName(legendText(method, e.effectiveRank));
    g->setData(x, y, true);
    graphs_.insert(method, g);
    if (e.truncated)
      notes << QStringLiteral("%1: top %2 of %3, randomized SVD").arg(method).arg(e.values.size()).arg(e.total);
    else if (e.values.size() < e.total)  // a run's snapshot keeps the largest 256 of an exact spectrum
      notes << QStringLiteral("%1: top %2 of %3").arg(method).arg(e.values.size()).arg(e.total);
    if (belowFloor > 0)
      floorNotes << QStringLiteral("%1: %2 values at ΔW's rounding level (≤ %3) not drawn")
                        .arg(method).arg(belowFloor).arg(e.floor, 0, 'g', 2);
  }
  if (maxIndex > 0) plot_->xAxis->setRange(maxIndex > 1 ? 1 : 0, std::max(2.0, maxIndex));
  if (hi > 0) plot_->yAxis->setRange(lo / 1.5, hi * 1.5);
  detail::fitLogAxisLabels(plot_->yAxis);
  detail::fitLegendColumns(plot_, 2);
  // One shared note when every truncated method is cut the same way.
  QString text;
  if (!notes.isEmpty()) {
    QStringList shared;
    for (const QString& n : notes) shared << n.section(QStringLiteral(": "), 1);
    shared.removeDuplicates();
    text = shared.size() == 1 ? shared.front() : notes.join(QStringLiteral("; "));
  }
  if (!floorNotes.isEmpty()) text += (text.isEmpty() ? QString() : QStringLiteral("; ")) + floorNotes.join(QStringLiteral("; "));
  note_->setText(text);
  note_->setVisible(!text.isEmpty());
}

QString RankView::noteText() const { return note_->text(); }

QStringList RankView::legendTexts() const {
  QStringList out;
  for (int i = 0; i < plot_->legend->itemCount(); ++i)
    if (auto* item = qobject_cast<QCPPlottableLegendItem*>(plot_->legend->item(i))) out << item->plottable()->name();
  return out;
}

QCPGraph* RankView::graph(const QString& method) const { return graphs_.value(method, nullptr); }

double RankView::replotTime(bool average) const { return plot_->replotTime(average); }

}  // namespace fw::widgets
