// The hold-outs of `abmil train` shared by every data kind that reads a fixed
// set of bags (feature_bags, image_patches, text_bags): a stratified test
// share, then a stratified validation share of the rest (data/folds.h does
// the drawing, the same on every standard library).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "abmil/data/bag.h"

namespace abmil {

struct DataConfig;

/// Bag positions of the three splits of `abmil train` (each sorted ascending).
struct HeldOutPositions {
  std::vector<int64_t> train, validation, test;
};

/// Throws DataError "SOURCE: bag 'NAME' has no label; training needs a 0 or 1
/// label on every bag (`abmil predict` scores unlabelled ones)" for the first
/// label -1 (names[b], or the bag's position when `names` has no entry).
void require_labels(const std::vector<int>& labels, const std::vector<std::string>& names, const std::string& source);

/// The positions 0..labels.size()-1 (labels 0/1) split for `abmil train`: a
/// stratified `data.test_fraction` held out for testing
/// (stratified_split seeded with `seed`), then `data.validation_fraction` of
/// the rest for early stopping (seed + 1); the rest is `train`.
/// Throws DataError as require_labels(labels, names, source), and "SOURCE: N
/// bag(s), too few to hold out test bags (a label needs at least 2 bags)"
/// when no test position is left.
HeldOutPositions hold_out_positions(const std::vector<int>& labels, const std::vector<std::string>& names,
                                    const DataConfig& data, uint64_t seed, const std::string& source);

/// The train / validation / test splits of `all` for `abmil train`, drawn by
/// hold_out_positions from the bags' labels. Instances are copied; bags keep
/// their ids. Throws DataError as hold_out_positions.
MilData hold_out_test_and_validation(const BagSplit& all, const DataConfig& data, uint64_t seed,
                                     const std::string& source);

/// The labels of the bags of `split`, in split order.
std::vector<int> bag_labels(const BagSplit& split);

/// The names (Bag::name) of the bags of `split`, in split order.
std::vector<std::string> bag_names(const BagSplit& split);

}  // namespace abmil
