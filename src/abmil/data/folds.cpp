#include "abmil/data/folds.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>

namespace abmil {
namespace {

using Rng = std::mt19937_64;

Rng make_rng(uint64_t seed, uint64_t stream) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(stream),
                    static_cast<uint32_t>(stream >> 32)};
  return Rng(seq);
}

// Uniform integer in [0, n), n >= 1, unbiased (rejection), library-independent.
uint64_t below(Rng& rng, uint64_t n) {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  const uint64_t limit = max - (max % n + 1) % n;  // largest value of a whole number of n-blocks
  uint64_t x;
  do x = rng();
  while (x > limit);
  return x % n;
}

// Fisher-Yates shuffle with `below`, the same on every standard library.
void shuffle(std::vector<int64_t>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(rng, i)]);
}

void check_label(const char* fn, int label, size_t pos) {
  if (label < 0)
    throw std::invalid_argument(std::string(fn) + ": label of bag " + std::to_string(pos) + " is " +
                                std::to_string(label) + ", expected a class index >= 0");
}

/// The positions of each label, labels in ascending order (0 then 1 for binary data).
std::vector<std::vector<int64_t>> positions_by_label(const std::vector<int>& labels, const char* fn) {
  std::map<int, std::vector<int64_t>> by;
  for (size_t i = 0; i < labels.size(); ++i) {
    check_label(fn, labels[i], i);
    by[labels[i]].push_back(static_cast<int64_t>(i));
  }
  std::vector<std::vector<int64_t>> out;
  for (auto& entry : by) out.push_back(std::move(entry.second));
  return out;
}

/// The distinct groups of `groups` in first-appearance order: group_of[i] is
/// bag i's group index, first[g] the first bag of group g.
void index_groups(const std::vector<std::string>& groups, std::vector<int64_t>& group_of, std::vector<int64_t>& first) {
  std::map<std::string, int64_t> index;
  group_of.resize(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    auto [it, fresh] = index.emplace(groups[i], static_cast<int64_t>(first.size()));
    if (fresh) first.push_back(static_cast<int64_t>(i));
    group_of[i] = it->second;
  }
}

// Fold with test = positions where in_test is true, train = the rest.
Fold make_fold(int64_t repeat, int64_t fold, const std::vector<bool>& in_test) {
  Fold f;
  f.repeat = repeat;
  f.fold = fold;
  for (size_t i = 0; i < in_test.size(); ++i) (in_test[i] ? f.test : f.train).push_back(static_cast<int64_t>(i));
  return f;
}

}  // namespace

std::vector<Fold> stratified_kfold(const std::vector<int>& labels, int64_t folds, int64_t repeats, uint64_t seed) {
  const int64_t n = static_cast<int64_t>(labels.size());
  if (folds < 2)
    throw std::invalid_argument("stratified_kfold: folds must be at least 2 (got " + std::to_string(folds) + ")");
  if (repeats < 1)
    throw std::invalid_argument("stratified_kfold: repeats must be at least 1 (got " + std::to_string(repeats) + ")");
  if (folds > n)
    throw std::invalid_argument("stratified_kfold: " + std::to_string(folds) + " folds but only " + std::to_string(n) +
                                " bags");
  const std::vector<std::vector<int64_t>> by_label = positions_by_label(labels, "stratified_kfold");

  std::vector<Fold> out;
  out.reserve(static_cast<size_t>(folds * repeats));
  std::vector<int64_t> fold_of(labels.size());
  for (int64_t r = 0; r < repeats; ++r) {
    Rng rng = make_rng(seed, static_cast<uint64_t>(r));
    std::vector<std::vector<int64_t>> order = by_label;
    for (auto& group : order) shuffle(group, rng);
    int64_t next = 0;
    for (const auto& group : order)
      for (int64_t i : group) fold_of[static_cast<size_t>(i)] = next++ % folds;
    for (int64_t k = 0; k < folds; ++k) {
      std::vector<bool> in_test(labels.size());
      for (size_t i = 0; i < labels.size(); ++i) in_test[i] = fold_of[i] == k;
      out.push_back(make_fold(r, k, in_test));
    }
  }
  return out;
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> stratified_split(const std::vector<int64_t>& positions,
                                                                       const std::vector<int>& labels, double fraction,
                                                                       uint64_t seed) {
  if (!(fraction >= 0.0 && fraction < 1.0))
    throw std::invalid_argument("stratified_split: fraction must be in [0, 1) (got " + std::to_string(fraction) + ")");
  std::map<int, std::vector<int64_t>> by_label;
  for (int64_t p : positions) {
    if (p < 0 || p >= static_cast<int64_t>(labels.size()))
      throw std::invalid_argument("stratified_split: position " + std::to_string(p) + " out of range for " +
                                  std::to_string(labels.size()) + " bags");
    check_label("stratified_split", labels[static_cast<size_t>(p)], static_cast<size_t>(p));
    by_label[labels[static_cast<size_t>(p)]].push_back(p);
  }

  Rng rng = make_rng(seed, 0);
  std::vector<int64_t> kept, held;
  for (auto& [label, group] : by_label) {
    const int64_t n = static_cast<int64_t>(group.size());
    int64_t h = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
    if (fraction > 0 && n >= 2) h = std::max<int64_t>(h, 1);
    h = std::min<int64_t>(h, std::max<int64_t>(n - 1, 0));
    shuffle(group, rng);
    held.insert(held.end(), group.begin(), group.begin() + h);
    kept.insert(kept.end(), group.begin() + h, group.end());
  }
  std::sort(kept.begin(), kept.end());
  std::sort(held.begin(), held.end());
  return {std::move(kept), std::move(held)};
}

std::vector<Fold> grouped_stratified_kfold(const std::vector<int>& labels, const std::vector<std::string>& groups,
                                           int64_t folds, int64_t repeats, uint64_t seed) {
  if (groups.size() != labels.size())
    throw std::invalid_argument("grouped_stratified_kfold: " + std::to_string(groups.size()) + " groups for " +
                                std::to_string(labels.size()) + " bags");
  std::vector<int64_t> group_of, first;
  index_groups(groups, group_of, first);
  std::vector<int> group_labels;
  for (int64_t f : first) group_labels.push_back(labels[static_cast<size_t>(f)]);
  std::vector<Fold> out = stratified_kfold(group_labels, folds, repeats, seed);
  for (Fold& f : out) {
    std::vector<bool> test_group(first.size());
    for (int64_t g : f.test) test_group[static_cast<size_t>(g)] = true;
    std::vector<bool> in_test(labels.size());
    for (size_t i = 0; i < labels.size(); ++i) in_test[i] = test_group[static_cast<size_t>(group_of[i])];
    f = make_fold(f.repeat, f.fold, in_test);
  }
  return out;
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> grouped_stratified_split(const std::vector<int64_t>& positions,
                                                                               const std::vector<int>& labels,
                                                                               const std::vector<std::string>& groups,
                                                                               double fraction, uint64_t seed) {
  if (groups.size() != labels.size())
    throw std::invalid_argument("grouped_stratified_split: " + std::to_string(groups.size()) + " groups for " +
                                std::to_string(labels.size()) + " bags");
  std::vector<int64_t> group_of, first;
  index_groups(groups, group_of, first);
  // The groups among `positions`, in first-appearance order, and their labels.
  std::map<int64_t, int64_t> slot;  // group -> index among the present groups
  std::vector<int> present_labels;
  for (int64_t p : positions) {
    if (p < 0 || p >= static_cast<int64_t>(labels.size()))
      throw std::invalid_argument("grouped_stratified_split: position " + std::to_string(p) + " out of range for " +
                                  std::to_string(labels.size()) + " bags");
    if (slot.emplace(group_of[static_cast<size_t>(p)], static_cast<int64_t>(present_labels.size())).second)
      present_labels.push_back(labels[static_cast<size_t>(p)]);
  }
  std::vector<int64_t> all(present_labels.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  auto [kept_groups, held_groups] = stratified_split(all, present_labels, fraction, seed);
  std::vector<bool> held(present_labels.size());
  for (int64_t g : held_groups) held[static_cast<size_t>(g)] = true;
  std::vector<int64_t> kept, out;
  for (int64_t p : positions) (held[static_cast<size_t>(slot.at(group_of[static_cast<size_t>(p)]))] ? out : kept).push_back(p);
  std::sort(kept.begin(), kept.end());
  std::sort(out.begin(), out.end());
  return {std::move(kept), std::move(out)};
}

std::vector<Fold> folds_from_groups(const std::vector<std::string>& groups) {
  std::map<std::string, int64_t> index;  // sorted distinct names -> fold
  for (const auto& g : groups) index.emplace(g, 0);
  if (index.size() < 2)
    throw std::invalid_argument("folds_from_groups: need at least 2 distinct groups (got " +
                                std::to_string(index.size()) + ")");
  int64_t k = 0;
  for (auto& entry : index) entry.second = k++;

  std::vector<int64_t> fold_of(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) fold_of[i] = index.at(groups[i]);
  std::vector<Fold> out;
  for (int64_t f = 0; f < k; ++f) {
    std::vector<bool> in_test(groups.size());
    for (size_t i = 0; i < groups.size(); ++i) in_test[i] = fold_of[i] == f;
    out.push_back(make_fold(0, f, in_test));
  }
  return out;
}

}  // namespace abmil
