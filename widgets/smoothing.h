// TensorBoard's debiased exponential moving average, as its scalar dashboard draws smoothed
// curves: last = last*w + (1-w)*y; smoothed = last / (1 - w^k), k = finite points seen so far.
// Non-finite values pass through unsmoothed and are not counted. w is clamped to [0, 0.999].
#pragma once

#include <QVector>

namespace fw::widgets {

constexpr double kMaxSmoothing = 0.999;

double clampSmoothing(double weight);

// Smoothed values of a whole series. Like TensorBoard, a constant series is returned unchanged.
QVector<double> debiasedEma(const QVector<double>& y, double weight);

// The same average over points that arrive one at a time.
class EmaSmoother {
public:
  explicit EmaSmoother(double weight = 0.0) : weight_(clampSmoothing(weight)) {}

  void setWeight(double weight);  // also resets
  double weight() const { return weight_; }
  void reset();
  double push(double y);          // returns the smoothed value for y
  int count() const { return count_; }

private:
  double weight_;
  double last_ = 0.0;
  double weightPow_ = 1.0;  // w^count
  int count_ = 0;
};

}  // namespace fw::widgets
