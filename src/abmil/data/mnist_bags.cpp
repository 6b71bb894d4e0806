#include "abmil/data/mnist_bags.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <stdexcept>

#include "abmil/config/config.h"
#include "abmil/data/folds.h"
#include "abmil/data/idx_reader.h"
#include "abmil/data/splits.h"

namespace abmil {

BagProtocol parse_bag_protocol(const std::string& name) {
  if (name == "balanced") return BagProtocol::balanced;
  if (name == "simple") return BagProtocol::simple;
  throw std::invalid_argument("unknown bag protocol '" + name + "' (balanced | simple)");
}

namespace {

/// K ~ round(N(mean, std)), at least 1.
int64_t draw_bag_size(const MnistBagsOptions& o, std::mt19937_64& rng) {
  if (o.bag_size_std <= 0) return std::max<int64_t>(1, std::llround(o.bag_size_mean));
  std::normal_distribution<double> normal(o.bag_size_mean, o.bag_size_std);
  return std::max<int64_t>(1, std::llround(normal(rng)));
}

Bag make_bag(int64_t id, std::vector<int64_t> sources, const std::vector<uint8_t>& labels, int target) {
  Bag bag;
  bag.id = id;
  bag.instance_labels.reserve(sources.size());
  for (int64_t s : sources) bag.instance_labels.push_back(labels[s] == target ? 1 : 0);
  bag.label = std::any_of(bag.instance_labels.begin(), bag.instance_labels.end(), [](int y) { return y == 1; });
  bag.source_indices = std::move(sources);
  return bag;
}

}  // namespace

std::vector<Bag> generate_mnist_bags(const std::vector<uint8_t>& labels, const MnistBagsOptions& o,
                                     std::mt19937_64& rng) {
  if (labels.empty()) throw std::invalid_argument("generate_mnist_bags: no items to draw from");
  const auto n_target = std::count(labels.begin(), labels.end(), static_cast<uint8_t>(o.target));
  if (o.protocol == BagProtocol::balanced && (n_target == 0 || n_target == static_cast<long>(labels.size())))
    throw std::invalid_argument("generate_mnist_bags: the balanced protocol needs items of class " +
                                std::to_string(o.target) + " and of other classes");
  std::uniform_int_distribution<int64_t> uniform(0, static_cast<int64_t>(labels.size()) - 1);
  std::vector<Bag> bags;
  bags.reserve(o.count);
  for (int64_t id = 0; id < o.count; ++id) {
    const int64_t k = draw_bag_size(o, rng);
    std::vector<int64_t> sources;
    sources.reserve(k);
    if (o.protocol == BagProtocol::simple) {
      for (int64_t i = 0; i < k; ++i) sources.push_back(uniform(rng));
    } else if (id % 2 == 0) {  // positive: redraw the whole bag until it holds the target
      for (bool hit = false; !hit;) {
        sources.clear();
        for (int64_t i = 0; i < k; ++i) {
          sources.push_back(uniform(rng));
          hit = hit || labels[sources.back()] == o.target;
        }
      }
    } else {  // negative: reject target instances one by one
      while (static_cast<int64_t>(sources.size()) < k) {
        const int64_t s = uniform(rng);
        if (labels[s] != o.target) sources.push_back(s);
      }
    }
    bags.push_back(make_bag(id, std::move(sources), labels, o.target));
  }
  return bags;
}

namespace {

/// `root/stem.gz` if it exists, else `root/stem` (the reader names it if absent).
std::string idx_path(const std::string& root, const std::string& stem) {
  const std::filesystem::path gz = std::filesystem::path(root) / (stem + ".gz");
  return std::filesystem::exists(gz) ? gz.string() : (std::filesystem::path(root) / stem).string();
}

/// Draws the bags of one IDX split and turns its images into a BagSplit.
BagSplit load_split(const std::string& root, const std::string& prefix, const std::string& name,
                    const MnistBagsOptions& options, const DataConfig& data, std::mt19937_64& rng) {
  std::vector<uint8_t> labels;
  IdxImages images = read_idx_pair(idx_path(root, prefix + "-images-idx3-ubyte"),
                                   idx_path(root, prefix + "-labels-idx1-ubyte"), labels);
  std::vector<Bag> bags = generate_mnist_bags(labels, options, rng);
  torch::Tensor rows =
      torch::from_blob(images.pixels.data(), {images.count, 1, images.rows, images.cols}, torch::kUInt8);
  BagSplit split = make_split(name, std::move(bags), rows);  // copies only the drawn rows
  split.instances = split.instances.to(torch::kFloat).div_(255.0).sub_(data.pixel_mean).div_(data.pixel_std);
  return split;
}

}  // namespace

MilData load_mnist_bags(const DataConfig& data, uint64_t seed) {
  MnistBagsOptions options;
  options.target = static_cast<int>(data.target);
  options.bag_size_mean = data.bag_size_mean;
  options.bag_size_std = data.bag_size_std;
  options.protocol = parse_bag_protocol(data.protocol);

  // Independent streams for train bags, test bags and the validation hold-out.
  std::seed_seq train_seq{seed, uint64_t{1}}, test_seq{seed, uint64_t{2}}, holdout_seq{seed, uint64_t{3}};
  std::mt19937_64 train_rng(train_seq), test_rng(test_seq), holdout_rng(holdout_seq);

  MilData out;
  options.count = data.train_bags;
  BagSplit all_train = load_split(data.root, "train", "train", options, data, train_rng);
  options.count = data.test_bags;
  out.test = load_split(data.root, "t10k", "test", options, data, test_rng);

  std::vector<int64_t> positions(all_train.num_bags());
  std::iota(positions.begin(), positions.end(), 0);
  auto [kept, held] = stratified_split(positions, bag_labels(all_train), data.validation_fraction, holdout_rng());
  out.train = select_bags(all_train, kept, "train");
  out.validation = select_bags(all_train, held, "validation");
  out.instance_shape = {1, all_train.instances.size(2), all_train.instances.size(3)};

  auto positives = [](const BagSplit& s) {
    return std::count_if(s.bags.begin(), s.bags.end(), [](const Bag& b) { return b.label == 1; });
  };
  out.summary = "mnist_bags from " + data.root + ": target " + std::to_string(data.target) + ", " + data.protocol +
                ", train " + std::to_string(out.train.num_bags()) + " bags (" + std::to_string(positives(out.train)) +
                " positive, " + std::to_string(out.train.num_instances()) + " instances), validation " +
                std::to_string(out.validation.num_bags()) + ", test " + std::to_string(out.test.num_bags()) +
                " bags (" + std::to_string(positives(out.test)) + " positive, " +
                std::to_string(out.test.num_instances()) + " instances)";
  return out;
}

}  // namespace abmil
