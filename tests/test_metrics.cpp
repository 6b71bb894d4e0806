// Tests of abmil/metrics: ROC AUC by mid-ranks, confusion counts, derived metrics.
#include "abmil/metrics/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>

#include "test_util.h"

namespace {

using abmil::classification_metrics;
using abmil::confusion_counts;
using abmil::roc_auc;

// Reference AUC over all (positive, negative) pairs: 1 per correctly ordered
// pair, 1/2 per tie, divided by P*N. O(P*N).
double pairwise_auc(const std::vector<double>& s, const std::vector<int>& y) {
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < s.size(); ++i)
    for (size_t j = 0; j < s.size(); ++j)
      if (y[i] == 1 && y[j] == 0) {
        pairs += 1;
        wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
      }
  return wins / pairs;
}

TEST(MetricsAuc, PerfectRankingIsOne) { EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.2, 0.8, 0.9}, {0, 0, 1, 1}), 1.0); }

TEST(MetricsAuc, ReversedRankingIsZero) { EXPECT_DOUBLE_EQ(roc_auc({0.9, 0.8, 0.2, 0.1}, {0, 0, 1, 1}), 0.0); }

TEST(MetricsAuc, AllScoresTiedIsHalf) {
  // Every score shares the mid-rank (1+2+3+4)/4 = 2.5; positive rank sum 5,
  // AUC = (5 - 2*3/2) / (2*2) = 2/4 = 0.5.
  EXPECT_DOUBLE_EQ(roc_auc({0.5, 0.5, 0.5, 0.5}, {0, 1, 0, 1}), 0.5);
}

TEST(MetricsAuc, SmallHandComputedCase) {
  // Ranks of {0.1, 0.4, 0.35, 0.8} are {1, 3, 2, 4}; positives 0.35 and 0.8
  // have rank sum 2 + 4 = 6, AUC = (6 - 2*3/2) / (2*2) = 3/4.
  EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 0.75);
}

TEST(MetricsAuc, TiesBetweenClassesGiveFractionalValue) {
  // Sorted: 0.2(neg) rank 1; 0.5 x3 (neg, pos, pos) ranks 2,3,4 -> mid-rank 3;
  // 0.9(pos) rank 5. Positive rank sum 3 + 3 + 5 = 11, P = 3, N = 2:
  // AUC = (11 - 3*4/2) / (3*2) = 5/6.
  // Pairwise check: each pos beats 0.2 (3 wins), 0.9 beats neg 0.5 (1 win),
  // the two pos 0.5 tie neg 0.5 (2 halves): (3 + 1 + 1) / 6 = 5/6.
  const std::vector<double> s = {0.2, 0.5, 0.5, 0.9, 0.5};
  const std::vector<int> y = {0, 0, 1, 1, 1};
  EXPECT_DOUBLE_EQ(roc_auc(s, y), 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(roc_auc(s, y), pairwise_auc(s, y));
  // One positive tied with one negative: a single half-won pair.
  EXPECT_DOUBLE_EQ(roc_auc({0.3, 0.3}, {0, 1}), 0.5);
}

TEST(MetricsAuc, DoesNotDependOnInputOrder) {
  EXPECT_DOUBLE_EQ(roc_auc({0.5, 0.9, 0.5, 0.2, 0.5}, {1, 1, 0, 0, 1}), 5.0 / 6.0);
}

TEST(MetricsAuc, MatchesPairwiseCountOnRandomScoresWithTies) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> level(0, 9);  // 10 score levels: many ties
  std::bernoulli_distribution coin(0.4);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> s;
    std::vector<int> y;
    for (int i = 0; i < 200; ++i) {
      s.push_back(0.1 * level(rng));
      y.push_back(coin(rng) ? 1 : 0);
    }
    EXPECT_NEAR(roc_auc(s, y), pairwise_auc(s, y), 1e-12) << "trial " << trial;
  }
}

TEST(MetricsAuc, OneClassOnlyOrNanScoreIsNan) {
  EXPECT_TRUE(std::isnan(roc_auc({0.1, 0.9}, {1, 1})));
  EXPECT_TRUE(std::isnan(roc_auc({0.1, 0.9}, {0, 0})));
  EXPECT_TRUE(std::isnan(roc_auc({}, {})));
  EXPECT_TRUE(std::isnan(roc_auc({0.1, std::nan(""), 0.9}, {0, 1, 1})));
}

TEST(MetricsConfusion, ScoreEqualToThresholdCountsAsPositive) {
  //            score: 0.5  0.49  0.7  0.2  0.5  0.1
  //            label:  1    1     0    0    0    1
  //       prediction:  1    0     1    0    1    0  -> tp 1, fn 2, fp 2, tn 1
  const auto c = confusion_counts({0.5, 0.49, 0.7, 0.2, 0.5, 0.1}, {1, 1, 0, 0, 0, 1});
  EXPECT_EQ(c.tp, 1);
  EXPECT_EQ(c.fn, 2);
  EXPECT_EQ(c.fp, 2);
  EXPECT_EQ(c.tn, 1);
  // Threshold 0.7: only 0.7 (a negative) is predicted positive.
  const auto d = confusion_counts({0.5, 0.49, 0.7, 0.2, 0.5, 0.1}, {1, 1, 0, 0, 0, 1}, 0.7);
  EXPECT_EQ(d.tp, 0);
  EXPECT_EQ(d.fp, 1);
  EXPECT_EQ(d.tn, 2);
  EXPECT_EQ(d.fn, 3);
}

TEST(MetricsClassification, HandComputedConfusionMatrix) {
  // Positives: 3 scored >= 0.5 (tp), 2 below (fn); negatives: 1 >= 0.5 (fp), 4 below (tn).
  const std::vector<double> s = {0.9, 0.8, 0.6, 0.3, 0.1, 0.7, 0.4, 0.2, 0.05, 0.0};
  const std::vector<int> y = {1, 1, 1, 1, 1, 0, 0, 0, 0, 0};
  const auto m = classification_metrics(s, y);
  EXPECT_EQ(m.counts.tp, 3);
  EXPECT_EQ(m.counts.fp, 1);
  EXPECT_EQ(m.counts.tn, 4);
  EXPECT_EQ(m.counts.fn, 2);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.7);              // (3+4)/10
  EXPECT_DOUBLE_EQ(m.error, 0.3);                 // (1+2)/10
  EXPECT_DOUBLE_EQ(m.precision, 0.75);            // 3/(3+1)
  EXPECT_DOUBLE_EQ(m.recall, 0.6);                // 3/(3+2)
  EXPECT_DOUBLE_EQ(m.f1, 2 * 0.75 * 0.6 / 1.35);  // = 2/3
  EXPECT_DOUBLE_EQ(m.auc, pairwise_auc(s, y));
  // Pairs won: 0.9, 0.8 beat all 5 negatives; 0.6 beats 4; 0.3 beats 3;
  // 0.1 beats 2 -> 19 of 25.
  EXPECT_DOUBLE_EQ(m.auc, 19.0 / 25.0);
}

TEST(MetricsClassification, ZeroDenominatorsGiveZero) {
  // Nothing predicted positive: precision has denominator tp+fp = 0, F1 follows.
  const auto a = classification_metrics({0.1, 0.2, 0.3}, {1, 0, 1});
  EXPECT_EQ(a.precision, 0.0);
  EXPECT_EQ(a.recall, 0.0);
  EXPECT_EQ(a.f1, 0.0);
  EXPECT_DOUBLE_EQ(a.accuracy, 1.0 / 3.0);
  // No positive label: recall has denominator tp+fn = 0; AUC is NaN.
  const auto b = classification_metrics({0.9, 0.2}, {0, 0});
  EXPECT_EQ(b.recall, 0.0);
  EXPECT_EQ(b.precision, 0.0);
  EXPECT_EQ(b.f1, 0.0);
  EXPECT_TRUE(std::isnan(b.auc));
  // Empty input: every ratio is 0.
  const auto e = classification_metrics({}, {});
  EXPECT_EQ(e.accuracy, 0.0);
  EXPECT_EQ(e.error, 0.0);
}

TEST(MetricsErrors, SizeMismatchAndBadLabelsThrow) {
  const auto error = abmil_test::error_of<std::invalid_argument>;
  EXPECT_EQ(error([] { roc_auc({0.1, 0.2}, {0}); }), "roc_auc: 2 scores but 1 labels");
  EXPECT_EQ(error([] { confusion_counts({0.1}, {0, 1}); }), "confusion_counts: 1 scores but 2 labels");
  EXPECT_EQ(error([] { classification_metrics({0.1, 0.2}, {0, 1, 1}); }), "confusion_counts: 2 scores but 3 labels");
  EXPECT_EQ(error([] { roc_auc({0.1, 0.2}, {0, 2}); }), "roc_auc: label 2 at index 1 is not 0 or 1");
  EXPECT_EQ(error([] { confusion_counts({0.1, 0.2}, {2, 1}); }), "confusion_counts: label 2 at index 0 is not 0 or 1");
  EXPECT_EQ(error([] {
              classification_metrics({0.1, 0.2}, {-1, 1});
            }),
            "confusion_counts: label -1 at index 0 is not 0 or 1");
}

}  // namespace

// Two positive bags and a negative one (skipped), k = 1 and k = 2, worked by hand:
//   bag A scores {0.1, 0.7, 0.2} labels {0, 1, 0}: top-1 = idx1 (hit), top-2 = {1, 2} (1 hit)
//   bag B scores {0.5, 0.3, 0.2} labels {0, 1, 1}: top-1 = idx0 (miss), top-2 = {0, 1} (1 hit)
//   bag C labels all 0: skipped
// k=1: selected 2, hits 1, positives 3 -> precision 1/2, recall 1/3
// k=2: selected 4, hits 2, positives 3 -> precision 2/4, recall 2/3
TEST(TopKInstances, HandComputedPrecisionAndRecall) {
  const std::vector<std::vector<double>> s = {{0.1, 0.7, 0.2}, {0.5, 0.3, 0.2}, {0.9, 0.1}};
  const std::vector<std::vector<int>> y = {{0, 1, 0}, {0, 1, 1}, {0, 0}};
  abmil::TopKMetrics k1 = abmil::top_k_instances(s, y, 1);
  EXPECT_EQ(k1.selected, 2);
  EXPECT_EQ(k1.hits, 1);
  EXPECT_EQ(k1.positives, 3);
  EXPECT_DOUBLE_EQ(k1.precision, 0.5);
  EXPECT_DOUBLE_EQ(k1.recall, 1.0 / 3);
  abmil::TopKMetrics k2 = abmil::top_k_instances(s, y, 2);
  EXPECT_DOUBLE_EQ(k2.precision, 0.5);
  EXPECT_DOUBLE_EQ(k2.recall, 2.0 / 3);
  // k larger than a bag selects the whole bag; unknown labels (-1) are left out
  abmil::TopKMetrics all = abmil::top_k_instances({{0.3, 0.2, 0.9}}, {{1, -1, 0}}, 5);
  EXPECT_EQ(all.selected, 2);
  EXPECT_DOUBLE_EQ(all.recall, 1.0);
  const auto error = abmil_test::error_of<std::invalid_argument>;
  EXPECT_EQ(error([&] { abmil::top_k_instances(s, y, 0); }), "top_k_instances: k must be at least 1");
  EXPECT_EQ(error([&] { abmil::top_k_instances(s, {{0}}, 1); }), "top_k_instances: scores and labels differ in bags");
}

TEST(Metrics, MetricTextSaysNotKnownForNaN) {
  EXPECT_EQ(abmil::metric_text(std::nan("")), "n/a");
  EXPECT_EQ(abmil::metric_text(0.93749), "0.9375");
  EXPECT_EQ(abmil::metric_text(0.0), "0.0000");
}

// Four bags of three classes, computed by hand: bag 2 (class 2) is predicted
// class 0; class 2's column ranks its bags 4th and 1st against scores 0.1, 0.1.
TEST(MetricsMulticlass, HandComputedThreeClasses) {
  const auto m = abmil::multiclass_metrics(
      {{0.8, 0.1, 0.1}, {0.3, 0.6, 0.1}, {0.5, 0.2, 0.05}, {0.1, 0.2, 0.7}}, {0, 1, 2, 2});
  const std::vector<std::vector<int64_t>> confusion{{1, 0, 0}, {0, 1, 0}, {1, 0, 1}};
  EXPECT_EQ(m.confusion, confusion);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(m.error, 0.25);
  EXPECT_DOUBLE_EQ(m.class_precision[0], 0.5);
  EXPECT_DOUBLE_EQ(m.class_recall[2], 0.5);
  EXPECT_NEAR(m.class_f1[0], 2.0 / 3, 1e-12);
  EXPECT_NEAR(m.balanced_accuracy, 2.5 / 3, 1e-12);
  EXPECT_NEAR(m.macro_f1, 7.0 / 9, 1e-12);
  EXPECT_DOUBLE_EQ(m.class_auc[0], 1.0);
  EXPECT_DOUBLE_EQ(m.class_auc[2], 0.5);
  EXPECT_NEAR(m.macro_auc, 2.5 / 3, 1e-12);
}

TEST(MetricsMulticlass, AbsentClassHasNoAucAndIsLeftOutOfTheMacroMean) {
  const auto m = abmil::multiclass_metrics({{0.9, 0.05, 0.05}, {0.2, 0.7, 0.1}}, {0, 1});
  EXPECT_TRUE(std::isnan(m.class_auc[2]));
  EXPECT_DOUBLE_EQ(m.macro_auc, 1.0);
  EXPECT_DOUBLE_EQ(m.balanced_accuracy, 1.0);  // class 2 has no bag: not in the mean
}

TEST(MetricsMulticlass, RejectsLabelOutOfRangeAndRaggedRows) {
  EXPECT_THROW(abmil::multiclass_metrics({{0.5, 0.5}}, {2}), std::invalid_argument);
  EXPECT_THROW(abmil::multiclass_metrics({{0.5, 0.5}, {1.0}}, {0, 1}), std::invalid_argument);
  EXPECT_THROW(abmil::multiclass_metrics({{0.5, 0.5}}, {0, 1}), std::invalid_argument);
}

// Three bags, two labels, threshold 0.5: predicted sets {0}, {0,1}, {}.
TEST(MetricsMultilabel, HandComputedTwoLabels) {
  const auto m = abmil::multilabel_metrics({{0.9, 0.45}, {0.6, 0.7}, {0.1, 0.4}}, {{1, 0}, {0, 1}, {0, 1}});
  EXPECT_NEAR(m.exact_match, 1.0 / 3, 1e-12);
  EXPECT_NEAR(m.label_f1[0], 2.0 / 3, 1e-12);
  EXPECT_NEAR(m.label_f1[1], 2.0 / 3, 1e-12);
  EXPECT_NEAR(m.micro_f1, 2.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(m.label_auc[0], 1.0);
  EXPECT_DOUBLE_EQ(m.label_auc[1], 0.5);
  EXPECT_DOUBLE_EQ(m.macro_auc, 0.75);
  EXPECT_THROW(abmil::multilabel_metrics({{0.5}}, {{2}}), std::invalid_argument);
}
