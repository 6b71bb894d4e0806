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

/// All bags of `table` as one split named "all": instances [N, D] float32,
/// bag ids 0..B-1 in file order, source_indices = the row's position in the
/// file's data rows (0-based), instance labels unknown (-1).
BagSplit feature_table_split(const FeatureTable& table);

/// z-scores the instances of every split in `targets` in place with the
/// per-feature mean and standard deviation (population, ddof 0) of the
/// instances of `fit_on` only, so no test statistic leaks into training.
/// A feature with zero spread is only centred. Returns {mean [D], std [D]}.
std::pair<torch::Tensor, torch::Tensor> standardize(const BagSplit& fit_on, const std::vector<BagSplit*>& targets);

/// z-scores the instances of every split in `targets` in place with the given
/// per-feature `mean` and `std` ([D] float64, std > 0), as standardize does
/// (`abmil predict`: the statistics of the trained run's training bags).
/// Throws std::invalid_argument when D differs from the instances' width.
void apply_standardization(const std::vector<BagSplit*>& targets, const torch::Tensor& mean, const torch::Tensor& std);

/// `abmil train` on a feature CSV: reads `data.path`, holds out a stratified
/// `test_fraction` of the bags for testing and `validation_fraction` of the
/// rest for early stopping (deterministic from `seed`), and standardises with
/// the training bags' statistics when `data.standardize`.
/// Throws DataError for a missing or malformed file.
MilData load_feature_bags(const DataConfig& data, uint64_t seed);

}  // namespace abmil
