// MNIST-bags (Ilse, Tomczak & Welling 2018, Sec. 4.2): bags of digit images,
// positive iff a bag holds at least one image of the target class; and two
// variants over C >= 2 target digits (data.targets): multi-class (a bag holds
// exactly one of them, its class) and multi-label (a bag holds any subset of
// them, its labels).
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
  int target = 9;  ///< class whose presence makes a bag positive (binary: `targets` empty)
  /// C >= 2 distinct digits (data.targets): the classes (multi-class) or the
  /// labels (multi_label), index c = targets[c]; empty = binary with `target`.
  std::vector<int> targets;
  bool multi_label = false;     ///< with `targets`: a bag holds any subset of them (data.multi_label)
  double bag_size_mean = 10.0;  ///< K ~ round(N(mean, std)), at least 1
  double bag_size_std = 2.0;
  int64_t count = 100;  ///< number of bags
  BagProtocol protocol = BagProtocol::balanced;
};

/// Draws `options.count` bags over items with class `labels` (instances drawn
/// uniformly with replacement, as the reference code does). Bag ids are
/// 0..count-1. Deterministic given the state of `rng`.
///
/// Binary (`targets` empty): `instance_labels[k]` = (labels[source] ==
/// target), `label` 0/1 as `protocol` says; the bags of earlier versions,
/// draw for draw.
///
/// Multi-class (`targets` = t_0..t_{C-1}, not multi_label): bag b is of class
/// c = b % C (classes balanced to within one bag), `label` = c. It holds at
/// least one instance of t_c and none of the other targets: instances are
/// drawn uniformly, those of another target rejected one by one, and the bag
/// is redrawn whole until it holds a t_c (the paper's positive bag, with the
/// other targets as its forbidden class). `instance_labels[k]` =
/// (labels[source] == t_c).
///
/// Multi-label (`targets` with multi_label): bag b's label set S is drawn
/// first, each label present independently with probability 1/2 (bit 63 of
/// one rng() draw per label, in index order), so each of the 2^C subsets has
/// probability 2^-C; then K (at least |S|), then the instances as above:
/// targets outside S rejected one by one, the bag redrawn whole until it
/// holds every digit of S. `targets` = [C] 0/1 of S, `label` = (S not empty),
/// `instance_labels[k]` = (labels[source] is one of the targets, hence of S).
///
/// Throws std::invalid_argument when `labels` is empty; binary balanced:
/// when it lacks items of the target or of other classes; with `targets`:
/// for a repeated digit, fewer than two or more than 31, when a target has no item, and
/// (multi-label) when there is no item outside the targets for bags without
/// a label.
std::vector<Bag> generate_mnist_bags(const std::vector<uint8_t>& labels, const MnistBagsOptions& options,
                                     std::mt19937_64& rng);

/// Checks the class keys of a mnist_bags config before any file is read:
/// data.targets holds two or more distinct digits or none; data.multi_label
/// needs data.targets; data.targets needs data.protocol balanced (simple
/// draws regardless of the classes). Throws std::invalid_argument, one line
/// starting with the key ("data.targets: digit 7 is listed twice ...").
void check_mnist_classes(const DataConfig& data);

/// The stratum of each bag of `split` for a stratified hold-out: its label
/// (0/1 or class index), or with multi-label bags (Bag::targets set) its
/// label set as a bit mask, sum of 2^c over the labels c present.
std::vector<int> mnist_bag_strata(const BagSplit& split);

/// Reads the IDX files under `data.root` (train-images-idx3-ubyte[.gz], ...),
/// draws `train_bags` bags from the train split and `test_bags` from the test
/// split, and holds out a stratified `validation_fraction` of the training bags
/// (stratified_split of data/folds.h, seeded from the hold-out stream).
/// Pixels become float32 (x/255 - pixel_mean) / pixel_std, shape [1, 28, 28].
/// With data.targets (generate_mnist_bags' multi-class and multi-label bags)
/// MilData::classes = the digits as names ("7", "8", "9"), multi_label =
/// data.multi_label, and the hold-out is stratified by mnist_bag_strata.
/// Deterministic from `seed`. Throws std::invalid_argument as
/// check_mnist_classes (before reading any file), DataError for missing or
/// malformed files.
MilData load_mnist_bags(const DataConfig& data, uint64_t seed);

}  // namespace abmil
