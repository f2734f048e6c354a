#include "widgets/series_store.h"

#include <cmath>

namespace fw::widgets {

namespace {

const SeriesPoints& emptyPoints() {
  static const SeriesPoints empty;
  return empty;
}

}  // namespace

SeriesStore::SeriesStore(QObject* parent) : QObject(parent) {}

QString SeriesStore::key(const QString& method, const QString& metric) { return method + QLatin1Char('/') + metric; }

QString SeriesStore::methodOf(const QString& series) {
  const auto i = series.indexOf(QLatin1Char('/'));
  return i < 0 ? series : series.left(i);
}

QString SeriesStore::metricOf(const QString& series) {
  const auto i = series.indexOf(QLatin1Char('/'));
  return i < 0 ? QString() : series.mid(i + 1);
}

SeriesStore::Series& SeriesStore::ensure(const QString& series) {
  auto it = series_.find(series);
  if (it != series_.end()) return *it;
  series_.insert(series, Series{});
  order_.append(series);
  const QString method = methodOf(series);
  if (!methods_.contains(method)) {
    methods_.append(method);
    methodColor(method);  // colours follow the order in which methods first report
  }
  Q_EMIT seriesAdded(series);
  return series_[series];  // a slot may have added series meanwhile: look it up again
}

bool SeriesStore::dropFrom(Series& s, double x) {
  if (std::isnan(x)) return false;  // nothing to compare with
  int dropped = 0;
  while (!s.pending.x.isEmpty() && s.pending.x.last() >= x) {
    s.pending.x.removeLast();
    s.pending.y.removeLast();
    ++dropped;
  }
  pendingTotal_ -= dropped;
  if (!s.pending.x.isEmpty()) return false;
  bool stored = false;
  while (!s.stored.x.isEmpty() && s.stored.x.last() >= x) {
    s.stored.x.removeLast();
    s.stored.y.removeLast();
    stored = true;
  }
  return stored;
}

void SeriesStore::append(const QString& series, double x, double y) {
  Series& s = ensure(series);
  const bool dropped = dropFrom(s, x);
  s.pending.x.append(x);
  s.pending.y.append(y);
  ++pendingTotal_;
  if (dropped) Q_EMIT pointsDropped(series);
  Q_EMIT pointsAppended();
}

void SeriesStore::append(const QString& series, const QVector<double>& x, const QVector<double>& y) {
  const auto n = std::min(x.size(), y.size());
  if (n == 0) return;
  Series& s = ensure(series);
  bool dropped = false;
  for (qsizetype i = 0; i < n; ++i) {
    dropped = dropFrom(s, x[i]) || dropped;
    s.pending.x.append(x[i]);
    s.pending.y.append(y[i]);
  }
  pendingTotal_ += int(n);
  if (dropped) Q_EMIT pointsDropped(series);
  Q_EMIT pointsAppended();
}

SeriesPoints SeriesStore::takePending(const QString& series) {
  auto it = series_.find(series);
  if (it == series_.end() || it->pending.isEmpty()) return {};
  SeriesPoints out = std::move(it->pending);
  it->pending = SeriesPoints{};
  it->stored.x.append(out.x);
  it->stored.y.append(out.y);
  pendingTotal_ -= out.size();
  return out;
}

bool SeriesStore::hasPending(const QString& series) const {
  auto it = series_.constFind(series);
  return it != series_.constEnd() && !it->pending.isEmpty();
}

int SeriesStore::pendingCount(const QString& series) const {
  auto it = series_.constFind(series);
  return it == series_.constEnd() ? 0 : it->pending.size();
}

const SeriesPoints& SeriesStore::points(const QString& series) const {
  auto it = series_.constFind(series);
  return it == series_.constEnd() ? emptyPoints() : it->stored;
}

int SeriesStore::count(const QString& series) const {
  auto it = series_.constFind(series);
  return it == series_.constEnd() ? 0 : it->stored.size() + it->pending.size();
}

void SeriesStore::clear() {
  series_.clear();
  order_.clear();
  methods_.clear();
  pendingTotal_ = 0;
  Q_EMIT cleared();
}

QColor SeriesStore::methodColor(const QString& method) const {
  auto it = colors_.constFind(method);
  if (it != colors_.constEnd()) return *it;
  const QColor c = paletteColor(nextColor_++);
  colors_.insert(method, c);
  return c;
}

void SeriesStore::setMethodColor(const QString& method, const QColor& color) { colors_.insert(method, color); }

void SeriesStore::resetColors() {
  colors_.clear();
  nextColor_ = 0;
}

QColor SeriesStore::paletteColor(int index) {
  // Tableau 10 (Tableau's 2016 default qualitative palette).
  static const QRgb tableau10[] = {0x4E79A7, 0xF28E2B, 0xE15759, 0x76B7B2, 0x59A14F,
                                   0xEDC948, 0xB07AA1, 0xFF9DA7, 0x9C755F, 0xBAB0AC};
  constexpr int n = int(sizeof(tableau10) / sizeof(tableau10[0]));
  if (index < 0) index = -index;
  if (index < n) return QColor(tableau10[index]);
  const double hue = std::fmod(0.07 + 0.61803398875 * double(index - n), 1.0);
  return QColor::fromHsvF(float(hue), 0.65f, 0.80f);
}

}  // namespace fw::widgets
