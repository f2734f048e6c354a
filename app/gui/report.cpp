#include "analysis/snapshot.h"
#include "runs/run_folder.h"
#include "util/error.h"
#include "io/atomic_file.h"

#include "report.h"

#include "widgets/plot_panel.h"
#include "widgets/rank_view.h"
#include "widgets/series_store.h"
#include "widgets/spectrum_view.h"

#include <QBuffer>
#include <QDateTime>
#include <QDir>
#include <QImage>
#include <QPageSize>
#include <QPdfWriter>
#include <QTextDocument>

#include <functional>
#include <map>

namespace fw::gui {

namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }
QString esc(const QString& s) { return s.toHtmlEscaped(); }

QString num(const nlohmann::json& v, int decimals = 4) {
  if (v.is_number_integer()) return QLocale::c().toString(qlonglong(v.get<int64_t>()));
  if (v.is_number()) return QString::number(v.get<double>(), 'f', decimals);
  return "–";
}

// σ needed for a share of the energy; beyond the top k of a truncated SVD it is "more than k".
QString energy(int64_t count, int64_t k) { return count < 0 ? QString("> %1").arg(k) : QString::number(count); }

struct Figure {
  QString id, caption;
  QImage image;
};

// The HTML body; `src` turns a figure id into the <img src> the output format needs.
QString reportHtml(const QString& runFolder, const std::vector<Figure>& figures, const std::function<QString(const Figure&)>& src) {
  auto run = runs::RunFolder::open(runFolder.toStdString());
  const auto experiment = run.readExperiment();
  const auto summary = run.readSummary().value_or(nlohmann::json::object());
  QString h;
  h += "<html><head><meta charset=\"utf-8\"><title>" + esc(q(experiment.value("name", std::string("run")))) + "</title>"
       "<style>body{font-family:sans-serif;max-width:1000px;margin:auto}table{border-collapse:collapse}"
       "td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}th{background:#eee}td.l,th.l{text-align:left}"
       "pre{background:#f6f6f6;padding:8px;font-size:10pt}</style></head><body>";
  h += "<h1>" + esc(q(experiment.value("name", std::string("run")))) + "</h1>";
  h += "<p>Run folder: <code>" + esc(runFolder) + "</code><br>Status: <b>" + esc(q(summary.value("status", std::string("?")))) +
       "</b><br>Report written " + QDateTime::currentDateTimeUtc().toString(Qt::ISODate) + " by Fourier Workbench</p>";

  h += "<h2>Methods</h2><table><tr><th class=l>method</th><th class=l>type</th><th>trainable parameters</th><th>steps</th><th>seconds</th>";
  std::vector<std::string> keys;
  const auto methods = summary.value("methods", nlohmann::json::object());
  for (const auto& [name, m] : methods.items()) {
    const auto finals = m.value("final_metrics", nlohmann::json::object());
    for (const auto& [k, v] : finals.items())
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  }
  for (const auto& k : keys) h += "<th>final " + esc(q(k)) + "</th>";
  for (const auto& k : keys) h += "<th>best " + esc(q(k)) + "</th>";
  h += "</tr>";
  for (const auto& [name, m] : methods.items()) {
    const auto finals = m.value("final_metrics", nlohmann::json::object());
    const auto best = m.value("best_metrics", nlohmann::json::object());
    h += "<tr><td class=l>" + esc(q(name)) + "</td><td class=l>" + esc(q(m.value("type", std::string()))) + "</td><td>" +
         num(m.value("trainable_parameters", nlohmann::json())) + "</td><td>" + num(m.value("steps", nlohmann::json())) +
         "</td><td>" + num(m.value("seconds", nlohmann::json()), 1) + "</td>";
    for (const auto& k : keys) h += "<td>" + num(finals.value(k, nlohmann::json())) + "</td>";
    for (const auto& k : keys) h += "<td>" + num(best.value(k, nlohmann::json())) + "</td>";
    h += "</tr>";
  }
  h += "</table>";

  h += "<h2>Training</h2>";
  for (const auto& f : figures) h += "<p><img src=\"" + src(f) + "\" width=\"" + QString::number(f.image.width()) + "\"><br><i>" + esc(f.caption) + "</i></p>";

  // The newest snapshot of each method: the rank table per layer.
  std::map<std::string, analysis::SnapshotEntry> newest;
  for (const auto& e : analysis::listSnapshots(run))
    if (!newest.count(e.method) || newest[e.method].step < e.step) newest[e.method] = e;
  if (!newest.empty()) {
    h += "<h2>Rank of ΔW per layer</h2><table><tr><th class=l>method</th><th>step</th><th class=l>layer</th><th>shape</th>"
         "<th>effective rank</th><th>σ for 90 %</th><th>σ for 99 %</th><th>stable rank</th><th>‖ΔW‖/‖W0‖</th></tr>";
    bool truncated = false;
    for (const auto& [method, entry] : newest) {
      analysis::Snapshot snap;
      try {
        snap = analysis::readSnapshot(entry.path);
      } catch (const std::exception& e) {  // one unreadable file costs its rows, not the report
        h += "<tr><td class=l>" + esc(q(method)) + "</td><td>" + QString::number(entry.step) +
             "</td><td class=l colspan=7>snapshot not readable: " + esc(q(e.what())) + "</td></tr>";
        continue;
      }
      for (const auto& l : snap.layers) {
        truncated = truncated || l.truncated;
        h += "<tr><td class=l>" + esc(q(method)) + "</td><td>" + QString::number(entry.step) + "</td><td class=l>" + esc(q(l.name)) +
             "</td><td>" + QString("%1×%2").arg(l.shape[0]).arg(l.shape[1]) + "</td><td>" +
             QString::number(l.effectiveRank, 'f', 2) + (l.truncated ? "*" : "") + "</td><td>" + energy(l.energy90, l.k) +
             "</td><td>" + energy(l.energy99, l.k) + "</td><td>" + QString::number(l.stableRank, 'f', 2) + "</td><td>" +
             QString::number(l.normRatio, 'g', 3) + "</td></tr>";
      }
    }
    h += "</table>";
    // As `fourierft analyze` says it: a large layer's figures come from its top k values only.
    if (truncated)
      h += "<p><small>* randomized SVD of the top k singular values (a layer whose shorter side is above the "
           "exact limit): the effective rank and the σ counts are of those k values only, not of the whole "
           "ΔW.</small></p>";
  }
  h += "<h2>Experiment</h2><pre>" + esc(q(experiment.dump(2))) + "</pre></body></html>";
  return h;
}

QByteArray png(const QImage& image) {
  QByteArray bytes;
  QBuffer buffer(&bytes);
  buffer.open(QIODevice::WriteOnly);
  image.save(&buffer, "PNG");
  return bytes;
}

}  // namespace

void writeReport(const QString& runFolder, const QString& path, widgets::PlotPanel* plots, widgets::RankView* rank,
                 widgets::SpectrumView* spectrum) {
  std::vector<Figure> figures;
  const QMap<QString, QString> captions = {{"loss", "Training loss (smoothed over raw) and evaluation loss"},
                                           {"eval", "Evaluation metrics"}, {"memory", "Memory (MiB)"},
                                           {"throughput", "Throughput (samples per second)"}, {"lr", "Learning rate"}};
  if (plots)
    for (const auto& name : widgets::PlotPanel::plotNames())
      figures.push_back({name, captions.value(name, name), plots->renderPlot(name, 900, 360)});
  if (rank && !rank->layers().isEmpty()) figures.push_back({"rank", "Singular values of ΔW: " + rank->currentLayer(), rank->grab().toImage()});
  if (spectrum && spectrum->rows() > 0) figures.push_back({"spectrum", "Fourier magnitude of ΔW", spectrum->grab().toImage()});

  if (!QDir().mkpath(QFileInfo(path).absolutePath()))
    throw Error("cannot make the report's folder").file(QFileInfo(path).absolutePath().toStdString());
  if (path.endsWith(".pdf", Qt::CaseInsensitive)) {
    QTextDocument doc;
    for (const auto& f : figures) doc.addResource(QTextDocument::ImageResource, QUrl(f.id + ".png"), f.image);
    doc.setHtml(reportHtml(runFolder, figures, [](const Figure& f) { return f.id + ".png"; }));
    const QString tmp = path + ".tmp";
    {
      QPdfWriter pdf(tmp);
      pdf.setPageSize(QPageSize(QPageSize::A4));
      pdf.setResolution(110);
      pdf.setTitle(QFileInfo(runFolder).fileName());
      pdf.setCreator("Fourier Workbench");
      doc.setPageSize(QSizeF(pdf.width(), pdf.height()));
      doc.print(&pdf);
    }
    QFile::remove(path);
    if (!QFile::rename(tmp, path)) throw Error("cannot write the PDF report").file(path.toStdString());
    return;
  }
  const auto html = reportHtml(runFolder, figures, [](const Figure& f) {
    return "data:image/png;base64," + QString::fromLatin1(png(f.image).toBase64());
  });
  io::writeFileAtomic(path.toStdString(), html.toStdString());
}

QString defaultReportPath(const QString& runFolder) {
  return QDir(runFolder).filePath(QString::fromLatin1(runs::run_files::kReport) + "/report.html");
}

void writeReportHeadless(const QString& runFolder, const QString& path) {
  widgets::SeriesStore store;
  widgets::PlotPanel plots(&store);
  widgets::RankView rank(&store);
  plots.resize(1000, 800);
  rank.resize(900, 500);
  QString error;
  if (!plots.loadMetricsJsonl(QDir(runFolder).filePath("metrics.jsonl"), &error))
    throw Error("cannot read the run's metrics: " + error.toStdString()).file(runFolder.toStdString());
  plots.flushNow();
  auto run = runs::RunFolder::open(runFolder.toStdString());
  std::map<std::string, analysis::SnapshotEntry> newest;
  for (const auto& e : analysis::listSnapshots(run))
    if (!newest.count(e.method) || newest[e.method].step < e.step) newest[e.method] = e;
  QStringList layers;
  for (const auto& [method, entry] : newest) {
    analysis::Snapshot snap;
    try {
      snap = analysis::readSnapshot(entry.path);
    } catch (const std::exception&) {  // the rank table says it is not readable
      continue;
    }
    for (const auto& l : snap.layers) {
      if (!layers.contains(q(l.name))) layers << q(l.name);
      rank.setSingularValues(q(method), q(l.name), QVector<double>(l.singularValues.begin(), l.singularValues.end()),
                             l.effectiveRank, l.truncated, int(std::min(l.shape[0], l.shape[1])), analysis::roundingFloor(l));
    }
  }
  rank.setLayers(layers);
  rank.flush();
  writeReport(runFolder, path, &plots, layers.isEmpty() ? nullptr : &rank, nullptr);
}

}  // namespace fw::gui
