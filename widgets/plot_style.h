// Shared look of the QCustomPlot-based widgets (internal to fw_widgets): a title row, the legend
// in its own row under the axis rect (so it never covers data), fonts, and the visibility test
// that decides whether a replot is worth doing.
#pragma once

#include <QString>

class QCustomPlot;
class QCPAxis;
class QCPLayoutElement;
class QWidget;

namespace fw::widgets::detail {

// Title row on top, compact fonts, light grid, antialiasing off while dragging.
void stylePlot(QCustomPlot* plot, const QString& title);

// Moves the legend out of the axis rect into a row below it, filled left to right, `wrap` entries
// per row.
void placeLegendBelow(QCustomPlot* plot, int wrap);

// As many legend entries per row as fit `width` pixels (the plot's own width when 0), at least 1 and
// at most `most`, so no entry is cut off in a narrow plot. Returns whether the rows changed
// (then the plot needs a replot). Call when entries change and on resize.
bool fitLegendColumns(QCustomPlot* plot, int most, int width = 0);

// Linear or logarithmic value axis (log ticks 10^k).
void setLogAxis(QCPAxis* axis, bool log);
// A log axis's labels for its current range: 10^k across two decades or more; plain numbers with
// two significant digits below that, where the ticker also marks 2, 3, 5... and 10^k rounding
// labelled 2.5 and 3 both "3·10^0". Call after setting the range.
void fitLogAxisLabels(QCPAxis* axis);

// Visible, and its window not minimised: only then is a replot worth its cost.
bool isShownOnScreen(const QWidget* widget);

}  // namespace fw::widgets::detail
