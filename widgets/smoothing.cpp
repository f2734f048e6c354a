#include "widgets/smoothing.h"

#include <algorithm>
#include <cmath>

namespace fw::widgets {

double clampSmoothing(double weight) {
  if (!std::isfinite(weight)) return 0.0;
  return std::clamp(weight, 0.0, kMaxSmoothing);
}

void EmaSmoother::setWeight(double weight) {
  weight_ = clampSmoothing(weight);
  reset();
}

void EmaSmoother::reset() {
  last_ = 0.0;
  weightPow_ = 1.0;
  count_ = 0;
}

double EmaSmoother::push(double y) {
  if (!std::isfinite(y)) return y;
  last_ = last_ * weight_ + (1.0 - weight_) * y;
  weightPow_ *= weight_;
  ++count_;
  return last_ / (1.0 - weightPow_);  // weight_ <= 0.999, so the debias weight is > 0
}

QVector<double> debiasedEma(const QVector<double>& y, double weight) {
  if (y.isEmpty()) return {};
  // TensorBoard leaves a constant series alone (no 0.99999 from rounding).
  if (std::all_of(y.cbegin(), y.cend(), [&](double v) { return v == y.front(); })) return y;
  EmaSmoother ema(weight);
  QVector<double> out;
  out.reserve(y.size());
  for (double v : y) out.append(ema.push(v));
  return out;
}

}  // namespace fw::widgets
