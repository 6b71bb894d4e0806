// The MNIST-bags generator: both protocols' labels and statistics, determinism,
// the validation hold-out, and packing bags into batches.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>

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
