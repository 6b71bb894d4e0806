// Pooling and segment operations: shapes, weights summing to 1, permutation
// invariance, the paper's formulas on hand-computed cases, and packed batches
// (B > 1) equal to one bag at a time.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "abmil/config/config.h"
#include "abmil/nn/mil_model.h"
#include "abmil/nn/pooling.h"
#include "abmil/nn/segment.h"
#include "test_util.h"

using namespace abmil;

namespace {

torch::Tensor idx(std::vector<int64_t> v) { return torch::tensor(v, torch::kLong); }

/// Sets a Linear layer's weight and bias.
void set_linear(torch::nn::Linear& l, std::vector<float> weight, std::vector<float> bias) {
  torch::NoGradGuard g;
  l->weight.copy_(torch::tensor(weight).view(l->weight.sizes()));
  l->bias.copy_(torch::tensor(bias).view(l->bias.sizes()));
}

/// Gated attention with M=2, L=1 and hand-set weights, so eq. 9 can be done on paper.
class HandGated : public GatedAttentionPoolingImpl {
 public:
  HandGated() : GatedAttentionPoolingImpl(GatedAttentionPoolingOptions(2).attention_dim(1)) {
    set_linear(V, {1, 0}, {0});  // V h = h_1
    set_linear(U, {0, 1}, {0});  // U h = h_2
    set_linear(w, {2}, {0});     // w = 2
  }
};

}  // namespace

TEST(Segment, SumMeanMaxOnHandCase) {
  // bags: {1, 2} and {3, 5, 4} (one feature), then two features.
  torch::Tensor x = torch::tensor({1.f, 2.f, 3.f, 5.f, 4.f});
  torch::Tensor b = idx({0, 0, 1, 1, 1});
  EXPECT_TRUE(torch::allclose(segment_sum(x, b, 2), torch::tensor({3.f, 12.f})));
  EXPECT_TRUE(torch::allclose(segment_mean(x, b, 2), torch::tensor({1.5f, 4.f})));
  EXPECT_TRUE(torch::allclose(segment_max(x, b, 2), torch::tensor({2.f, 5.f})));
  torch::Tensor x2 = torch::tensor({{1.f, -1.f}, {0.f, 7.f}, {-3.f, -2.f}});
  torch::Tensor b2 = idx({0, 0, 1});
  EXPECT_TRUE(torch::allclose(segment_max(x2, b2, 2), torch::tensor({{1.f, 7.f}, {-3.f, -2.f}})));
}

TEST(Segment, SoftmaxSumsToOnePerBagAndMatchesPlainSoftmax) {
  torch::Tensor logits = torch::tensor({0.5f, 1000.f, -2.f, 3.f, 999.f, 0.f});  // huge values: no overflow
  torch::Tensor b = idx({0, 0, 1, 1, 1, 2});
  torch::Tensor a = segment_softmax(logits, b, 3);
  EXPECT_TRUE(torch::isfinite(a).all().item<bool>());
  EXPECT_TRUE(torch::allclose(segment_sum(a, b, 3), torch::ones({3})));
  EXPECT_TRUE(torch::allclose(a.slice(0, 2, 5), torch::softmax(logits.slice(0, 2, 5), 0)));
  EXPECT_FLOAT_EQ(a[5].item<float>(), 1.0f);  // a bag of one instance gets weight 1
}

TEST(Segment, MaxGradientGoesToArgmax) {
  torch::Tensor x = torch::tensor({1.f, 4.f, 2.f, 9.f}, torch::requires_grad());
  segment_max(x, idx({0, 0, 1, 1}), 2).sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), torch::tensor({0.f, 1.f, 0.f, 1.f})));
}

TEST(Pooling, GatedAttentionMatchesEquation9ByHand) {
  HandGated pool;
  torch::Tensor H = torch::tensor({{0.f, 0.f}, {1.f, 2.f}});
  PoolingOutput out = pool.forward(H, idx({0, 0}), 1);
  // s_1 = 2 tanh(0) sigm(0) = 0;  s_2 = 2 tanh(1) sigm(2) = 1.3416198143
  const double s2 = 2 * std::tanh(1.0) / (1 + std::exp(-2.0));
  const double a2 = 1 / (1 + std::exp(-s2));  // softmax([0, s2])[1] = 0.7927561931
  EXPECT_NEAR(out.attention_logits[0].item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(out.attention_logits[1].item<double>(), 1.3416198143, 1e-6);
  EXPECT_NEAR(out.attention[1].item<double>(), 0.7927561931, 1e-6);
  EXPECT_NEAR(out.attention[1].item<double>(), a2, 1e-6);
  // z = a_1 h_1 + a_2 h_2 = a_2 (1, 2)
  EXPECT_TRUE(torch::allclose(out.z, torch::tensor({{0.7927561931f, 1.5855123862f}}), 1e-5, 1e-6));
  EXPECT_EQ(out.z.sizes(), (std::vector<int64_t>{1, 2}));
}

TEST(Pooling, AttentionWithoutGateIsEquation8) {
  AttentionPooling pool(AttentionPoolingOptions(3).attention_dim(4));
  torch::manual_seed(0);
  torch::Tensor H = torch::randn({5, 3});
  PoolingOutput out = pool->forward(H, torch::zeros({5}, torch::kLong), 1);
  auto params = pool->named_parameters();
  torch::Tensor s =
      torch::matmul(torch::tanh(torch::matmul(H, params["V.weight"].t()) + params["V.bias"]), params["w.weight"].t())
          .squeeze(1) +
      params["w.bias"];
  EXPECT_TRUE(torch::allclose(out.attention_logits, s, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(out.attention, torch::softmax(s, 0), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(out.z, torch::matmul(torch::softmax(s, 0).unsqueeze(0), H), 1e-5, 1e-6));
}

TEST(Pooling, AttentionDropoutDropsWeightsOnlyInTraining) {
  // H = identity rows, so z_m = c_m a_m with c_m in {0, 1 / (1 - p)} per instance.
  GatedAttentionPooling pool(GatedAttentionPoolingOptions(6).attention_dim(4).dropout(0.5));
  torch::manual_seed(1);
  const torch::Tensor H = torch::eye(6);
  const torch::Tensor bag = torch::zeros({6}, torch::kLong);
  pool->train();
  const PoolingOutput tr = pool->forward(H, bag, 1);
  EXPECT_NEAR(tr.attention.sum().item<double>(), 1.0, 1e-6);  // the recorded weights stay the softmax
  const torch::Tensor c = tr.z[0] / tr.attention;
  EXPECT_TRUE(torch::all(c.eq(0) | (c - 2).abs().lt(1e-5)).item<bool>()) << c;
  EXPECT_GT(c.eq(0).sum().item<int64_t>(), 0);  // seed 1 drops some of the 6
  EXPECT_LT(c.eq(0).sum().item<int64_t>(), 6);
  pool->eval();
  const PoolingOutput ev = pool->forward(H, bag, 1);
  EXPECT_TRUE(torch::allclose(ev.z[0], ev.attention));
}

TEST(Pooling, ShapesAndPermutationInvariance) {
  torch::manual_seed(1);
  const int64_t M = 6;
  torch::Tensor H = torch::randn({7, M});
  torch::Tensor b = torch::zeros({7}, torch::kLong);
  torch::Tensor perm = torch::randperm(7);
  for (const std::string name : {"mean", "max", "attention", "gated_attention"}) {
    auto pool = make_pooling(name, M, 5);
    PoolingOutput a = pool->forward(H, b, 1);
    PoolingOutput p = pool->forward(H.index_select(0, perm), b, 1);
    EXPECT_EQ(a.z.sizes(), (std::vector<int64_t>{1, M})) << name;
    EXPECT_TRUE(torch::allclose(a.z, p.z, 1e-5, 1e-6)) << name << " is not permutation invariant";
    if (a.attention.defined()) {
      EXPECT_EQ(a.attention.sizes(), (std::vector<int64_t>{7}));
      EXPECT_NEAR(a.attention.sum().item<double>(), 1.0, 1e-6) << name;
      EXPECT_TRUE(torch::allclose(a.attention.index_select(0, perm), p.attention, 1e-5, 1e-7)) << name;
    }
  }
}

TEST(Pooling, InstanceLevelPoolingOfScores) {
  // bag 0: s = {0, ln 3}  -> sigm = {1/2, 3/4}; bag 1: s = {-ln 3} -> 1/4
  torch::Tensor s = torch::tensor({0.f, std::log(3.f), -std::log(3.f)});
  torch::Tensor b = idx({0, 0, 1});
  torch::Tensor mx = torch::sigmoid(pool_instance_logits(s, b, 2, "instance_max"));
  EXPECT_NEAR(mx[0].item<double>(), 0.75, 1e-6);
  EXPECT_NEAR(mx[1].item<double>(), 0.25, 1e-6);
  torch::Tensor mean = torch::sigmoid(pool_instance_logits(s, b, 2, "instance_mean"));
  EXPECT_NEAR(mean[0].item<double>(), 0.625, 1e-6);  // (1/2 + 3/4) / 2
  EXPECT_NEAR(mean[1].item<double>(), 0.25, 1e-6);
  // stable for extreme scores: P = (1 + 0)/2 -> logit 0, no NaN
  torch::Tensor extreme = pool_instance_logits(torch::tensor({200.f, -200.f}), idx({0, 0}), 1, "instance_mean");
  EXPECT_NEAR(extreme[0].item<double>(), 0.0, 1e-4);
  EXPECT_EQ(abmil_test::error_of<std::invalid_argument>([&] { pool_instance_logits(s, b, 2, "median"); }),
            "pool_instance_logits: unknown mode 'median'");
}

namespace {

const std::vector<int64_t> kDigitShape = {1, 28, 28};

ModelConfig small_model(const std::string& pooling) {
  ModelConfig m;
  m.pooling = pooling;
  m.embedding_dim = 16;
  m.attention_dim = 8;
  return m;
}

}  // namespace

// A batch of bags of very unequal sizes (1, 2, 9) gives each bag what it gets alone.
TEST(MilModel, PackedBatchEqualsOneBagAtATime) {
  for (const std::string pooling : {"gated_attention", "attention", "mean", "max", "instance_max", "instance_mean"}) {
    torch::manual_seed(3);
    MilModel model(small_model(pooling), kDigitShape);
    model->eval();
    torch::NoGradGuard g;
    torch::Tensor x = torch::randn({12, 1, 28, 28});
    torch::Tensor b = idx({0, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2});
    MilOutput packed = model->forward(x, b, 3);
    const std::vector<std::pair<int64_t, int64_t>> ranges = {{0, 1}, {1, 3}, {3, 12}};
    for (int64_t bag = 0; bag < 3; ++bag) {
      auto [begin, end] = ranges[bag];
      MilOutput alone = model->forward(x.slice(0, begin, end), torch::zeros({end - begin}, torch::kLong), 1);
      EXPECT_NEAR(packed.bag_logits[bag].item<double>(), alone.bag_logits[0].item<double>(), 1e-5) << pooling;
      if (alone.attention.defined()) {
        EXPECT_TRUE(torch::allclose(packed.attention.slice(0, begin, end), alone.attention, 1e-5, 1e-6)) << pooling;
      }
    }
  }
}

TEST(MilModel, RejectsUnknownNames) {
  const auto error = abmil_test::error_of<std::invalid_argument>;
  ModelConfig m = small_model("median");
  EXPECT_EQ(error([&] { MilModel(m, kDigitShape); }), "make_pooling: unknown embedding-level pooling 'median'");
  m = small_model("mean");
  m.encoder = "resnet";
  EXPECT_EQ(error([&] { MilModel(m, kDigitShape); }), "unknown model.encoder 'resnet'");
  m = small_model("mean");
  m.classifier = "svm";
  EXPECT_EQ(error([&] { MilModel(m, kDigitShape); }), "unknown model.classifier 'svm'");
}

// CLAM-MB: two branches with hand-set weights; each column is eq. 9 with its
// own w_c, softmax per branch within each bag, z_c = sum_k a_kc h_k.
TEST(Pooling, BranchesAreOneSoftmaxPerColumnAndOneEmbeddingPerBranch) {
  GatedAttentionPooling pool(GatedAttentionPoolingOptions(2).attention_dim(1).branches(2));
  {
    torch::NoGradGuard g;
    pool->named_parameters()["V.weight"].copy_(torch::tensor({{1.f, 0.f}}));  // V h = h_1
    pool->named_parameters()["V.bias"].zero_();
    pool->named_parameters()["U.weight"].copy_(torch::tensor({{0.f, 1.f}}));  // U h = h_2
    pool->named_parameters()["U.bias"].zero_();
    pool->named_parameters()["w.weight"].copy_(torch::tensor({{2.f}, {-2.f}}));  // w_0 = 2, w_1 = -2
    pool->named_parameters()["w.bias"].zero_();
  }
  // Bag 0: the hand case of eq. 9 (instances (0,0), (1,2)); bag 1: one instance.
  torch::Tensor H = torch::tensor({{0.f, 0.f}, {1.f, 2.f}, {3.f, -1.f}});
  PoolingOutput out = pool->forward(H, idx({0, 0, 1}), 2);
  ASSERT_EQ(out.attention.sizes(), (std::vector<int64_t>{3, 2}));
  ASSERT_EQ(out.z.sizes(), (std::vector<int64_t>{2, 2, 2}));
  // branch 0 = the single-branch hand case: a_2 = 0.7927561931; branch 1 has
  // the negated score, a_2 = 1 - 0.7927561931
  EXPECT_NEAR(out.attention[1][0].item<double>(), 0.7927561931, 1e-6);
  EXPECT_NEAR(out.attention[1][1].item<double>(), 1 - 0.7927561931, 1e-6);
  EXPECT_NEAR(out.attention_logits[1][1].item<double>(), -1.3416198143, 1e-6);
  EXPECT_NEAR(out.attention[2][0].item<double>(), 1.0, 1e-6);  // one instance: weight 1 in each branch
  EXPECT_NEAR(out.attention[2][1].item<double>(), 1.0, 1e-6);
  EXPECT_TRUE(torch::allclose(out.z[0][0], torch::tensor({0.7927561931f, 1.5855123862f}), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(out.z[0][1], torch::tensor({0.2072438069f, 0.4144876138f}), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(out.z[1][1], torch::tensor({3.f, -1.f}), 1e-6, 1e-6));
  EXPECT_EQ(abmil_test::error_of<std::invalid_argument>([] { make_pooling("mean", 4, 2, 0.0, 3); }),
            "model.attention_branches per_class needs an attention pooling (gated_attention, attention), not 'mean'");
}

// model.attention_branches per_class: C classifiers on C bag embeddings;
// the model's attention is the predicted class's branch; binary data gets
// two branches and the logit logit_1 - logit_0.
TEST(MilModel, PerClassBranchesPickThePredictedClassesBranch) {
  ModelConfig m = small_model("gated_attention");
  m.encoder = "mlp";
  m.hidden_dims = {6};
  m.attention_branches = "per_class";
  torch::manual_seed(5);
  torch::Tensor x = torch::randn({7, 4});
  torch::Tensor b = idx({0, 0, 0, 1, 1, 2, 2});
  for (int64_t outputs : {1, 3}) {
    torch::manual_seed(2);
    MilModel model(m, std::vector<int64_t>{4}, 0, outputs);
    model->eval();
    torch::NoGradGuard g;
    const int64_t C = outputs == 1 ? 2 : 3;
    EXPECT_EQ(model->branches, C);
    MilOutput out = model->forward(x, b, 3);
    ASSERT_EQ(out.branch_attention.sizes(), (std::vector<int64_t>{7, C}));
    // Recompute the logits by hand from the pooling's embeddings.
    PoolingOutput p = model->pooling->forward(model->encoder->encode(x).H, b, 3);
    torch::Tensor logits = torch::zeros({3, C});
    for (int64_t bag = 0; bag < 3; ++bag)
      for (int64_t c = 0; c < C; ++c)
        logits[bag][c] = (p.z[bag][c] * model->branch_weight[c]).sum() + model->branch_bias[c];
    const torch::Tensor expected = outputs == 1 ? logits.select(1, 1) - logits.select(1, 0) : logits;
    EXPECT_TRUE(torch::allclose(out.bag_logits, expected, 1e-5, 1e-6)) << outputs;
    for (int64_t k = 0; k < 7; ++k) {
      const int64_t bag = b[k].item<int64_t>();
      const int64_t predicted =
          outputs == 1 ? (expected[bag].item<double>() > 0 ? 1 : 0) : expected[bag].argmax().item<int64_t>();
      EXPECT_FLOAT_EQ(out.attention[k].item<float>(), out.branch_attention[k][predicted].item<float>());
    }
  }
  m.pooling = "mean";
  EXPECT_EQ(abmil_test::error_of<std::invalid_argument>([&] { MilModel(m, std::vector<int64_t>{4}, 0, 3); }),
            "model.attention_branches per_class needs an attention pooling (gated_attention, attention), not 'mean'");
}

// model.instance_loss ce (CLAM's instance clustering) on hand-set embeddings,
// weights and classifiers: bag of class 1, k = 1.
TEST(MilModel, InstanceClusteringLossOnAHandComputedBag) {
  ModelConfig m = small_model("gated_attention");
  m.encoder = "mlp";
  m.hidden_dims = {2};
  m.instance_loss = "ce";
  m.instance_k = 1;
  MilModel model(m, std::vector<int64_t>{3}, 0, 1);  // binary: K = 2 instance classifiers
  ASSERT_EQ(model->instance_weight.sizes(), (std::vector<int64_t>{2, 2, 2}));
  {
    torch::NoGradGuard g;
    model->instance_weight.zero_();
    model->instance_bias.zero_();
    model->instance_weight[1].copy_(torch::eye(2));  // classifier 1: logits = h
  }
  MilOutput out;
  out.embeddings = torch::tensor({{1.f, 0.f}, {0.f, 1.f}, {1.f, 1.f}, {2.f, 0.f}});
  out.attention = torch::tensor({0.1f, 0.4f, 0.3f, 0.2f});
  const torch::Tensor bag = idx({0, 0, 0, 0});
  // Most attended h_1 = (0, 1) as class 1 and least attended h_0 = (1, 0) as
  // class 0: each cross-entropy is log(1 + e^-1).
  const double in_class = std::log1p(std::exp(-1.0));
  EXPECT_NEAR(model->instance_clustering_loss(out, bag, torch::tensor({1.f})).item<double>(), in_class, 1e-6);
  // Out of class: classifier 0 (all zeros) takes h_1 as class 0: log 2; the mean over the 2 classifiers.
  model->instance_out_of_class = true;
  EXPECT_NEAR(model->instance_clustering_loss(out, bag, torch::tensor({1.f})).item<double>(),
              (in_class + std::log(2.0)) / 2, 1e-6);
  // Two bags: the mean of their losses; the second (class 0, 1 instance) uses classifier 0 on h twice: log 2.
  model->instance_out_of_class = false;
  out.embeddings = torch::cat({out.embeddings, torch::tensor({{5.f, 5.f}})});
  out.attention = torch::cat({out.attention, torch::tensor({1.f})});
  EXPECT_NEAR(model->instance_clustering_loss(out, idx({0, 0, 0, 0, 1}), torch::tensor({1.f, 0.f})).item<double>(),
              (in_class + std::log(2.0)) / 2, 1e-6);
  EXPECT_THROW(model->instance_clustering_loss(out, idx({0, 0, 0, 0, 1}), torch::tensor({1.f, 2.f})),
               std::invalid_argument);
  m.pooling = "mean";
  EXPECT_EQ(abmil_test::error_of<std::invalid_argument>([&] { MilModel(m, std::vector<int64_t>{3}, 0, 1); }),
            "model.instance_loss ce ranks instances by attention: it needs an attention pooling (gated_attention, "
            "attention, multihead_gated_attention), not 'mean'");
}
