// Tests of abmil/data/folds: stratified k-fold splits, the inner stratified
// validation split and folds from group names.
#include "abmil/data/folds.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <set>
#include <stdexcept>

#include "test_util.h"

namespace {

using abmil::Fold;

// 23 bags, 9 positive, in a scattered order.
std::vector<int> some_labels() {
  std::vector<int> l(23, 0);
  for (int i : {0, 3, 4, 8, 11, 15, 16, 20, 22}) l[static_cast<size_t>(i)] = 1;
  return l;
}

// The what() of the std::invalid_argument thrown by `f`.
const auto invalid_argument = abmil_test::error_of<std::invalid_argument>;

TEST(StratifiedKFold, StratifiedDisjointCovering) {
  const auto labels = some_labels();
  const int64_t n = 23, P = 9, K = 5, R = 3;
  const auto folds = abmil::stratified_kfold(labels, K, R, 42);
  ASSERT_EQ(static_cast<int64_t>(folds.size()), K * R);
  for (int64_t r = 0; r < R; ++r) {
    std::vector<int> times_in_test(n, 0);
    for (int64_t k = 0; k < K; ++k) {
      const Fold& f = folds[static_cast<size_t>(r * K + k)];
      EXPECT_EQ(f.repeat, r);
      EXPECT_EQ(f.fold, k);
      EXPECT_TRUE(std::is_sorted(f.train.begin(), f.train.end()));
      EXPECT_TRUE(std::is_sorted(f.test.begin(), f.test.end()));
      // Sizes differ by at most 1: 23 / 5 -> 4 or 5.
      EXPECT_GE(f.test.size(), 4u);
      EXPECT_LE(f.test.size(), 5u);
      int64_t pos = 0;
      for (int64_t i : f.test) {
        ++times_in_test[static_cast<size_t>(i)];
        pos += labels[static_cast<size_t>(i)];
      }
      // Positives per fold within 1 of P/K = 1.8.
      EXPECT_GE(pos, P / K);
      EXPECT_LE(pos, (P + K - 1) / K);
      // train = complement of test.
      std::vector<int64_t> all(f.train);
      all.insert(all.end(), f.test.begin(), f.test.end());
      std::sort(all.begin(), all.end());
      std::vector<int64_t> expected(n);
      for (int64_t i = 0; i < n; ++i) expected[static_cast<size_t>(i)] = i;
      EXPECT_EQ(all, expected) << "repeat " << r << " fold " << k;
    }
    for (int c : times_in_test) EXPECT_EQ(c, 1) << "repeat " << r;
  }
}

TEST(StratifiedKFold, FoldSizesDifferByAtMostOne) {
  // 7 negatives and 7 positives into 4 folds: sizes 4,4,3,3 in some order.
  std::vector<int> labels(14, 0);
  for (size_t i = 7; i < 14; ++i) labels[i] = 1;
  for (uint64_t seed : {1u, 2u, 3u}) {
    std::vector<size_t> sizes;
    for (const auto& f : abmil::stratified_kfold(labels, 4, 1, seed)) sizes.push_back(f.test.size());
    std::sort(sizes.begin(), sizes.end());
    EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 4, 4}));
  }
}

TEST(StratifiedKFold, ReproducibleAndSeedDependent) {
  const auto labels = some_labels();
  const auto a = abmil::stratified_kfold(labels, 5, 2, 7);
  const auto b = abmil::stratified_kfold(labels, 5, 2, 7);
  const auto c = abmil::stratified_kfold(labels, 5, 2, 8);
  ASSERT_EQ(a.size(), 10u);
  bool seed_differs = false, repeat_differs = false;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].test, b[i].test);
    EXPECT_EQ(a[i].train, b[i].train);
    seed_differs |= a[i].test != c[i].test;
  }
  for (size_t k = 0; k < 5; ++k) repeat_differs |= a[k].test != a[5 + k].test;
  EXPECT_TRUE(seed_differs);
  EXPECT_TRUE(repeat_differs);
  // A repeat depends only on (seed, repeat): repeat 0 of a 2-repeat run = a 1-repeat run.
  const auto one = abmil::stratified_kfold(labels, 5, 1, 7);
  for (size_t k = 0; k < 5; ++k) EXPECT_EQ(one[k].test, a[k].test);
}

TEST(StratifiedKFold, LeaveOneOut) {
  const std::vector<int> labels{0, 1, 0, 1};
  const auto folds = abmil::stratified_kfold(labels, 4, 1, 0);
  std::set<int64_t> tested;
  for (const auto& f : folds) {
    ASSERT_EQ(f.test.size(), 1u);
    EXPECT_EQ(f.train.size(), 3u);
    tested.insert(f.test[0]);
  }
  EXPECT_EQ(tested.size(), 4u);
}

TEST(StratifiedKFold, Errors) {
  const auto labels = some_labels();
  EXPECT_EQ(invalid_argument([&] { abmil::stratified_kfold(labels, 1, 1, 0); }),
            "stratified_kfold: folds must be at least 2 (got 1)");
  EXPECT_EQ(invalid_argument([&] { abmil::stratified_kfold(labels, 5, 0, 0); }),
            "stratified_kfold: repeats must be at least 1 (got 0)");
  EXPECT_EQ(invalid_argument([&] { abmil::stratified_kfold(labels, 24, 1, 0); }),
            "stratified_kfold: 24 folds but only 23 bags");
  EXPECT_EQ(invalid_argument([&] {
              abmil::stratified_kfold({0, 1, -1}, 2, 1, 0);
            }),
            "stratified_kfold: label of bag 2 is -1, expected a class index >= 0");
}

TEST(StratifiedSplit, CountsAndDisjoint) {
  const auto labels = some_labels();  // 14 negatives, 9 positives
  std::vector<int64_t> positions(23);
  for (int64_t i = 0; i < 23; ++i) positions[static_cast<size_t>(i)] = i;
  const auto [kept, held] = abmil::stratified_split(positions, labels, 0.2, 5);
  // round(0.2 * 14) = 3 negatives, round(0.2 * 9) = 2 positives.
  ASSERT_EQ(held.size(), 5u);
  EXPECT_EQ(kept.size(), 18u);
  int held_pos = 0;
  for (int64_t p : held) held_pos += labels[static_cast<size_t>(p)];
  EXPECT_EQ(held_pos, 2);
  EXPECT_TRUE(std::is_sorted(kept.begin(), kept.end()));
  EXPECT_TRUE(std::is_sorted(held.begin(), held.end()));
  std::vector<int64_t> all(kept);
  all.insert(all.end(), held.begin(), held.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, positions);
  // Reproducible, and another seed holds out other bags.
  EXPECT_EQ(abmil::stratified_split(positions, labels, 0.2, 5).second, held);
  bool differs = false;
  for (uint64_t s = 6; s < 10; ++s) differs |= abmil::stratified_split(positions, labels, 0.2, s).second != held;
  EXPECT_TRUE(differs);
}

TEST(StratifiedSplit, SubsetMinimumAndZero) {
  const auto labels = some_labels();
  // Positions 0..5: labels 1,0,0,1,1,0 -> 3 negatives, 3 positives; 0.1 rounds to 0 -> 1 each.
  const std::vector<int64_t> sub{0, 1, 2, 3, 4, 5};
  const auto [kept, held] = abmil::stratified_split(sub, labels, 0.1, 1);
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(labels[static_cast<size_t>(held[0])] + labels[static_cast<size_t>(held[1])], 1);
  EXPECT_EQ(kept.size(), 4u);
  for (int64_t p : held) EXPECT_TRUE(std::find(sub.begin(), sub.end(), p) != sub.end());
  // A label with one bag keeps it; fraction 0 holds out nothing.
  const auto one = abmil::stratified_split({0, 1, 2}, labels, 0.5, 1);  // labels 1,0,0
  EXPECT_EQ(one.first.size(), 2u);
  ASSERT_EQ(one.second.size(), 1u);
  EXPECT_EQ(labels[static_cast<size_t>(one.second[0])], 0);
  const auto none = abmil::stratified_split(sub, labels, 0.0, 1);
  EXPECT_EQ(none.first, sub);
  EXPECT_TRUE(none.second.empty());
  // A large fraction still keeps one bag of each label.
  const auto most = abmil::stratified_split(sub, labels, 0.99, 1);
  EXPECT_EQ(most.first.size(), 2u);
  EXPECT_EQ(most.second.size(), 4u);
}

TEST(StratifiedSplit, Errors) {
  const auto labels = some_labels();
  EXPECT_EQ(invalid_argument([&] {
              abmil::stratified_split({0, 1}, labels, 1.0, 0);
            }),
            "stratified_split: fraction must be in [0, 1) (got 1.000000)");
  EXPECT_EQ(invalid_argument([&] {
              abmil::stratified_split({0, 1}, labels, -0.5, 0);
            }),
            "stratified_split: fraction must be in [0, 1) (got -0.500000)");
  EXPECT_EQ(invalid_argument([&] {
              abmil::stratified_split({0, 23}, labels, 0.5, 0);
            }),
            "stratified_split: position 23 out of range for 23 bags");
  EXPECT_EQ(invalid_argument([&] {
              abmil::stratified_split({0, 1}, {0, -5}, 0.5, 0);
            }),
            "stratified_split: label of bag 1 is -5, expected a class index >= 0");
}

TEST(FoldsFromGroups, SmallCase) {
  const std::vector<std::string> groups{"cv2", "cv1", "cv2", "cv10", "cv1"};
  const auto folds = abmil::folds_from_groups(groups);
  ASSERT_EQ(folds.size(), 3u);
  // Sorted names: cv1, cv10, cv2.
  EXPECT_EQ(folds[0].test, (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(folds[0].train, (std::vector<int64_t>{0, 2, 3}));
  EXPECT_EQ(folds[1].test, (std::vector<int64_t>{3}));
  EXPECT_EQ(folds[1].train, (std::vector<int64_t>{0, 1, 2, 4}));
  EXPECT_EQ(folds[2].test, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(folds[2].train, (std::vector<int64_t>{1, 3, 4}));
  for (int64_t k = 0; k < 3; ++k) {
    EXPECT_EQ(folds[static_cast<size_t>(k)].repeat, 0);
    EXPECT_EQ(folds[static_cast<size_t>(k)].fold, k);
  }
  EXPECT_EQ(invalid_argument([] {
              abmil::folds_from_groups({"a", "a"});
            }),
            "folds_from_groups: need at least 2 distinct groups (got 1)");
  EXPECT_EQ(invalid_argument([] { abmil::folds_from_groups({}); }),
            "folds_from_groups: need at least 2 distinct groups (got 0)");
}

}  // namespace
