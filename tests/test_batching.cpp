// Many bags per step: the packed computation against the paper's per-bag
// computation (values and gradients), the mean-over-bags loss, and chunked,
// deduplicated evaluation.
#include <gtest/gtest.h>

#include <cmath>
#include <torch/torch.h>

#include "abmil/config/config.h"
#include "abmil/data/bag.h"
#include "abmil/nn/mil_model.h"
#include "abmil/train/trainer.h"

using namespace abmil;

namespace {

const std::vector<int64_t> kDigitShape = {1, 28, 28};

MilModel small_gated_model(uint64_t seed, const std::string& pooling = "gated_attention") {
  ModelConfig m;
  m.pooling = pooling;
  m.embedding_dim = 32;
  m.attention_dim = 16;
  torch::manual_seed(seed);
  return MilModel(m, kDigitShape);
}

/// The reference code's forward for one bag, written out with plain ops:
/// A = softmax_k(w^T(tanh(V h_k) * sigm(U h_k))), z = A H, logit = fc(z).
std::pair<torch::Tensor, torch::Tensor> per_bag_gated(MilModel& model, const torch::Tensor& x) {
  auto p = model->named_parameters();
  torch::Tensor H = model->encoder->forward(x);
  torch::Tensor gate = torch::tanh(torch::matmul(H, p["pooling.V.weight"].t()) + p["pooling.V.bias"]) *
                       torch::sigmoid(torch::matmul(H, p["pooling.U.weight"].t()) + p["pooling.U.bias"]);
  torch::Tensor A = torch::softmax((torch::matmul(gate, p["pooling.w.weight"].t()) + p["pooling.w.bias"]).t(), 1);
  torch::Tensor z = torch::matmul(A, H);
  torch::Tensor logit = torch::matmul(z, p["classifier.weight"].t()).squeeze() + p["classifier.bias"].squeeze();
  return {logit, A.squeeze(0)};
}

std::vector<torch::Tensor> grads(MilModel& model) {
  std::vector<torch::Tensor> g;
  for (auto& p : model->parameters()) g.push_back(p.grad().clone());
  return g;
}

/// A split of `sizes.size()` bags over random "images"; bag b repeats source 0 once
/// when `share` is set, so bags share instances.
BagSplit random_split(const std::vector<int64_t>& sizes, bool share) {
  torch::manual_seed(5);
  torch::Tensor rows = torch::randn({200, 1, 28, 28});
  std::vector<Bag> bags;
  int64_t next = 1;
  for (size_t b = 0; b < sizes.size(); ++b) {
    Bag bag;
    bag.id = static_cast<int64_t>(b);
    bag.label = static_cast<int>(b % 2);
    for (int64_t k = 0; k < sizes[b]; ++k) bag.source_indices.push_back(share && k == 0 ? 0 : next++);
    bag.instance_labels.assign(sizes[b], 0);
    bags.push_back(bag);
  }
  return make_split("test", bags, rows);
}

}  // namespace

TEST(Batching, OneBagEqualsThePerBagComputationInValuesAndGradients) {
  MilModel model = small_gated_model(11);
  torch::Tensor x = torch::randn({9, 1, 28, 28});
  torch::Tensor y = torch::ones({1});

  MilOutput out = model->forward(x, torch::zeros({9}, torch::kLong), 1);
  torch::binary_cross_entropy_with_logits(out.bag_logits, y).backward();
  const auto g_packed = grads(model);
  model->zero_grad();

  auto [logit, A] = per_bag_gated(model, x);
  torch::binary_cross_entropy_with_logits(logit.view({1}), y).backward();
  const auto g_ref = grads(model);

  EXPECT_NEAR(out.bag_logits.item<double>(), logit.item<double>(), 1e-6);
  EXPECT_TRUE(torch::allclose(out.attention, A, 0, 1e-6));
  ASSERT_EQ(g_packed.size(), g_ref.size());
  for (size_t i = 0; i < g_ref.size(); ++i)
    EXPECT_TRUE(torch::allclose(g_packed[i], g_ref[i], 1e-5, 1e-6)) << "parameter " << i;
}

// The loss of a batch is the mean over its bags, so its gradient is the mean
// of the bags' gradients (bags of sizes 1, 4 and 13 in one batch).
TEST(Batching, BatchGradientIsTheMeanOfPerBagGradients) {
  for (const std::string pooling : {"gated_attention", "max", "instance_mean"}) {
    MilModel model = small_gated_model(12, pooling);
    torch::Tensor x = torch::randn({18, 1, 28, 28});
    std::vector<int64_t> idx = {0};
    idx.insert(idx.end(), 4, 1);
    idx.insert(idx.end(), 13, 2);
    torch::Tensor labels = torch::tensor({1.f, 0.f, 1.f});
    MilOutput out = model->forward(x, torch::tensor(idx, torch::kLong), 3);
    torch::binary_cross_entropy_with_logits(out.bag_logits, labels).backward();
    const auto g_batch = grads(model);

    std::vector<torch::Tensor> g_mean;
    const std::vector<std::pair<int64_t, int64_t>> ranges = {{0, 1}, {1, 5}, {5, 18}};
    for (int b = 0; b < 3; ++b) {
      model->zero_grad();
      auto [begin, end] = ranges[b];
      MilOutput o = model->forward(x.slice(0, begin, end), torch::zeros({end - begin}, torch::kLong), 1);
      torch::binary_cross_entropy_with_logits(o.bag_logits, labels.slice(0, b, b + 1)).backward();
      auto g = grads(model);
      for (size_t i = 0; i < g.size(); ++i) {
        if (b == 0)
          g_mean.push_back(g[i] / 3);
        else
          g_mean[i] += g[i] / 3;
      }
    }
    for (size_t i = 0; i < g_mean.size(); ++i)
      EXPECT_TRUE(torch::allclose(g_batch[i], g_mean[i], 1e-4, 1e-6)) << pooling << " parameter " << i;
  }
}

// A bag larger than the pass bound is encoded in chunks and pooled exactly;
// encoding a repeated instance once changes nothing.
TEST(Batching, ChunkedAndDeduplicatedEvaluationIsExact) {
  BagSplit split = random_split({1, 40, 3, 7, 2}, /*share=*/true);
  MilModel model = small_gated_model(13);
  BagPredictions whole = predict(model, split, 4096, torch::kCPU, /*deduplicate=*/false);
  BagPredictions chunked = predict(model, split, 3, torch::kCPU, /*deduplicate=*/true);
  ASSERT_EQ(whole.probabilities.size(), 5u);
  for (size_t b = 0; b < 5; ++b) EXPECT_NEAR(whole.probabilities[b], chunked.probabilities[b], 1e-6) << b;
  EXPECT_TRUE(torch::allclose(whole.attention, chunked.attention, 1e-5, 1e-7));
  EXPECT_NEAR(whole.loss, chunked.loss, 1e-6);

  // ... and equals each bag on its own (eval mode)
  torch::NoGradGuard g;
  model->eval();
  BagBatch one = make_batch(split, {1});
  MilOutput alone = model->forward(one.instances, one.bag_index, 1);
  EXPECT_NEAR(torch::sigmoid(alone.bag_logits).item<double>(), chunked.probabilities[1], 1e-6);
  EXPECT_TRUE(torch::allclose(alone.attention, chunked.attention.slice(0, 1, 41), 1e-5, 1e-7));
  EXPECT_NEAR(chunked.attention.slice(0, 1, 41).sum().item<double>(), 1.0, 1e-6);
}

TEST(InstanceAuc, PooledAndWithinEachBagOnAHandComputedSplit) {
  // Bag 0 (positive): weights .4 .4 .1 .1, instance labels 1 1 0 0 -> AUC 1 within it.
  // Bag 1 (positive): weights .4 .6, labels 1 0 -> AUC 0 within it.
  // Bag 2 (negative): not scored. Pooled over bags 0 and 1: positives .4 .4 .4,
  // negatives .1 .1 .6: each positive beats two of three -> 6/9.
  std::vector<Bag> bags(3);
  const std::vector<std::vector<int>> labels = {{1, 1, 0, 0}, {1, 0}, {0, 0}};
  int64_t next = 0;
  for (int b = 0; b < 3; ++b) {
    bags[b].id = b;
    bags[b].label = b < 2 ? 1 : 0;
    bags[b].instance_labels = labels[b];
    for (size_t k = 0; k < labels[b].size(); ++k) bags[b].source_indices.push_back(next++);
  }
  const BagSplit split = make_split("test", bags, torch::zeros({next, 3}));
  const torch::Tensor w = torch::tensor({.4, .4, .1, .1, .4, .6, .5, .5}, torch::kDouble);
  EXPECT_NEAR(instance_auc(split, w), 6.0 / 9.0, 1e-12);
  EXPECT_NEAR(instance_auc_per_bag(split, w), 0.5, 1e-12);
  // A positive bag whose instances are all positive has no AUC of its own and is left out.
  Bag all_positive = bags[0];
  all_positive.instance_labels = {1, 1, 1, 1};
  const BagSplit split2 = make_split("test", {all_positive, bags[1]}, torch::zeros({next, 3}));
  EXPECT_NEAR(instance_auc_per_bag(split2, torch::tensor({.4, .4, .1, .1, .4, .6}, torch::kDouble)), 0.0, 1e-12);
  EXPECT_TRUE(std::isnan(instance_auc_per_bag(split2, torch::Tensor())));
}
