// Feature-vector bags (Musk1/2, Fox, Tiger, Elephant, or a user's own
// features) from the CSV layout of data/feature_csv.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "abmil/data/bag.h"

namespace abmil {

struct DataConfig;
struct FeatureTable;
struct MilData;

/// All bags of `table` as one split named "all": instances [N, D] float32,
/// bag ids 0..B-1 in file order, source_indices = the row's position in the
/// file's data rows (0-based), instance labels unknown (-1).
BagSplit feature_table_split(const FeatureTable& table);

/// z-scores the instances of every split in `targets` in place with the
/// per-feature mean and standard deviation (population, ddof 0) of the
/// instances of `fit_on` only, so no test statistic leaks into training.
/// A feature with zero spread is only centred. Returns {mean [D], std [D]}.
std::pair<torch::Tensor, torch::Tensor> standardize(const BagSplit& fit_on, const std::vector<BagSplit*>& targets);

/// Bag positions of the three splits of `abmil train` (each sorted ascending).
struct HeldOutPositions {
  std::vector<int64_t> train, validation, test;
};

/// The positions 0..labels.size()-1 (labels 0/1) split for `abmil train`: a
/// stratified `data.test_fraction` held out for testing
/// (stratified_split seeded with `seed`), then `data.validation_fraction` of
/// the rest for early stopping (seed + 1); the rest is `train`.
/// Throws DataError "SOURCE: N bag(s), too few to hold out test bags (a label
/// needs at least 2 bags)" when no test position is left.
HeldOutPositions hold_out_positions(const std::vector<int>& labels, const DataConfig& data, uint64_t seed,
                                    const std::string& source);

/// The train / validation / test splits of `all` for `abmil train`: a
/// stratified `data.test_fraction` of the bags held out for testing (seeded
/// from `seed`), then `data.validation_fraction` of the rest for early
/// stopping (seed + 1), as hold_out_positions. Instances are copied. Throws
/// DataError "SOURCE: N bag(s), too few to hold out test bags" when no test
/// bag is left.
MilData hold_out_test_and_validation(const BagSplit& all, const DataConfig& data, uint64_t seed,
                                     const std::string& source);

/// `abmil train` on a feature CSV: reads `data.path`, holds out a stratified
/// `test_fraction` of the bags for testing and `validation_fraction` of the
/// rest for early stopping (deterministic from `seed`), and standardises with
/// the training bags' statistics when `data.standardize`.
/// Throws DataError for a missing or malformed file.
MilData load_feature_bags(const DataConfig& data, uint64_t seed);

/// The data of `data.kind` (mnist_bags, feature_bags, image_patches or text_bags).
/// Throws std::invalid_argument for another kind, DataError for bad files.
MilData load_data(const DataConfig& data, uint64_t seed);

}  // namespace abmil
