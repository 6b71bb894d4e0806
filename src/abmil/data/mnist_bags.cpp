#include "abmil/data/mnist_bags.h"

#include <algorithm>
#include <bitset>
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

/// The digits of `targets` as "7, 8, 9".
std::string digit_list(const std::vector<int>& targets) {
  std::string out;
  for (int t : targets) out += (out.empty() ? "" : ", ") + std::to_string(t);
  return out;
}

/// The bags over C = o.targets.size() classes or labels (generate_mnist_bags,
/// multi-class and multi-label).
std::vector<Bag> generate_class_bags(const std::vector<uint8_t>& labels, const MnistBagsOptions& o,
                                     std::mt19937_64& rng) {
  const int C = static_cast<int>(o.targets.size());
  if (C < 2)
    throw std::invalid_argument("generate_mnist_bags: " + std::to_string(C) +
                                " target digit(s); classes need two or more");
  if (C > 31) throw std::invalid_argument("generate_mnist_bags: " + std::to_string(C) + " targets, at most 31");
  // class_of[d]: index of digit d among the targets, -1 for another digit.
  std::vector<int> class_of(256, -1);
  for (int c = 0; c < C; ++c) {
    const int t = o.targets[c];
    if (t < 0 || t > 255)
      throw std::invalid_argument("generate_mnist_bags: target " + std::to_string(t) + " is no class");
    if (class_of[t] >= 0)
      throw std::invalid_argument("generate_mnist_bags: target " + std::to_string(t) + " is listed twice");
    class_of[t] = c;
  }
  std::vector<int64_t> items_of(C, 0);
  int64_t others = 0;
  for (uint8_t y : labels) (class_of[y] >= 0 ? items_of[class_of[y]] : others) += 1;
  for (int c = 0; c < C; ++c)
    if (items_of[c] == 0)
      throw std::invalid_argument("generate_mnist_bags: no item of class " + std::to_string(o.targets[c]) +
                                  " (targets " + digit_list(o.targets) + ")");
  if (o.multi_label && others == 0)
    throw std::invalid_argument(
        "generate_mnist_bags: multi-label bags without a label need items of a class "
        "outside the targets " +
        digit_list(o.targets));

  std::uniform_int_distribution<int64_t> uniform(0, static_cast<int64_t>(labels.size()) - 1);
  std::vector<Bag> bags;
  bags.reserve(o.count);
  for (int64_t id = 0; id < o.count; ++id) {
    // The bag's label set as a bit mask over the targets.
    uint32_t wanted = 0;
    if (o.multi_label) {
      for (int c = 0; c < C; ++c) wanted |= static_cast<uint32_t>(rng() >> 63) << c;
    } else {
      wanted = 1u << (id % C);
    }
    const int64_t k = std::max<int64_t>(draw_bag_size(o, rng), static_cast<int64_t>(std::bitset<32>(wanted).count()));
    std::vector<int64_t> sources;
    sources.reserve(k);
    for (uint32_t held = ~wanted; held != wanted;) {  // redraw whole until it holds every wanted digit
      sources.clear();
      held = 0;
      while (static_cast<int64_t>(sources.size()) < k) {
        const int64_t s = uniform(rng);
        const int c = class_of[labels[s]];
        if (c >= 0 && !(wanted >> c & 1u)) continue;  // another target: rejected
        sources.push_back(s);
        if (c >= 0) held |= 1u << c;
      }
    }
    Bag bag;
    bag.id = id;
    bag.instance_labels.reserve(sources.size());
    for (int64_t s : sources) bag.instance_labels.push_back(class_of[labels[s]] >= 0 ? 1 : 0);
    if (o.multi_label) {
      bag.targets.assign(static_cast<size_t>(C), 0.0f);
      for (int c = 0; c < C; ++c) bag.targets[c] = (wanted >> c & 1u) ? 1.0f : 0.0f;
      bag.label = wanted != 0 ? 1 : 0;
    } else {
      bag.label = static_cast<int>(id % C);
    }
    bag.source_indices = std::move(sources);
    bags.push_back(std::move(bag));
  }
  return bags;
}

}  // namespace

std::vector<Bag> generate_mnist_bags(const std::vector<uint8_t>& labels, const MnistBagsOptions& o,
                                     std::mt19937_64& rng) {
  if (labels.empty()) throw std::invalid_argument("generate_mnist_bags: no items to draw from");
  if (!o.targets.empty()) return generate_class_bags(labels, o, rng);
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

void check_mnist_classes(const DataConfig& data) {
  const std::vector<int64_t>& targets = data.targets;
  for (size_t i = 0; i < targets.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (targets[i] == targets[j])
        throw std::invalid_argument("data.targets: digit " + std::to_string(targets[i]) +
                                    " is listed twice (the classes must be distinct digits)");
  if (targets.size() == 1)
    throw std::invalid_argument("data.targets: one digit (" + std::to_string(targets[0]) +
                                ") makes no classes; list two or more, or set data.target for the binary task");
  if (data.multi_label && targets.empty())
    throw std::invalid_argument(
        "data.multi_label: mnist_bags draws its labels from data.targets, which is empty (e.g. data.targets: [7, 8, "
        "9])");
  if (!targets.empty() && data.protocol != "balanced")
    throw std::invalid_argument("data.protocol: " + data.protocol +
                                " draws bags regardless of data.targets; classes and labels need balanced");
}

std::vector<int> mnist_bag_strata(const BagSplit& split) {
  std::vector<int> strata;
  strata.reserve(split.bags.size());
  for (const Bag& bag : split.bags) {
    if (bag.targets.empty()) {
      strata.push_back(bag.label);
      continue;
    }
    int mask = 0;
    for (size_t c = 0; c < bag.targets.size() && c < 31; ++c)
      if (bag.targets[c] > 0.5f) mask |= 1 << c;
    strata.push_back(mask);
  }
  return strata;
}

namespace {

/// Bags of `split` per class index (multi-class) or per label (multi-label),
/// as "n_0/n_1/.../n_{C-1}".
std::string class_counts(const BagSplit& split, size_t classes, bool multi_label) {
  std::vector<int64_t> n(classes, 0);
  for (const Bag& bag : split.bags) {
    if (multi_label) {
      for (size_t c = 0; c < classes && c < bag.targets.size(); ++c) n[c] += bag.targets[c] > 0.5f;
    } else if (bag.label >= 0 && static_cast<size_t>(bag.label) < classes) {
      n[bag.label] += 1;
    }
  }
  std::string out;
  for (int64_t v : n) out += (out.empty() ? "" : "/") + std::to_string(v);
  return out;
}

}  // namespace

MilData load_mnist_bags(const DataConfig& data, uint64_t seed) {
  check_mnist_classes(data);
  MnistBagsOptions options;
  options.target = static_cast<int>(data.target);
  for (int64_t t : data.targets) options.targets.push_back(static_cast<int>(t));
  options.multi_label = data.multi_label;
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
  auto [kept, held] = stratified_split(positions, mnist_bag_strata(all_train), data.validation_fraction, holdout_rng());
  out.train = select_bags(all_train, kept, "train");
  out.validation = select_bags(all_train, held, "validation");
  out.instance_shape = {1, all_train.instances.size(2), all_train.instances.size(3)};
  for (int t : options.targets) out.classes.push_back(std::to_string(t));
  out.multi_label = options.multi_label;

  if (!options.targets.empty()) {
    const size_t C = options.targets.size();
    const char* per = options.multi_label ? " bags holding each label" : " bags per class";
    auto split_line = [&](const BagSplit& s) {
      return std::to_string(s.num_bags()) + " bags (" + class_counts(s, C, options.multi_label) + per + ", " +
             std::to_string(s.num_instances()) + " instances)";
    };
    out.summary = "mnist_bags from " + data.root + ": " + (options.multi_label ? "labels " : "classes ") +
                  digit_list(options.targets) + (options.multi_label ? " (any subset a bag)" : " (one a bag)") +
                  ", train " + split_line(out.train) + ", validation " + std::to_string(out.validation.num_bags()) +
                  ", test " + split_line(out.test);
    return out;
  }
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
