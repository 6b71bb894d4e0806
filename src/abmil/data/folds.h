// Cross-validation splits of a set of bags: repeated stratified k-fold, a
// stratified inner validation split, and folds given by group names.
// Positions are 0-based indices into the caller's bag list. No LibTorch here.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace abmil {

/// One fold of repeated stratified k-fold cross-validation: positions of bags.
struct Fold {
  int64_t repeat = 0, fold = 0;
  std::vector<int64_t> train, test;  ///< bag positions, each sorted ascending
};

/// R repeats x K folds of the bags 0..labels.size()-1, stratified by label
/// (0 or 1, or a class index >= 0). In each repeat r, the bags of each label,
/// labels in ascending order (the negative, then the positive bags), are
/// shuffled separately (Fisher-Yates with an std::mt19937_64 seeded from
/// std::seed_seq{seed low 32 bits, seed high 32 bits, r}, bounded draws by
/// rejection, so the result is the same on every standard library) and dealt
/// round-robin into K folds; the positives continue dealing where the
/// negatives stopped, so fold sizes differ by at most 1 and so do the fold
/// positive counts. Fold (r,k): test = fold k, train = all others, both sorted
/// ascending. Returned r-major: element r*K + k is fold (r,k).
/// Throws std::invalid_argument if folds < 2, repeats < 1, folds > number of
/// bags, or a label is negative.
std::vector<Fold> stratified_kfold(const std::vector<int>& labels, int64_t folds, int64_t repeats, uint64_t seed);

/// Splits the train `positions` (indices into `labels`, class indices >= 0) into
/// (kept, held out) for an inner validation set: of each label with n bags
/// among `positions`, round(fraction * n) chosen at random (seeded from
/// `seed`) are held out, at least 1 when fraction > 0 and n >= 2, and at most
/// n - 1 so that every label present stays in the kept part. Both parts sorted
/// ascending. fraction 0 holds out nothing.
/// Throws std::invalid_argument if fraction is not in [0, 1), a position is
/// out of range of `labels`, or a label is negative.
std::pair<std::vector<int64_t>, std::vector<int64_t>> stratified_split(const std::vector<int64_t>& positions,
                                                                       const std::vector<int>& labels, double fraction,
                                                                       uint64_t seed);

/// stratified_kfold over groups of bags (e.g. the slides of one patient,
/// `groups` = each bag's case id): the distinct groups, in order of first
/// appearance, are folded by the label of their first bag, and a fold's
/// test part is every bag of its groups, so no group is on both sides.
/// With one bag a group this is stratified_kfold(labels, ...).
/// Throws std::invalid_argument as stratified_kfold (counting groups), or
/// when groups and labels differ in size.
std::vector<Fold> grouped_stratified_kfold(const std::vector<int>& labels, const std::vector<std::string>& groups,
                                           int64_t folds, int64_t repeats, uint64_t seed);

/// stratified_split over the groups present among `positions` (each group
/// labelled by its first bag among them): a held-out group takes all its
/// bags there with it. Throws std::invalid_argument as stratified_split.
std::pair<std::vector<int64_t>, std::vector<int64_t>> grouped_stratified_split(const std::vector<int64_t>& positions,
                                                                               const std::vector<int>& labels,
                                                                               const std::vector<std::string>& groups,
                                                                               double fraction, uint64_t seed);

/// Folds from a group name per bag (e.g. the cvNNN prefix of a file name):
/// fold k = test on all bags of the k-th distinct group in sorted (byte)
/// order, train on all others; repeat 0, positions sorted ascending.
/// Throws std::invalid_argument when there are fewer than 2 distinct groups.
std::vector<Fold> folds_from_groups(const std::vector<std::string>& groups);

}  // namespace abmil
