// The MNIST-bags generator: both protocols' labels and statistics, determinism,
// the validation hold-out, and packing bags into batches; the multi-class and
// multi-label bags of data.targets (exclusivity, balance, label sets, errors).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "abmil/config/config.h"
#include "abmil/data/bag.h"
#include "abmil/data/mnist_bags.h"
#include "test_util.h"

using namespace abmil;

namespace {

/// 10000 items, class i % 10: the target class is exactly 10% of the items.
std::vector<uint8_t> synthetic_labels() {
  std::vector<uint8_t> labels(10000);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<uint8_t>(i % 10);
  return labels;
}

std::vector<Bag> draw(BagProtocol protocol, int64_t count, double mean, double std, uint64_t seed) {
  std::mt19937_64 rng(seed);
  MnistBagsOptions o;
  o.target = 9;
  o.bag_size_mean = mean;
  o.bag_size_std = std;
  o.count = count;
  o.protocol = protocol;
  return generate_mnist_bags(synthetic_labels(), o, rng);
}

}  // namespace

TEST(MnistBags, BalancedAlternatesAndLabelsFollowInstances) {
  const auto labels = synthetic_labels();
  const auto bags = draw(BagProtocol::balanced, 400, 10, 2, 7);
  ASSERT_EQ(bags.size(), 400u);
  for (size_t i = 0; i < bags.size(); ++i) {
    const Bag& bag = bags[i];
    EXPECT_EQ(bag.id, static_cast<int64_t>(i));
    EXPECT_EQ(bag.label, i % 2 == 0 ? 1 : 0) << "bag " << i;
    ASSERT_GE(bag.size(), 1);
    int targets = 0;
    for (int64_t k = 0; k < bag.size(); ++k) {
      const int y = labels[bag.source_indices[k]] == 9;
      EXPECT_EQ(bag.instance_labels[k], y);
      targets += y;
    }
    EXPECT_EQ(targets > 0, bag.label == 1) << "bag " << i;
  }
}

TEST(MnistBags, BagSizeFollowsTheGaussian) {
  const auto bags = draw(BagProtocol::balanced, 4000, 10, 2, 11);
  double sum = 0, sq = 0;
  for (const Bag& b : bags) {
    sum += b.size();
    sq += static_cast<double>(b.size()) * b.size();
  }
  const double mean = sum / bags.size(), sd = std::sqrt(sq / bags.size() - mean * mean);
  // rounding N(10, 2) gives mean 10 and sd sqrt(4 + 1/12) = 2.02; 4000 draws: s.e. of the mean 0.03
  EXPECT_NEAR(mean, 10.0, 0.15);
  EXPECT_NEAR(sd, 2.02, 0.15);
  // std 0 means a fixed size; a tiny mean is clamped to 1
  for (const Bag& b : draw(BagProtocol::simple, 50, 7, 0, 1)) EXPECT_EQ(b.size(), 7);
  for (const Bag& b : draw(BagProtocol::simple, 50, 0.2, 0, 1)) EXPECT_EQ(b.size(), 1);
}

TEST(MnistBags, SimpleProtocolLabelRateIsOneMinusNinetyPercentToTheK) {
  const auto bags = draw(BagProtocol::simple, 4000, 10, 0, 5);
  const double positive = std::count_if(bags.begin(), bags.end(), [](const Bag& b) { return b.label == 1; });
  // P(bag holds a 9) = 1 - 0.9^10 = 0.6513; 4000 bags: s.e. 0.0075
  EXPECT_NEAR(positive / bags.size(), 1 - std::pow(0.9, 10), 0.03);
}

TEST(MnistBags, DeterministicFromTheSeed) {
  const auto a = draw(BagProtocol::balanced, 100, 10, 2, 42), b = draw(BagProtocol::balanced, 100, 10, 2, 42);
  const auto c = draw(BagProtocol::balanced, 100, 10, 2, 43);
  bool all_same = true, differs = false;
  for (size_t i = 0; i < a.size(); ++i) {
    all_same = all_same && a[i].source_indices == b[i].source_indices;
    differs = differs || a[i].source_indices != c[i].source_indices;
  }
  EXPECT_TRUE(all_same);
  EXPECT_TRUE(differs);
}

TEST(MnistBags, BalancedNeedsBothClasses) {
  std::mt19937_64 rng(1);
  MnistBagsOptions o;
  o.target = 3;  // absent
  const auto error = abmil_test::error_of<std::invalid_argument>;
  EXPECT_EQ(error([&] { generate_mnist_bags(std::vector<uint8_t>(10, 1), o, rng); }),
            "generate_mnist_bags: the balanced protocol needs items of class 3 and of other classes");
  o.target = 1;  // all of them
  EXPECT_EQ(error([&] { generate_mnist_bags(std::vector<uint8_t>(10, 1), o, rng); }),
            "generate_mnist_bags: the balanced protocol needs items of class 1 and of other classes");
  o.protocol = BagProtocol::simple;  // needs no negatives
  EXPECT_EQ(generate_mnist_bags(std::vector<uint8_t>(10, 1), o, rng).size(), static_cast<size_t>(o.count));
  EXPECT_EQ(error([] { parse_bag_protocol("unbalanced"); }), "unknown bag protocol 'unbalanced' (balanced | simple)");
}

TEST(BagBatch, PacksInstancesWithBagIndex) {
  std::vector<Bag> bags(3);
  bags[0].source_indices = {4};
  bags[1].source_indices = {0, 1, 2};
  bags[2].source_indices = {3, 3};
  for (int i = 0; i < 3; ++i) bags[i].label = i % 2;
  torch::Tensor rows = torch::arange(5, torch::kFloat).view({5, 1}) * 10;  // row r holds 10 r
  BagSplit split = make_split("t", bags, rows);
  EXPECT_EQ(split.offsets, (std::vector<int64_t>{0, 1, 4, 6}));
  BagBatch batch = make_batch(split, {2, 0});
  EXPECT_TRUE(torch::equal(batch.instances.view(-1), torch::tensor({30.f, 30.f, 40.f})));
  EXPECT_TRUE(torch::equal(batch.bag_index, torch::tensor({0, 0, 1}, torch::kLong)));
  EXPECT_TRUE(torch::equal(batch.labels, torch::tensor({0.f, 0.f})));
  EXPECT_THROW(make_batch(split, {3}), std::out_of_range);
  BagSplit sub = select_bags(split, {1}, "v");
  EXPECT_EQ(sub.num_instances(), 3);
  EXPECT_TRUE(torch::equal(sub.instances.view(-1), torch::tensor({0.f, 10.f, 20.f})));
}

// ---- data.targets: multi-class and multi-label bags ------------------------

namespace {

/// Bags over the targets 7, 8, 9 of synthetic_labels() (each digit 10% of the items).
std::vector<Bag> draw_classes(bool multi_label, int64_t count, double mean, double std, uint64_t seed,
                              std::vector<int> targets = {7, 8, 9}) {
  std::mt19937_64 rng(seed);
  MnistBagsOptions o;
  o.targets = std::move(targets);
  o.multi_label = multi_label;
  o.bag_size_mean = mean;
  o.bag_size_std = std;
  o.count = count;
  return generate_mnist_bags(synthetic_labels(), o, rng);
}

/// How many instances of digit `d` bag `bag` holds (digits of synthetic_labels()).
int count_digit(const Bag& bag, int d) {
  const auto labels = synthetic_labels();
  return static_cast<int>(
      std::count_if(bag.source_indices.begin(), bag.source_indices.end(), [&](int64_t s) { return labels[s] == d; }));
}

/// FNV-1a over every bag's size, label and source indices: a fingerprint of a draw.
uint64_t fingerprint(const std::vector<Bag>& bags) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](int64_t v) {
    for (int i = 0; i < 8; ++i) h = (h ^ static_cast<uint8_t>(v >> (8 * i))) * 1099511628211ull;
  };
  for (const Bag& b : bags) {
    mix(b.size());
    mix(b.label);
    for (int64_t s : b.source_indices) mix(s);
  }
  return h;
}

}  // namespace

TEST(MnistBagsClasses, MultiClassBagHoldsItsDigitAndNoOtherTarget) {
  const auto labels = synthetic_labels();
  const std::vector<int> targets = {7, 8, 9};
  const auto bags = draw_classes(false, 600, 10, 2, 3);
  ASSERT_EQ(bags.size(), 600u);
  std::vector<int> per_class(3, 0);
  for (size_t i = 0; i < bags.size(); ++i) {
    const Bag& bag = bags[i];
    ASSERT_GE(bag.label, 0);
    ASSERT_LT(bag.label, 3);
    EXPECT_EQ(bag.label, static_cast<int>(i % 3)) << "bag " << i;  // bag b is of class b % C
    EXPECT_TRUE(bag.targets.empty());
    per_class[bag.label] += 1;
    EXPECT_GE(count_digit(bag, targets[bag.label]), 1) << "bag " << i;
    for (int c = 0; c < 3; ++c) {
      if (c != bag.label) {
        EXPECT_EQ(count_digit(bag, targets[c]), 0) << "bag " << i << " holds a " << targets[c];
      }
    }
    ASSERT_EQ(bag.instance_labels.size(), bag.source_indices.size());
    for (int64_t k = 0; k < bag.size(); ++k)
      EXPECT_EQ(bag.instance_labels[k], labels[bag.source_indices[k]] == targets[bag.label] ? 1 : 0);
  }
  EXPECT_EQ(per_class, (std::vector<int>{200, 200, 200}));
  // A count that C does not divide: classes within one bag of each other, the first ones first.
  std::vector<int> seven(2, 0);
  for (const Bag& b : draw_classes(false, 7, 10, 2, 3, {4, 2})) seven[b.label] += 1;
  EXPECT_EQ(seven, (std::vector<int>{4, 3}));
}

TEST(MnistBagsClasses, MultiClassNonTargetsStayUniform) {
  // Fixed K = 10; a bag of class 7 draws from the eight digits 0..7 (8 and 9 rejected) and is
  // redrawn whole until it holds a 7: on average 10 * (1/8) / (1 - (7/8)^10) = 1.70 sevens, and
  // the seven non-target digits 0..6 share the rest evenly, (10 - 1.70) / 7 = 1.19 each.
  const auto bags = draw_classes(false, 3000, 10, 0, 8);
  double sevens = 0, fours = 0, fives = 0;
  int n7 = 0;
  for (const Bag& b : bags) {
    EXPECT_EQ(b.size(), 10);
    if (b.label != 0) continue;
    ++n7;
    sevens += count_digit(b, 7);
    fours += count_digit(b, 4);
    fives += count_digit(b, 5);
  }
  ASSERT_EQ(n7, 1000);
  // 1000 bags: standard errors about 0.03
  EXPECT_NEAR(sevens / n7, 10.0 / 8 / (1 - std::pow(7.0 / 8, 10)), 0.1);
  EXPECT_NEAR(fours / n7, (10 - 10.0 / 8 / (1 - std::pow(7.0 / 8, 10))) / 7, 0.1);
  EXPECT_NEAR(fives / n7, fours / n7, 0.15);
}

TEST(MnistBagsClasses, MultiLabelTargetsAreTheTargetDigitsPresent) {
  const auto labels = synthetic_labels();
  const std::vector<int> targets = {7, 8, 9};
  const auto bags = draw_classes(true, 4000, 10, 2, 5);
  std::vector<int> subsets(8, 0), present(3, 0);
  for (size_t i = 0; i < bags.size(); ++i) {
    const Bag& bag = bags[i];
    ASSERT_EQ(bag.targets.size(), 3u) << "bag " << i;
    int mask = 0;
    for (int c = 0; c < 3; ++c) {
      const bool holds = count_digit(bag, targets[c]) > 0;
      EXPECT_EQ(bag.targets[c], holds ? 1.0f : 0.0f) << "bag " << i << ", label " << targets[c];
      mask |= holds << c;
      present[c] += holds;
    }
    EXPECT_EQ(bag.label, mask != 0 ? 1 : 0) << "bag " << i;
    subsets[mask] += 1;
    for (int64_t k = 0; k < bag.size(); ++k) {
      const int d = labels[bag.source_indices[k]];
      EXPECT_EQ(bag.instance_labels[k], d == 7 || d == 8 || d == 9 ? 1 : 0);
    }
  }
  // each label present with probability 1/2 (s.e. 0.008), each of the 8 subsets 1/8 (s.e. 0.005)
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(present[c] / 4000.0, 0.5, 0.03) << "label " << targets[c];
  for (int m = 0; m < 8; ++m) EXPECT_NEAR(subsets[m] / 4000.0, 0.125, 0.02) << "subset mask " << m;
}

TEST(MnistBagsClasses, MultiLabelBagIsLongEnoughForItsLabels) {
  // K fixed at 1: a bag with labels S has max(1, |S|) instances, one of each label at least.
  const auto bags = draw_classes(true, 400, 1, 0, 9);
  bool saw_three = false;
  for (const Bag& b : bags) {
    const int n = static_cast<int>(std::count(b.targets.begin(), b.targets.end(), 1.0f));
    EXPECT_EQ(b.size(), std::max(1, n));
    saw_three = saw_three || n == 3;
    if (n == 0) {
      EXPECT_EQ(b.instance_labels, std::vector<int>{0});  // one non-target digit
    }
  }
  EXPECT_TRUE(saw_three);
}

TEST(MnistBagsClasses, DeterministicFromTheSeed) {
  for (bool multi_label : {false, true}) {
    const auto a = draw_classes(multi_label, 200, 10, 2, 42), b = draw_classes(multi_label, 200, 10, 2, 42);
    const auto c = draw_classes(multi_label, 200, 10, 2, 43);
    bool all_same = true, differs = false;
    for (size_t i = 0; i < a.size(); ++i) {
      all_same = all_same && a[i].source_indices == b[i].source_indices && a[i].targets == b[i].targets &&
                 a[i].label == b[i].label;
      differs = differs || a[i].source_indices != c[i].source_indices;
    }
    EXPECT_TRUE(all_same) << "multi_label " << multi_label;
    EXPECT_TRUE(differs) << "multi_label " << multi_label;
  }
}

TEST(MnistBagsClasses, BinaryBagsUnchanged) {
  // The binary draw (data.targets empty) is the one of the published runs: a multi_label flag
  // without targets changes nothing, and (libstdc++'s normal_distribution) the bags equal,
  // draw for draw, those of the generator before data.targets existed (the fingerprints below
  // were printed by af58734's mnist_bags.cpp compiled alone).
  std::mt19937_64 rng_a(42), rng_b(42);
  MnistBagsOptions o;
  o.count = 100;
  const auto a = generate_mnist_bags(synthetic_labels(), o, rng_a);
  o.multi_label = true;
  const auto b = generate_mnist_bags(synthetic_labels(), o, rng_b);
  EXPECT_EQ(fingerprint(a), fingerprint(b));
  for (const Bag& bag : b) EXPECT_TRUE(bag.targets.empty());
#ifdef __GLIBCXX__
  EXPECT_EQ(fingerprint(draw(BagProtocol::balanced, 100, 10, 2, 42)), 15090976267927609548ull);
  EXPECT_EQ(fingerprint(draw(BagProtocol::simple, 100, 10, 2, 42)), 4539435887435127717ull);
#endif
}

TEST(MnistBagsClasses, GeneratorErrors) {
  const auto error = abmil_test::error_of<std::invalid_argument>;
  EXPECT_EQ(error([] {
              draw_classes(false, 10, 10, 2, 1, {7, 8, 7});
            }),
            "generate_mnist_bags: target 7 is listed twice");
  EXPECT_EQ(error([] { draw_classes(false, 10, 10, 2, 1, {7}); }),
            "generate_mnist_bags: 1 target digit(s); classes need two or more");
  std::mt19937_64 rng(1);
  MnistBagsOptions o;
  o.targets = {1, 3};
  EXPECT_EQ(error([&] {
              generate_mnist_bags(std::vector<uint8_t>{1, 2, 2}, o, rng);
            }),
            "generate_mnist_bags: no item of class 3 (targets 1, 3)");
  o.multi_label = true;
  EXPECT_EQ(error([&] {
              generate_mnist_bags(std::vector<uint8_t>{1, 3, 3}, o, rng);
            }),
            "generate_mnist_bags: multi-label bags without a label need items of a class outside the targets 1, 3");
  o.multi_label = false;  // multi-class needs no other digit: bags of the class digit alone
  for (const Bag& b : generate_mnist_bags(std::vector<uint8_t>{1, 3, 3}, o, rng))
    EXPECT_EQ(b.instance_labels, std::vector<int>(b.size(), 1));
}

TEST(MnistBagsClasses, ConfigErrorsNameTheKey) {
  const auto error = [](std::vector<int64_t> targets, bool multi_label, std::string protocol) {
    DataConfig data;
    data.targets = std::move(targets);
    data.multi_label = multi_label;
    data.protocol = std::move(protocol);
    return abmil_test::error_of<std::invalid_argument>([&] { check_mnist_classes(data); });
  };
  EXPECT_EQ(error({7, 8, 7}, false, "balanced"),
            "data.targets: digit 7 is listed twice (the classes must be distinct digits)");
  EXPECT_EQ(error({3}, true, "balanced"),
            "data.targets: one digit (3) makes no classes; list two or more, or set data.target for the binary task");
  EXPECT_EQ(error({}, true, "balanced"),
            "data.multi_label: mnist_bags draws its labels from data.targets, which is empty (e.g. data.targets: "
            "[7, 8, 9])");
  EXPECT_EQ(error({7, 8}, false, "simple"),
            "data.protocol: simple draws bags regardless of data.targets; classes and labels need balanced");
  EXPECT_EQ(error({}, false, "simple"), "<nothing thrown>");
  EXPECT_EQ(error({7, 8}, true, "balanced"), "<nothing thrown>");
  // before any file is read: the root does not exist
  DataConfig data;
  data.root = "/nonexistent/mnist";
  data.targets = {5, 5};
  EXPECT_EQ(abmil_test::error_of<std::invalid_argument>([&] { load_mnist_bags(data, 1); }),
            "data.targets: digit 5 is listed twice (the classes must be distinct digits)");
}

TEST(MnistBagsClasses, StrataAreLabelsOrLabelSets) {
  std::vector<Bag> bags(4);
  bags[0].label = 1;
  bags[1].label = 2;
  bags[2].targets = {1, 0, 1};
  bags[2].label = 1;
  bags[3].targets = {0, 0, 0};
  for (Bag& b : bags) b.source_indices = {0};
  const BagSplit split = make_split("s", bags, torch::zeros({1, 1}));
  EXPECT_EQ(mnist_bag_strata(split), (std::vector<int>{1, 2, 5, 0}));
}

TEST(MnistBagsClasses, RealMnistClassesAndLabels) {
  const char* root = std::getenv("ABMIL_DATA");
  const std::filesystem::path dir = root ? std::filesystem::path(root) / "mnist" : std::filesystem::path();
  if (!root || !std::filesystem::exists(dir / "t10k-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "ABMIL_DATA not set or $ABMIL_DATA/mnist/t10k-labels-idx1-ubyte.gz missing: set ABMIL_DATA to "
                    "the data-set root to draw class bags from the real MNIST files";
  DataConfig data;
  data.kind = "mnist_bags";
  data.root = dir.string();
  data.targets = {7, 8, 9};
  data.bag_size_mean = 10;
  data.bag_size_std = 2;
  data.train_bags = 60;
  data.test_bags = 90;
  data.validation_fraction = 0.2;
  const MilData mc = load_mnist_bags(data, 1);
  EXPECT_EQ(mc.classes, (std::vector<std::string>{"7", "8", "9"}));
  EXPECT_FALSE(mc.multi_label);
  EXPECT_EQ(mc.num_outputs(), 3);
  EXPECT_EQ(mc.instance_shape, (std::vector<int64_t>{1, 28, 28}));
  EXPECT_EQ(mc.train.num_bags() + mc.validation.num_bags(), 60);
  EXPECT_EQ(mc.validation.num_bags(), 12);  // 20% of each class's 20 bags: 4 + 4 + 4
  std::vector<int> test_classes(3, 0), val_classes(3, 0);
  for (const Bag& b : mc.test.bags) test_classes.at(b.label) += 1;
  for (const Bag& b : mc.validation.bags) val_classes.at(b.label) += 1;
  EXPECT_EQ(test_classes, (std::vector<int>{30, 30, 30}));
  EXPECT_EQ(val_classes, (std::vector<int>{4, 4, 4}));
  for (const Bag& b : mc.test.bags) EXPECT_GE(std::count(b.instance_labels.begin(), b.instance_labels.end(), 1), 1);
  // the same seed, the same bags
  const MilData again = load_mnist_bags(data, 1);
  ASSERT_EQ(again.test.num_bags(), mc.test.num_bags());
  for (int64_t i = 0; i < mc.test.num_bags(); ++i)
    EXPECT_EQ(again.test.bags[i].source_indices, mc.test.bags[i].source_indices);
  EXPECT_TRUE(torch::equal(again.test.instances, mc.test.instances));

  data.multi_label = true;
  const MilData ml = load_mnist_bags(data, 1);
  EXPECT_TRUE(ml.multi_label);
  EXPECT_EQ(ml.classes, (std::vector<std::string>{"7", "8", "9"}));
  EXPECT_EQ(ml.num_outputs(), 3);
  for (const Bag& b : ml.test.bags) {
    ASSERT_EQ(b.targets.size(), 3u);
    const bool any = std::count(b.targets.begin(), b.targets.end(), 1.0f) > 0;
    EXPECT_EQ(b.label, any ? 1 : 0);
    EXPECT_EQ(std::count(b.instance_labels.begin(), b.instance_labels.end(), 1) > 0, any);
  }
  const BagBatch batch = make_batch(ml.test, {0, 1, 2});
  EXPECT_EQ(batch.labels.sizes(), (std::vector<int64_t>{3, 3}));

  data.targets.clear();  // binary: no classes
  data.multi_label = false;
  const MilData binary = load_mnist_bags(data, 1);
  EXPECT_TRUE(binary.classes.empty());
  EXPECT_EQ(binary.num_outputs(), 1);
}
