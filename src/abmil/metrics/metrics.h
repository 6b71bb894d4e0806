// Bag-level classification metrics. No LibTorch here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace abmil {

/// A bag-level metric: its key (metrics.csv column, member of metrics.json's "test" object) and
/// the label a page shows for it.
struct BagMetricName {
  const char* key;
  const char* label;
};

/// The bag-level metrics abmil computes per split, in the order it writes and shows them:
/// loss (mean negative log-likelihood per bag), then the ClassificationMetrics fractions.
inline constexpr std::array<BagMetricName, 7> kBagMetricNames{{
    {"loss", "Loss (mean negative log-likelihood)"},
    {"accuracy", "Accuracy"},
    {"error", "Error"},
    {"precision", "Precision"},
    {"recall", "Recall"},
    {"f1", "F1"},
    {"auc", "ROC AUC"},
}};

/// Confusion counts of binary predictions (positive = label 1).
struct ConfusionCounts {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
};

/// Binary classification metrics of one split. Values are fractions in [0,1];
/// a metric whose denominator is zero (e.g. precision with no predicted
/// positive) is 0, and `auc` is NaN when only one class is present.
struct ClassificationMetrics {
  double accuracy = 0, error = 0, precision = 0, recall = 0, f1 = 0, auc = 0;
  ConfusionCounts counts;
};

/// Counts predictions `score >= threshold` against `labels` (0/1).
/// Throws std::invalid_argument if the sizes differ or a label is not 0/1.
ConfusionCounts confusion_counts(const std::vector<double>& scores, const std::vector<int>& labels,
                                 double threshold = 0.5);

/// Area under the ROC curve by the Mann-Whitney statistic with mid-ranks for
/// ties: AUC = (sum of positive ranks - P(P+1)/2) / (P*N). Equals the
/// trapezoidal area under the ROC curve. NaN when P == 0 or N == 0.
/// Throws std::invalid_argument if the sizes differ or a label is not 0/1.
double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels);

/// Accuracy, error, precision, recall, F1 (from confusion_counts at
/// `threshold`) and ROC AUC (from the raw scores).
ClassificationMetrics classification_metrics(const std::vector<double>& scores, const std::vector<int>& labels,
                                             double threshold = 0.5);

/// Instance-level precision and recall of the top-k attended instances.
struct TopKMetrics {
  double precision = 0;  ///< positive instances among those selected / instances selected
  double recall = 0;     ///< positive instances among those selected / all positive instances
  int64_t selected = 0, hits = 0, positives = 0;
};

/// Over bags given as per-instance `scores` (e.g. attention weights) and 0/1
/// `labels` (bags with no instance label 1 are skipped, as are instances
/// labelled -1 = unknown): selects the min(k, K) highest-scoring instances of
/// each bag (ties: lower index first) and pools the counts over bags
/// (micro average). Precision and recall are NaN (unknown) when nothing is
/// selected, i.e. no bag has an instance labelled 1. Throws std::invalid_argument on size mismatches or k < 1.
TopKMetrics top_k_instances(const std::vector<std::vector<double>>& scores, const std::vector<std::vector<int>>& labels,
                            int64_t k);

/// Metrics of C-class predictions (C >= 2, one class a bag; Lu et al. 2021,
/// CLAM's multi-class evaluation). Fractions in [0,1]; a class with no bag
/// and no prediction gets precision/recall/F1 0 and AUC NaN, and the macro
/// averages skip NaN entries (NaN when every entry is NaN).
struct MulticlassMetrics {
  double accuracy = 0, error = 0;
  double balanced_accuracy = 0;  ///< mean over classes present in the labels of their recall
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  double macro_auc = 0;  ///< mean of class_auc over classes with an AUC
  std::vector<double> class_precision, class_recall, class_f1;  ///< [C] one-vs-rest at the argmax prediction
  std::vector<double> class_auc;  ///< [C] one-vs-rest ROC AUC of column c's probability (roc_auc)
  std::vector<std::vector<int64_t>> confusion;  ///< [C][C] rows: true class, columns: predicted (argmax, first on ties)
};

/// Multi-class metrics of `probabilities` (B rows of C class probabilities,
/// or any scores ranked the same way) against `labels` (class indices in
/// [0, C)). Throws std::invalid_argument if the sizes differ, a row has
/// another length, C < 2, or a label is out of range.
MulticlassMetrics multiclass_metrics(const std::vector<std::vector<double>>& probabilities,
                                     const std::vector<int>& labels);

/// Metrics of C-label predictions (a bag holds any subset of the C labels):
/// label c is predicted when its probability is >= threshold.
struct MultilabelMetrics {
  double exact_match = 0;  ///< fraction of bags whose predicted set equals the true set
  double micro_f1 = 0;     ///< F1 of the tp/fp/fn counts pooled over labels
  double macro_f1 = 0;     ///< mean over labels of their F1
  double macro_auc = 0;    ///< mean of label_auc over labels with an AUC (NaN if none)
  std::vector<double> label_f1, label_auc;  ///< [C]
};

/// Multi-label metrics of `probabilities` (B rows of C sigmoid outputs)
/// against `targets` (B rows of C 0/1). Throws std::invalid_argument if the
/// sizes differ or a target is not 0/1.
MultilabelMetrics multilabel_metrics(const std::vector<std::vector<double>>& probabilities,
                                     const std::vector<std::vector<int>>& targets, double threshold = 0.5);

/// A metric for the console: "n/a" for NaN (not known: a label it needs is
/// missing, or a split with one class has no AUC), else 4 decimals ("0.9375").
std::string metric_text(double x);

}  // namespace abmil
