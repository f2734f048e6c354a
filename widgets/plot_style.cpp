#include "widgets/plot_style.h"

#include <algorithm>

#include <qcustomplot.h>

#include <QWidget>

namespace fw::widgets::detail {

void stylePlot(QCustomPlot* plot, const QString& title) {
  QFont base = plot->font();
  base.setPointSizeF(8.5);
  QFont labelFont = base;
  labelFont.setPointSizeF(9);
  QFont titleFont = base;
  titleFont.setPointSizeF(10);
  titleFont.setBold(true);

  if (!title.isEmpty()) {
    plot->plotLayout()->insertRow(0);
    auto* text = new QCPTextElement(plot, title, titleFont);
    text->setMargins(QMargins(0, 4, 0, 0));
    plot->plotLayout()->addElement(0, 0, text);
  }
  for (QCPAxis* axis : {plot->xAxis, plot->yAxis, plot->yAxis2}) {
    axis->setTickLabelFont(base);
    axis->setLabelFont(labelFont);
    axis->grid()->setPen(QPen(QColor(0, 0, 0, 28), 1, Qt::SolidLine));
    axis->grid()->setSubGridVisible(false);
    axis->setBasePen(QPen(QColor(90, 90, 90)));
    axis->setTickPen(QPen(QColor(90, 90, 90)));
    axis->setSubTickPen(QPen(QColor(90, 90, 90)));
  }
  plot->yAxis2->grid()->setVisible(false);
  plot->legend->setFont(base);
  plot->setNoAntialiasingOnDrag(true);
  plot->setPlottingHint(QCP::phCacheLabels, true);
  plot->setPlottingHint(QCP::phFastPolylines, true);  // noisy, dense lines: segments, not one huge path
}

void placeLegendBelow(QCustomPlot* plot, int wrap) {
  QCPLegend* legend = plot->legend;
  legend->setVisible(true);
  if (auto* inset = plot->axisRect()->insetLayout(); inset->elements(false).contains(legend)) inset->take(legend);
  QCPLayoutGrid* grid = plot->plotLayout();
  const int row = grid->rowCount();
  grid->addElement(row, 0, legend);
  grid->setRowStretchFactor(row, 0.001);
  legend->setFillOrder(QCPLegend::foColumnsFirst, false);
  legend->setWrap(wrap);
  legend->setBorderPen(Qt::NoPen);
  legend->setBrush(Qt::NoBrush);
  legend->setMargins(QMargins(6, 0, 6, 2));
  legend->setRowSpacing(0);
  legend->setColumnSpacing(10);
}

bool fitLegendColumns(QCustomPlot* plot, int most, int width) {
  QCPLegend* legend = plot->legend;
  QVector<int> widths;
  for (int i = 0; i < legend->itemCount(); ++i)
    if (QCPAbstractLegendItem* item = legend->item(i)) widths << item->minimumOuterSizeHint().width();
  if (widths.isEmpty()) return false;
  const int available = (width > 0 ? width : plot->width()) - legend->margins().left() - legend->margins().right();
  // Filled row by row, a column is as wide as its widest entry: take the most columns that fit.
  int columns = 1;
  for (int c = std::min<int>(std::max(1, most), int(widths.size())); c > 1; --c) {
    int total = (c - 1) * legend->columnSpacing();
    for (int col = 0; col < c; ++col) {
      int widest = 0;
      for (int i = col; i < widths.size(); i += c) widest = std::max(widest, widths[i]);
      total += widest;
    }
    if (total <= available) {
      columns = c;
      break;
    }
  }
  if (legend->wrap() == columns) return false;
  legend->setWrap(columns);
  legend->setFillOrder(QCPLegend::foColumnsFirst, /*rearrange=*/true);
  return true;
}

void setLogAxis(QCPAxis* axis, bool log) {
  if (log) {
    axis->setScaleType(QCPAxis::stLogarithmic);
    auto ticker = QSharedPointer<QCPAxisTickerLog>::create();
    ticker->setLogBase(10);
    axis->setTicker(ticker);
    axis->setNumberFormat(QStringLiteral("eb"));
    axis->setNumberPrecision(0);
  } else {
    axis->setScaleType(QCPAxis::stLinear);
    axis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    axis->setNumberFormat(QStringLiteral("gb"));
    axis->setNumberPrecision(6);
  }
}

void fitLogAxisLabels(QCPAxis* axis) {
  if (axis->scaleType() != QCPAxis::stLogarithmic) return;
  const QCPRange r = axis->range();
  const bool narrow = r.lower > 0 && r.upper / r.lower < 100;
  axis->setNumberFormat(narrow ? QStringLiteral("g") : QStringLiteral("eb"));
  axis->setNumberPrecision(narrow ? 2 : 0);
}

bool isShownOnScreen(const QWidget* widget) {
  return widget->isVisible() && !(widget->window() && widget->window()->isMinimized());
}

}  // namespace fw::widgets::detail
