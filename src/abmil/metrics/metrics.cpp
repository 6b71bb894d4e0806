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

std::string metric_text(double x) {
  if (std::isnan(x)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", x);
  return buf;
}

}  // namespace abmil
