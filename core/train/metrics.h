#pragma once
// Evaluation metrics on plain vectors (no LibTorch), with the names and conventions of
// Hugging Face `evaluate`'s GLUE metric, scikit-learn and SciPy:
//   accuracy, f1 (of the positive class, binary), matthews_correlation (multi-class, as
//   sklearn.metrics.matthews_corrcoef), pearson, spearmanr (average ranks for ties, as
//   scipy.stats.spearmanr).
// Degenerate inputs never crash and give a documented value:
//   accuracy of nothing: NaN (there is nothing to be right about);
//   f1 with no true positives (nothing predicted or nothing positive): 0, as sklearn's zero_division;
//   matthews with a zero denominator (one class only in the predictions or in the labels): 0, as sklearn;
//   pearson and spearman with fewer than 2 pairs or a constant side: NaN, as SciPy.
// Inputs of different lengths are a programming error and throw fw::Error.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fw::train {

double accuracy(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels);
// F1 = 2·TP / (2·TP + FP + FN) of the class `positive`.
double f1Binary(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels, int64_t positive = 1);
// MCC over all classes that occur: (c·s − Σ p_k·t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²)).
double matthewsCorrelation(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels);
double pearson(const std::vector<double>& x, const std::vector<double>& y);
double spearman(const std::vector<double>& x, const std::vector<double>& y);
// 1-based ranks; tied values get the mean of the ranks they span (scipy.stats.rankdata "average").
std::vector<double> averageRanks(const std::vector<double>& values);

// The metrics of a GLUE task (any name glueTask() accepts), keyed as Hugging Face evaluate keys them:
//   CoLA: matthews_correlation; MRPC, QQP: f1 and accuracy; STS-B: pearson and spearmanr
//   (from scores and targets); the others: accuracy. Throws fw::Error for an unknown task.
std::map<std::string, double> glueMetrics(const std::string& task, const std::vector<int64_t>& predictions,
                                          const std::vector<int64_t>& labels,
                                          const std::vector<double>& scores = {},
                                          const std::vector<double>& targets = {});

}  // namespace fw::train
