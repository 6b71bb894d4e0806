// MNIST-bags (Ilse, Tomczak & Welling 2018, Sec. 4.2): bags of digit images,
// positive iff a bag holds at least one image of the target class.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "abmil/data/bag.h"

namespace abmil {

struct DataConfig;

/// How bag labels come about.
enum class BagProtocol {
  /// The paper's: positive and negative bags alternate (positive first). A
  /// positive bag is redrawn whole until it holds a target instance; a negative
  /// bag draws instances one by one, rejecting target instances.
  balanced,
  /// The public reference code's: instances drawn uniformly, the label follows
  /// the draw (about 1 - 0.9^K positive for MNIST with K instances).
  simple,
};

/// Parses "balanced" / "simple". Throws std::invalid_argument otherwise.
BagProtocol parse_bag_protocol(const std::string& name);

/// Options of the bag generator.
struct MnistBagsOptions {
  int target = 9;               ///< class whose presence makes a bag positive
  double bag_size_mean = 10.0;  ///< K ~ round(N(mean, std)), at least 1
  double bag_size_std = 2.0;
  int64_t count = 100;  ///< number of bags
  BagProtocol protocol = BagProtocol::balanced;
};

/// Draws `options.count` bags over items with class `labels` (instances drawn
/// uniformly with replacement, as the reference code does). Bag ids are
/// 0..count-1; `instance_labels[k]` = (labels[source] == target).
/// Deterministic given the state of `rng`.
/// Throws std::invalid_argument when the balanced protocol is impossible
/// (no item, or only target items, or none of the target class).
std::vector<Bag> generate_mnist_bags(const std::vector<uint8_t>& labels, const MnistBagsOptions& options,
                                     std::mt19937_64& rng);

/// Reads the IDX files under `data.root` (train-images-idx3-ubyte[.gz], ...),
/// draws `train_bags` bags from the train split and `test_bags` from the test
/// split, and holds out a stratified `validation_fraction` of the training bags
/// (stratified_split of data/folds.h, seeded from the hold-out stream).
/// Pixels become float32 (x/255 - pixel_mean) / pixel_std, shape [1, 28, 28].
/// Deterministic from `seed`. Throws DataError for missing or malformed files.
MilData load_mnist_bags(const DataConfig& data, uint64_t seed);

}  // namespace abmil
