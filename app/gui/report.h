#pragma once
// The report of a run, as one self-contained HTML file (plots embedded as PNG data) or a PDF:
// the experiment, the trainable-parameter table, final and best metrics, every training plot,
// the rank table per layer from the newest analysis snapshots, and the rank and spectrum views.
// Reads the run folder only. No LibTorch here.
#include <QString>

namespace fw::widgets {
class PlotPanel;
class RankView;
class SpectrumView;
}  // namespace fw::widgets

namespace fw::gui {

// Where a run keeps its report (the run folder's report/, DESIGN.md's contract): the export
// dialog proposes it, and --report writes it when no --out is given.
QString defaultReportPath(const QString& runFolder);

// Writes `path` (.html or .pdf by extension), making its folder if needed. The panel and views are drawn as they are; pass
// null views to leave them out. Throws fw::Error naming the file.
void writeReport(const QString& runFolder, const QString& path, widgets::PlotPanel* plots, widgets::RankView* rank,
                 widgets::SpectrumView* spectrum);

// For `fourier-workbench --report RUN [--out FILE]`: loads the run into fresh (hidden) widgets
// and writes the report.
void writeReportHeadless(const QString& runFolder, const QString& path);

}  // namespace fw::gui
