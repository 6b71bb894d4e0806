#include "abmil/metrics/metrics.h"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace abmil {
namespace {

// Throws std::invalid_argument unless the sizes agree and every label is 0 or 1.
void check_inputs(const char* fn, const std::vector<double>& scores, const std::vector<int>& labels) {
  if (scores.size() != labels.size())
    throw std::invalid_argument(std::string(fn) + ": " + std::to_string(scores.size()) + " scores but " +
                                std::to_string(labels.size()) + " labels");
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] != 0 && labels[i] != 1)
      throw std::invalid_argument(std::string(fn) + ": label " + std::to_string(labels[i]) + " at index " +
                                  std::to_string(i) + " is not 0 or 1");
}

// a / b, or 0 when b == 0.
double ratio(double a, double b) { return b == 0 ? 0.0 : a / b; }

}  // namespace

ConfusionCounts confusion_counts(const std::vector<double>& scores, const std::vector<int>& labels, double threshold) {
  check_inputs("confusion_counts", scores, labels);
  ConfusionCounts c;
  for (size_t i = 0; i < scores.size(); ++i) {
    const bool predicted = scores[i] >= threshold;  // a NaN score predicts negative
    if (labels[i] == 1)
      ++(predicted ? c.tp : c.fn);
    else
      ++(predicted ? c.fp : c.tn);
  }
  return c;
}

double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels) {
  check_inputs("roc_auc", scores, labels);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const int64_t n = static_cast<int64_t>(scores.size());
  const int64_t P = std::count(labels.begin(), labels.end(), 1);
  const int64_t N = n - P;
  // A NaN score has no rank (and would break the sort's ordering): the AUC is NaN too.
  const bool any_nan = std::any_of(scores.begin(), scores.end(), [](double s) { return std::isnan(s); });
  if (P == 0 || N == 0 || any_nan) return nan;

  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[a] < scores[b]; });

  // Ranks are 1-based; a run of tied scores at sorted positions [i, j) shares
  // the mid-rank (i+1 + j) / 2.
  double positive_rank_sum = 0;
  for (int64_t i = 0; i < n;) {
    int64_t j = i + 1;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double mid_rank = 0.5 * static_cast<double>(i + 1 + j);
    for (int64_t k = i; k < j; ++k)
      if (labels[order[k]] == 1) positive_rank_sum += mid_rank;
    i = j;
  }
  const double p = static_cast<double>(P), q = static_cast<double>(N);
  return (positive_rank_sum - p * (p + 1) / 2) / (p * q);
}

ClassificationMetrics classification_metrics(const std::vector<double>& scores, const std::vector<int>& labels,
                                             double threshold) {
  ClassificationMetrics m;
  m.counts = confusion_counts(scores, labels, threshold);
  const ConfusionCounts& c = m.counts;
  const double tp = static_cast<double>(c.tp), fp = static_cast<double>(c.fp);
  const double tn = static_cast<double>(c.tn), fn = static_cast<double>(c.fn);
  const double total = tp + fp + tn + fn;
  m.accuracy = ratio(tp + tn, total);
  m.error = ratio(fp + fn, total);
  m.precision = ratio(tp, tp + fp);
  m.recall = ratio(tp, tp + fn);
  m.f1 = ratio(2 * m.precision * m.recall, m.precision + m.recall);
  m.auc = roc_auc(scores, labels);
  return m;
}

TopKMetrics top_k_instances(const std::vector<std::vector<double>>& scores, const std::vector<std::vector<int>>& labels,
                            int64_t k) {
  if (k < 1) throw std::invalid_argument("top_k_instances: k must be at least 1");
  if (scores.size() != labels.size()) throw std::invalid_argument("top_k_instances: scores and labels differ in bags");
  TopKMetrics m;
  for (size_t b = 0; b < scores.size(); ++b) {
    if (scores[b].size() != labels[b].size())
      throw std::invalid_argument("top_k_instances: scores and labels differ in size in bag " + std::to_string(b));
    std::vector<int64_t> known;
    int64_t positives = 0;
    for (size_t i = 0; i < labels[b].size(); ++i) {
      if (labels[b][i] < 0) continue;
      known.push_back(static_cast<int64_t>(i));
      positives += labels[b][i] == 1;
    }
    if (positives == 0) continue;
    std::stable_sort(known.begin(), known.end(), [&](int64_t x, int64_t y) { return scores[b][x] > scores[b][y]; });
    const auto take = std::min<int64_t>(k, static_cast<int64_t>(known.size()));
    for (int64_t i = 0; i < take; ++i) m.hits += labels[b][known[i]] == 1;
    m.selected += take;
    m.positives += positives;
  }
  if (m.selected == 0) {  // no bag with a positive instance label: not known, not 0
    m.precision = m.recall = std::nan("");
    return m;
  }
  m.precision = ratio(static_cast<double>(m.hits), static_cast<double>(m.selected));
  m.recall = ratio(static_cast<double>(m.hits), static_cast<double>(m.positives));
  return m;
}

namespace {

// Mean of the non-NaN entries; NaN when there are none.
double nan_mean(const std::vector<double>& v) {
  double sum = 0;
  int n = 0;
  for (double x : v)
    if (!std::isnan(x)) sum += x, ++n;
  return n == 0 ? std::numeric_limits<double>::quiet_NaN() : sum / n;
}

double f1_of(double tp, double fp, double fn) { return ratio(2 * tp, 2 * tp + fp + fn); }

}  // namespace

MulticlassMetrics multiclass_metrics(const std::vector<std::vector<double>>& probabilities,
                                     const std::vector<int>& labels) {
  if (probabilities.size() != labels.size())
    throw std::invalid_argument("multiclass_metrics: " + std::to_string(probabilities.size()) + " rows but " +
                                std::to_string(labels.size()) + " labels");
  const size_t C = probabilities.empty() ? 0 : probabilities[0].size();
  if (!probabilities.empty() && C < 2) throw std::invalid_argument("multiclass_metrics: fewer than 2 classes");
  const size_t B = labels.size();
  MulticlassMetrics m;
  m.confusion.assign(C, std::vector<int64_t>(C, 0));
  std::vector<size_t> predicted(B);
  for (size_t b = 0; b < B; ++b) {
    if (probabilities[b].size() != C)
      throw std::invalid_argument("multiclass_metrics: row " + std::to_string(b) + " has " +
                                  std::to_string(probabilities[b].size()) + " columns, row 0 has " +
                                  std::to_string(C));
    if (labels[b] < 0 || static_cast<size_t>(labels[b]) >= C)
      throw std::invalid_argument("multiclass_metrics: label " + std::to_string(labels[b]) + " at index " +
                                  std::to_string(b) + " is not a class index in [0, " + std::to_string(C) + ")");
    const auto& row = probabilities[b];
    predicted[b] = static_cast<size_t>(std::max_element(row.begin(), row.end()) - row.begin());
    ++m.confusion[labels[b]][predicted[b]];
  }
  int64_t correct = 0;
  for (size_t c = 0; c < C; ++c) correct += m.confusion[c][c];
  m.accuracy = ratio(static_cast<double>(correct), static_cast<double>(B));
  m.error = B == 0 ? 0.0 : 1.0 - m.accuracy;
  m.class_precision.resize(C);
  m.class_recall.resize(C);
  m.class_f1.resize(C);
  m.class_auc.resize(C);
  std::vector<double> present_recall;
  for (size_t c = 0; c < C; ++c) {
    double tp = static_cast<double>(m.confusion[c][c]), fp = 0, fn = 0;
    for (size_t k = 0; k < C; ++k)
      if (k != c) fp += static_cast<double>(m.confusion[k][c]), fn += static_cast<double>(m.confusion[c][k]);
    m.class_precision[c] = ratio(tp, tp + fp);
    m.class_recall[c] = ratio(tp, tp + fn);
    m.class_f1[c] = f1_of(tp, fp, fn);
    if (tp + fn > 0) present_recall.push_back(m.class_recall[c]);
    std::vector<double> scores(B);
    std::vector<int> is_c(B);
    for (size_t b = 0; b < B; ++b) scores[b] = probabilities[b][c], is_c[b] = labels[b] == static_cast<int>(c);
    m.class_auc[c] = roc_auc(scores, is_c);
  }
  m.balanced_accuracy = nan_mean(present_recall);
  if (present_recall.empty()) m.balanced_accuracy = 0;
  m.macro_precision = nan_mean(m.class_precision);
  m.macro_recall = nan_mean(m.class_recall);
  m.macro_f1 = nan_mean(m.class_f1);
  m.macro_auc = nan_mean(m.class_auc);
  return m;
}

MultilabelMetrics multilabel_metrics(const std::vector<std::vector<double>>& probabilities,
                                     const std::vector<std::vector<int>>& targets, double threshold) {
  if (probabilities.size() != targets.size())
    throw std::invalid_argument("multilabel_metrics: " + std::to_string(probabilities.size()) + " rows but " +
                                std::to_string(targets.size()) + " target rows");
  const size_t B = targets.size();
  const size_t C = B == 0 ? 0 : targets[0].size();
  MultilabelMetrics m;
  std::vector<double> tp(C, 0), fp(C, 0), fn(C, 0);
  int64_t exact = 0;
  for (size_t b = 0; b < B; ++b) {
    if (probabilities[b].size() != C || targets[b].size() != C)
      throw std::invalid_argument("multilabel_metrics: row " + std::to_string(b) + " does not have " +
                                  std::to_string(C) + " columns");
    bool same = true;
    for (size_t c = 0; c < C; ++c) {
      const int t = targets[b][c];
      if (t != 0 && t != 1)
        throw std::invalid_argument("multilabel_metrics: target " + std::to_string(t) + " at row " +
                                    std::to_string(b) + " is not 0 or 1");
      const bool p = probabilities[b][c] >= threshold;
      if (p && t) ++tp[c];
      if (p && !t) ++fp[c];
      if (!p && t) ++fn[c];
      same = same && (p == (t == 1));
    }
    exact += same;
  }
  m.exact_match = ratio(static_cast<double>(exact), static_cast<double>(B));
  m.label_f1.resize(C);
  m.label_auc.resize(C);
  double TP = 0, FP = 0, FN = 0;
  for (size_t c = 0; c < C; ++c) {
    m.label_f1[c] = f1_of(tp[c], fp[c], fn[c]);
    TP += tp[c], FP += fp[c], FN += fn[c];
    std::vector<double> scores(B);
    std::vector<int> t(B);
    for (size_t b = 0; b < B; ++b) scores[b] = probabilities[b][c], t[b] = targets[b][c];
    m.label_auc[c] = roc_auc(scores, t);
  }
  m.micro_f1 = f1_of(TP, FP, FN);
  m.macro_f1 = C == 0 ? 0.0 : std::accumulate(m.label_f1.begin(), m.label_f1.end(), 0.0) / static_cast<double>(C);
  m.macro_auc = nan_mean(m.label_auc);
  return m;
}

std::string metric_text(double x) {
  if (std::isnan(x)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", x);
  return buf;
}

}  // namespace abmil
