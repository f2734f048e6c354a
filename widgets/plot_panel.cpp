#include "widgets/plot_panel.h"

#include "widgets/live_plot.h"
#include "widgets/series_store.h"

#include <QCheckBox>
#include <QFile>
#include <QHBoxLayout>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QLabel>
#include <QSlider>
#include <QVBoxLayout>

#include <cmath>
#include <limits>

namespace fw::widgets {

namespace {

constexpr int kFlushMs = 100;
constexpr int kSmoothingDebounceMs = 150;
constexpr int kSliderSteps = 1000;  // slider value / 1000 = weight, 0 .. 0.999

double number(const QJsonObject& o, const char* name) {
  const QJsonValue v = o.value(QLatin1String(name));
  return v.isDouble() ? v.toDouble() : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

PlotPanel::PlotPanel(SeriesStore* store, QWidget* parent)
    : QWidget(parent), store_(store ? store : new SeriesStore(this)) {
  loss_ = new LivePlot(store_, tr("Training loss"), tr("loss"), this);
  loss_->track(QStringLiteral("loss"), SeriesKind::Smoothed);
  loss_->track(QStringLiteral("eval_loss"), SeriesKind::Points, YAxisSide::Left, tr("(eval)"));
  loss_->setSmoothing(smoothing_);

  eval_ = new LivePlot(store_, tr("Evaluation"), tr("metric"), this);
  eval_->setY2Label(tr("perplexity"));
  eval_->track(QStringLiteral("eval:perplexity"), SeriesKind::Points, YAxisSide::Right);
  eval_->track(QStringLiteral("eval:*"), SeriesKind::Points, YAxisSide::Left);

  memory_ = new LivePlot(store_, tr("Memory"), tr("MiB"), this);
  memory_->track(QStringLiteral("memory_mib"), SeriesKind::Line);

  throughput_ = new LivePlot(store_, tr("Throughput"), tr("samples/s"), this);
  throughput_->track(QStringLiteral("samples_per_s"), SeriesKind::Line);

  lr_ = new LivePlot(store_, tr("Learning rate"), tr("lr"), this);
  lr_->setLogY(true);  // methods' rates differ by orders of magnitude (0.2 against 3e-3)
  lr_->track(QStringLiteral("lr"), SeriesKind::Line);

  // Loss smoothing: label + slider + value, and a log-scale toggle.
  auto* smoothingLabel = new QLabel(tr("Loss smoothing"), this);
  smoothingSlider_ = new QSlider(Qt::Horizontal, this);
  smoothingSlider_->setRange(0, kSliderSteps - 1);
  smoothingSlider_->setValue(int(std::lround(smoothing_ * kSliderSteps)));
  smoothingSlider_->setMaximumWidth(240);
  smoothingSlider_->setToolTip(tr("TensorBoard's debiased exponential moving average, 0 to 0.999"));
  smoothingValue_ = new QLabel(QString::number(smoothing_, 'f', 3), this);
  smoothingValue_->setMinimumWidth(smoothingValue_->fontMetrics().horizontalAdvance(QStringLiteral("0.000")) + 4);
  smoothingLabel->setBuddy(smoothingSlider_);
  logLoss_ = new QCheckBox(tr("Log scale"), this);

  auto* controls = new QHBoxLayout;
  controls->addWidget(smoothingLabel);
  controls->addWidget(smoothingSlider_);
  controls->addWidget(smoothingValue_);
  controls->addSpacing(16);
  controls->addWidget(logLoss_);
  controls->addStretch(1);

  auto* top = new QHBoxLayout;
  top->addWidget(loss_, 3);
  top->addWidget(eval_, 2);
  auto* bottom = new QHBoxLayout;
  bottom->addWidget(memory_, 1);
  bottom->addWidget(throughput_, 1);
  bottom->addWidget(lr_, 1);
  auto* root = new QVBoxLayout(this);
  root->setContentsMargins(4, 4, 4, 4);
  root->addLayout(controls);
  root->addLayout(top, 3);
  root->addLayout(bottom, 2);

  flushTimer_.setSingleShot(true);
  flushTimer_.setInterval(kFlushMs);
  connect(&flushTimer_, &QTimer::timeout, this, &PlotPanel::flushNow);
  connect(store_, &SeriesStore::pointsAppended, this, &PlotPanel::scheduleFlush);

  smoothingDebounce_.setSingleShot(true);
  smoothingDebounce_.setInterval(kSmoothingDebounceMs);
  connect(&smoothingDebounce_, &QTimer::timeout, this, &PlotPanel::applySmoothing);
  connect(smoothingSlider_, &QSlider::valueChanged, this, &PlotPanel::onSliderMoved);
  connect(logLoss_, &QCheckBox::toggled, loss_, &LivePlot::setLogY);
}

QStringList PlotPanel::plotNames() {
  return {QStringLiteral("loss"), QStringLiteral("eval"), QStringLiteral("memory"), QStringLiteral("throughput"),
          QStringLiteral("lr")};
}

LivePlot* PlotPanel::plot(const QString& which) const {
  if (which == QLatin1String("loss")) return loss_;
  if (which == QLatin1String("eval")) return eval_;
  if (which == QLatin1String("memory")) return memory_;
  if (which == QLatin1String("throughput")) return throughput_;
  if (which == QLatin1String("lr")) return lr_;
  return nullptr;
}

QString PlotPanel::evalMetricKey(const QString& method, const QString& metric) {
  return SeriesStore::key(method, QStringLiteral("eval:") + metric);
}

void PlotPanel::onStep(const QString& method, double step, double loss, double lr, double samplesPerSecond,
                       double memoryMiB) {
  auto put = [&](const char* metric, double value) {
    if (std::isfinite(value)) store_->append(SeriesStore::key(method, QLatin1String(metric)), step, value);
  };
  put("loss", loss);
  put("lr", lr);
  put("samples_per_s", samplesPerSecond);
  put("memory_mib", memoryMiB);
}

void PlotPanel::onEval(const QString& method, double step, const QMap<QString, double>& metrics) {
  for (auto it = metrics.cbegin(); it != metrics.cend(); ++it) {
    if (!std::isfinite(it.value())) continue;  // a metric the trainer could not compute
    if (it.key() == QLatin1String("loss"))
      store_->append(SeriesStore::key(method, QStringLiteral("eval_loss")), step, it.value());
    else
      store_->append(evalMetricKey(method, it.key()), step, it.value());
  }
}

void PlotPanel::clear() {
  store_->clear();
  store_->resetColors();
}

bool PlotPanel::loadMetricsJsonl(const QString& path, QString* error) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) {
    if (error) *error = path + QStringLiteral(": ") + file.errorString();
    return false;
  }
  const QByteArray all = file.readAll();
  clear();
  const QList<QByteArray> lines = all.split('\n');
  QStringList problems;
  for (int i = 0; i < lines.size(); ++i) {
    const QByteArray line = lines[i].trimmed();
    if (line.isEmpty()) continue;
    QJsonParseError parse{};
    const QJsonDocument doc = QJsonDocument::fromJson(line, &parse);
    if (parse.error != QJsonParseError::NoError || !doc.isObject()) {
      const bool tornLast = i == lines.size() - 1;  // no newline after it: the writer was cut off
      if (!tornLast) problems << QStringLiteral("line %1: not a JSON object").arg(i + 1);
      continue;
    }
    const QJsonObject o = doc.object();
    const QString event = o.value(QLatin1String("event")).toString();
    const QString method = o.value(QLatin1String("method")).toString();
    const double step = number(o, "step");
    if (method.isEmpty() || !std::isfinite(step)) continue;  // run-level lines, other events
    if (event == QLatin1String("step")) {
      onStep(method, step, number(o, "loss"), number(o, "lr"), number(o, "samples_per_s"), number(o, "memory_mib"));
    } else if (event == QLatin1String("eval")) {
      QMap<QString, double> metrics;
      const QJsonObject m = o.value(QLatin1String("metrics")).toObject();
      for (auto it = m.constBegin(); it != m.constEnd(); ++it)
        metrics.insert(it.key(), it.value().isDouble() ? it.value().toDouble() : std::numeric_limits<double>::quiet_NaN());
      if (o.contains(QLatin1String("loss"))) metrics.insert(QStringLiteral("loss"), number(o, "loss"));
      onEval(method, step, metrics);
    }
  }
  if (error) *error = problems.isEmpty() ? QString() : path + QStringLiteral(": ") + problems.join(QStringLiteral("; "));
  flushNow();
  return true;
}

QImage PlotPanel::renderPlot(const QString& which, int width, int height) {
  LivePlot* p = plot(which);
  return p ? p->render(width, height) : QImage();
}

void PlotPanel::setSmoothing(double weight) {
  weight = clampSmoothing(weight);
  {
    const QSignalBlocker block(smoothingSlider_);
    smoothingSlider_->setValue(int(std::lround(weight * kSliderSteps)));
  }
  smoothingValue_->setText(QString::number(weight, 'f', 3));
  smoothingDebounce_.stop();
  if (weight == smoothing_) return;
  smoothing_ = weight;
  loss_->setSmoothing(weight);
  Q_EMIT smoothingChanged(weight);
}

void PlotPanel::onSliderMoved(int value) {
  smoothingValue_->setText(QString::number(double(value) / kSliderSteps, 'f', 3));
  smoothingDebounce_.start();  // restarts: the curves follow once the slider rests
}

void PlotPanel::applySmoothing() {
  const double weight = clampSmoothing(double(smoothingSlider_->value()) / kSliderSteps);
  if (weight == smoothing_) return;
  smoothing_ = weight;
  loss_->setSmoothing(weight);
  Q_EMIT smoothingChanged(weight);
}

void PlotPanel::scheduleFlush() {
  if (!flushTimer_.isActive()) flushTimer_.start();  // a burst of points becomes one flush
}

void PlotPanel::flushNow() {
  flushTimer_.stop();
  for (LivePlot* p : {loss_, eval_, memory_, throughput_, lr_}) p->flush();  // hidden ones skip
}

}  // namespace fw::widgets
