#include "train/metrics.h"

#include "data/glue.h"
#include "util/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace fw::train {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <class A, class B>
void checkSameLength(const char* metric, const std::vector<A>& a, const std::vector<B>& b) {
  if (a.size() != b.size())
    throw Error(std::string(metric) + ": inputs differ in length")
        .expected(std::to_string(b.size())).got(std::to_string(a.size()));
}

}  // namespace

double accuracy(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels) {
  checkSameLength("accuracy", predictions, labels);
  if (labels.empty()) return kNaN;
  size_t right = 0;
  for (size_t i = 0; i < labels.size(); ++i) right += predictions[i] == labels[i];
  return static_cast<double>(right) / static_cast<double>(labels.size());
}

double f1Binary(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels, int64_t positive) {
  checkSameLength("f1", predictions, labels);
  double tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const bool p = predictions[i] == positive, t = labels[i] == positive;
    tp += p && t;
    fp += p && !t;
    fn += !p && t;
  }
  return tp == 0 ? 0.0 : 2 * tp / (2 * tp + fp + fn);
}

double matthewsCorrelation(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels) {
  checkSameLength("matthews_correlation", predictions, labels);
  std::map<int64_t, double> predicted, actual;  // p_k and t_k
  double correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    predicted[predictions[i]] += 1;
    actual[labels[i]] += 1;
    correct += predictions[i] == labels[i];
  }
  const double s = static_cast<double>(labels.size());
  double pt = 0, pp = 0, tt = 0;
  for (const auto& [k, p] : predicted) {
    pp += p * p;
    const auto t = actual.find(k);
    if (t != actual.end()) pt += p * t->second;
  }
  for (const auto& [k, t] : actual) tt += t * t;
  const double denominator = std::sqrt((s * s - pp) * (s * s - tt));
  if (denominator == 0 || !std::isfinite(denominator)) return 0.0;
  return (correct * s - pt) / denominator;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  checkSameLength("pearson", x, y);
  const size_t n = x.size();
  if (n < 2) return kNaN;
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(n);
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(n);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    const double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx == 0 || syy == 0) return kNaN;
  // Rounding can push |r| a hair past 1.
  return std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

std::vector<double> averageRanks(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i + 1;
    while (j < order.size() && values[order[j]] == values[order[i]]) ++j;
    // Positions i..j-1 hold ranks i+1..j; their mean is (i+1+j)/2.
    const double rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k) ranks[order[k]] = rank;
    i = j;
  }
  return ranks;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  checkSameLength("spearmanr", x, y);
  return pearson(averageRanks(x), averageRanks(y));
}

std::map<std::string, double> glueMetrics(const std::string& task, const std::vector<int64_t>& predictions,
                                          const std::vector<int64_t>& labels, const std::vector<double>& scores,
                                          const std::vector<double>& targets) {
  const data::GlueTaskInfo& info = data::glueTask(task);
  std::map<std::string, double> out;
  for (const std::string& metric : info.metrics) {
    if (metric == "accuracy") out[metric] = accuracy(predictions, labels);
    else if (metric == "f1") out[metric] = f1Binary(predictions, labels, 1);
    else if (metric == "matthews_correlation") out[metric] = matthewsCorrelation(predictions, labels);
    else if (metric == "pearson") out[metric] = pearson(scores, targets);
    else if (metric == "spearmanr") out[metric] = spearman(scores, targets);
  }
  return out;
}

}  // namespace fw::train
