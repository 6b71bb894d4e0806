// The poolings of README "Poolings" against an independent dense PyTorch
// computation (tests/data/poolings/make_reference.py, float64), packed
// batches against one bag at a time, and gradients against finite
// differences.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "abmil/config/config.h"
#include "abmil/nn/mil_model.h"
#include "abmil/nn/pooling.h"
#include "abmil/nn/transformer_pooling.h"
#include "test_util.h"

using namespace abmil;

namespace {

torch::Tensor from_json(const nlohmann::json& j) {
  const std::vector<double> data = j.at("data").get<std::vector<double>>();
  const std::vector<int64_t> shape = j.at("shape").get<std::vector<int64_t>>();
  return torch::tensor(data, torch::kDouble).view(shape).clone();
}

nlohmann::json reference() {
  std::ifstream in(std::string(ABMIL_SOURCE_DIR) + "/tests/data/poolings/reference.json");
  return nlohmann::json::parse(in);
}

PoolingSpec spec_of(const nlohmann::json& c, int64_t M) {
  PoolingSpec spec;
  spec.name = c.at("pooling").get<std::string>();
  spec.embedding_dim = M;
  const nlohmann::json& s = c.at("spec");
  if (s.contains("lse_r")) spec.lse_r = s["lse_r"].get<double>();
  if (s.contains("pool_k")) spec.pool_k = s["pool_k"].get<int64_t>();
  if (s.contains("heads")) spec.heads = s["heads"].get<int64_t>();
  if (s.contains("attention_dim")) spec.attention_dim = s["attention_dim"].get<int64_t>();
  if (s.contains("merge")) spec.merge = s["merge"].get<std::string>();
  if (s.contains("seeds")) spec.seeds = s["seeds"].get<int64_t>();
  if (s.contains("layers")) spec.layers = s["layers"].get<int64_t>();
  if (s.contains("classes")) spec.classes = s["classes"].get<int64_t>();
  return spec;
}

/// Copies the case's parameters into `pool` by name; every parameter of
/// the module must be given, and every given one must exist, shape for shape.
void load_parameters(MilPoolingImpl& pool, const nlohmann::json& params) {
  torch::NoGradGuard no_grad;
  size_t used = 0;
  for (auto& p : pool.named_parameters()) {
    ASSERT_TRUE(params.contains(p.key())) << "the reference lacks " << p.key();
    const torch::Tensor v = from_json(params[p.key()]);
    ASSERT_EQ(v.sizes(), p.value().sizes()) << p.key();
    p.value().copy_(v);
    ++used;
  }
  EXPECT_EQ(used, params.size()) << "the reference has parameters the module does not";
}

void expect_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what << " undefined";
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  EXPECT_TRUE(torch::allclose(got.to(torch::kDouble), want, 1e-9, 1e-10))
      << what << ": max |diff| " << (got.to(torch::kDouble) - want).abs().max().item<double>();
}

/// A pooling of each kind the registry knows beyond the paper's, with small sizes.
std::vector<PoolingSpec> new_poolings(int64_t M) {
  std::vector<PoolingSpec> out;
  auto add = [&](const std::string& name, auto&& set) {
    PoolingSpec s;
    s.name = name;
    s.embedding_dim = M;
    s.attention_dim = 4;
    s.heads = 2;
    set(s);
    out.push_back(s);
  };
  add("lse", [](PoolingSpec& s) { s.lse_r = 3.0; });
  add("topk_mean", [](PoolingSpec& s) { s.pool_k = 2; });
  add("multihead_gated_attention", [](PoolingSpec& s) { s.heads = 3; });
  add("multihead_gated_attention", [](PoolingSpec& s) { s.merge = "mean"; });
  add("pma", [](PoolingSpec& s) { s.seeds = 3; });
  add("pma", [](PoolingSpec& s) { s.merge = "mean"; });
  add("transformer", [](PoolingSpec& s) { s.layers = 2; });
  add("transformer", [](PoolingSpec& s) { s.layers = 1; });
  add("dsmil", [](PoolingSpec& s) { s.classes = 1; });
  add("dsmil", [](PoolingSpec& s) { s.classes = 3; });
  return out;
}

std::string label(const PoolingSpec& s) {
  return s.name + " heads " + std::to_string(s.heads) + " merge " + s.merge + " seeds " + std::to_string(s.seeds) +
         " layers " + std::to_string(s.layers) + " classes " + std::to_string(s.classes);
}

}  // namespace

// Each pooling equals the dense per-bag PyTorch computation (torch.nn.MultiheadAttention,
// torch.nn.TransformerEncoderLayer, ...) on the same weights, in float64.
TEST(PoolingReference, EqualsPyTorchOnTheSameWeights) {
  const nlohmann::json ref = reference();
  const int64_t M = ref.at("M").get<int64_t>();
  const torch::Tensor H = from_json(ref.at("H"));
  const torch::Tensor bag_index = torch::tensor(ref.at("bag_index").get<std::vector<int64_t>>(), torch::kLong);
  const int64_t B = bag_index.max().item<int64_t>() + 1;
  ASSERT_EQ(ref.at("cases").size(), 9u);
  for (const nlohmann::json& c : ref.at("cases")) {
    const PoolingSpec spec = spec_of(c, M);
    SCOPED_TRACE(label(spec));
    auto pool = make_pooling(spec);
    pool->to(torch::kDouble);
    load_parameters(*pool, c.at("params"));
    pool->eval();
    torch::NoGradGuard no_grad;
    const PoolingOutput out = pool->forward(H, bag_index, B);
    expect_close(out.z, from_json(c.at("z")), "z");
    EXPECT_EQ(pool->output_dim(M), out.z.size(1));
    if (c.contains("attention")) expect_close(out.attention, from_json(c["attention"]), "attention");
    if (c.contains("head_attention"))
      expect_close(out.head_attention, from_json(c["head_attention"]), "head_attention");
    if (c.contains("instance_logits"))
      expect_close(out.instance_logits, from_json(c["instance_logits"]), "instance_logits");
  }
}

// Bags of sizes 1, 6 and 3, their instances interleaved in one batch, give
// each bag exactly what it gets alone: no padding, no attention across bags.
TEST(PoolingReference, PackedInterleavedBagsEqualOneBagAtATime) {
  const int64_t M = 6;
  const std::vector<int64_t> index = {1, 2, 1, 0, 1, 2, 1, 1, 2, 1};
  const torch::Tensor bag_index = torch::tensor(index, torch::kLong);
  for (const PoolingSpec& spec : new_poolings(M)) {
    SCOPED_TRACE(label(spec));
    torch::manual_seed(11);
    auto pool = make_pooling(spec);
    pool->to(torch::kDouble);
    pool->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor H = torch::randn({static_cast<int64_t>(index.size()), M}, torch::kDouble);
    const PoolingOutput packed = pool->forward(H, bag_index, 3);
    for (int64_t b = 0; b < 3; ++b) {
      const torch::Tensor rows = (bag_index == b).nonzero().squeeze(1);
      const PoolingOutput alone = pool->forward(H.index_select(0, rows), torch::zeros({rows.size(0)}, torch::kLong), 1);
      expect_close(packed.z[b], alone.z[0], "z of bag " + std::to_string(b));
      if (alone.attention.defined())
        expect_close(packed.attention.index_select(0, rows), alone.attention, "attention of bag " + std::to_string(b));
      if (alone.head_attention.defined())
        expect_close(packed.head_attention.index_select(0, rows), alone.head_attention,
                     "heads of bag " + std::to_string(b));
      if (alone.instance_logits.defined())
        expect_close(packed.instance_logits.index_select(0, rows), alone.instance_logits, "scores");
    }
    if (packed.attention.defined()) {  // each bag's weights sum to 1 (per column)
      const torch::Tensor sums =
          torch::zeros({3}, torch::kDouble)
              .index_add(0, bag_index, packed.attention.dim() == 1 ? packed.attention : packed.attention.select(1, 0));
      expect_close(sums, torch::ones({3}, torch::kDouble), "attention sums");
    }
  }
}

// Backward equals central finite differences in float64, for the instance
// embeddings and every parameter, on a batch of two small bags.
TEST(PoolingReference, GradientsMatchFiniteDifferences) {
  const int64_t M = 4;
  const torch::Tensor bag_index = torch::tensor(std::vector<int64_t>{0, 1, 0, 1, 1}, torch::kLong);
  for (const PoolingSpec& spec : new_poolings(M)) {
    SCOPED_TRACE(label(spec));
    torch::manual_seed(5);
    auto pool = make_pooling(spec);
    pool->to(torch::kDouble);
    pool->train();  // no dropout configured: train mode computes the same function
    torch::Tensor H = torch::randn({5, M}, torch::kDouble).requires_grad_(true);
    const torch::Tensor R = torch::randn({2, pool->output_dim(M)}, torch::kDouble);
    auto objective = [&]() {
      const PoolingOutput out = pool->forward(H, bag_index, 2);
      torch::Tensor f = (out.z * R).sum();
      if (out.attention.defined()) f = f + (out.attention * out.attention).sum();
      return f;
    };
    std::vector<torch::Tensor> inputs = {H};
    for (auto& p : pool->parameters()) inputs.push_back(p);
    const auto grads = torch::autograd::grad({objective()}, inputs, {}, false, false, /*allow_unused=*/true);
    torch::NoGradGuard no_grad;
    const double eps = 1e-6;
    for (size_t i = 0; i < inputs.size(); ++i) {
      torch::Tensor flat = inputs[i].view({-1});
      const torch::Tensor g = grads[i].defined() ? grads[i].reshape({-1}) : torch::zeros_like(flat);
      for (int64_t j = 0; j < flat.size(0); ++j) {
        const double keep = flat[j].item<double>();
        flat[j] = keep + eps;
        const double up = objective().item<double>();
        flat[j] = keep - eps;
        const double down = objective().item<double>();
        flat[j] = keep;
        EXPECT_NEAR(g[j].item<double>(), (up - down) / (2 * eps), 1e-6) << "input " << i << " entry " << j;
      }
    }
  }
}

// The one-line errors of bad pooling settings.
TEST(PoolingReference, BadSettingsGiveOneLineErrors) {
  const auto error = abmil_test::error_of<std::invalid_argument>;
  PoolingSpec s;
  s.embedding_dim = 10;
  s.heads = 4;
  s.name = "pma";
  EXPECT_EQ(error([&] { make_pooling(s); }),
            "model.heads 4 does not divide the embedding size M = 10 (pma splits M across its heads)");
  s.name = "transformer";
  EXPECT_EQ(error([&] { make_pooling(s); }),
            "model.heads 4 does not divide the embedding size M = 10 (transformer splits M across its heads)");
  s.heads = 2;
  s.layers = 0;
  EXPECT_EQ(error([&] { make_pooling(s); }), "model.layers must be >= 1, got 0");
  s.name = "topk_mean";
  s.pool_k = 0;
  EXPECT_EQ(error([&] { make_pooling(s); }), "model.pool_k must be >= 1, got 0");
  s.name = "pma";
  s.seeds = 0;
  EXPECT_EQ(error([&] { make_pooling(s); }), "model.seeds must be >= 1, got 0");
  s.name = "lse";
  s.lse_r = 0;
  EXPECT_EQ(error([&] { make_pooling(s); }), "model.lse_r must be a finite number > 0, got 0");
  s.name = "median";
  EXPECT_EQ(error([&] { make_pooling(s); }), "make_pooling: unknown embedding-level pooling 'median'");
  s.name = "pma";
  s.seeds = 1;
  s.branches = 2;
  EXPECT_EQ(error([&] { make_pooling(s); }),
            "model.attention_branches per_class needs an attention pooling (gated_attention, attention), not 'pma'");
}

// The transformer refuses a bag over its memory limit, naming the way out;
// one layer (the CLS row only) has no limit.
TEST(PoolingReference, TransformerLimitFollowsTheMemoryBudget) {
  // 24 h (n + 1)^2 (layers - 1) bytes <= budget: h 4, 2 layers, 4 GiB -> n + 1 <= 6688
  EXPECT_EQ(transformer_max_instances(4, 2, 4096), 6687);
  EXPECT_EQ(transformer_max_instances(8, 3, 4096), 3343);
  EXPECT_EQ(transformer_max_instances(4, 1, 1), std::numeric_limits<int64_t>::max());
  PoolingSpec s;
  s.name = "transformer";
  s.embedding_dim = 4;
  s.heads = 2;
  s.memory_mib = 4801.0 / (1024.0 * 1024.0);  // 24 h (n + 1)^2 = 4800 bytes: room for n + 1 = 10
  auto pool = make_pooling(s);
  torch::NoGradGuard no_grad;
  EXPECT_NO_THROW(pool->forward(torch::randn({9, 4}), torch::zeros({9}, torch::kLong), 1));
  EXPECT_EQ(
      abmil_test::error_of<std::invalid_argument>([&] {
        pool->forward(torch::randn({10, 4}), torch::zeros({10}, torch::kLong), 1);
      }),
      "model.pooling transformer: a bag of 10 instances is over its limit of 9 (exact self-attention with "
      "model.heads 2 and model.layers 2 in model.transformer_memory_mib 0.004578590393066406); use model.layers 1, "
      "raise model.transformer_memory_mib, or a pooling without the K^2 term (gated_attention, pma, dsmil)");
}

// dsmil through the model: binary data gives one attention column and the
// instance scores; the max-instance logits are each bag's top score.
TEST(PoolingReference, DsmilModelExposesScoresAndMaxInstanceLogits) {
  ModelConfig m;
  m.encoder = "mlp";
  m.hidden_dims = {6};
  m.pooling = "dsmil";
  m.attention_dim = 4;
  torch::manual_seed(2);
  MilModel model(m, std::vector<int64_t>{5}, 0, 1);
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor bag_index = torch::tensor(std::vector<int64_t>{0, 0, 1, 1, 1}, torch::kLong);
  const MilOutput out = model->forward(torch::randn({5, 5}), bag_index, 2);
  ASSERT_TRUE(out.instance_logits.defined());
  EXPECT_EQ(out.instance_logits.sizes(), torch::IntArrayRef({5}));
  EXPECT_NEAR(out.max_instance_logits[0].item<double>(), out.instance_logits.slice(0, 0, 2).max().item<double>(), 0);
  EXPECT_NEAR(out.max_instance_logits[1].item<double>(), out.instance_logits.slice(0, 2, 5).max().item<double>(), 0);
  EXPECT_EQ(out.attention.sizes(), torch::IntArrayRef({5}));
  EXPECT_EQ(out.bag_embedding.sizes(), torch::IntArrayRef({2, 6}));

  MilModel three(m, std::vector<int64_t>{5}, 0, 3);  // 3 classes: one attention per class, the predicted one shown
  three->eval();
  const MilOutput o3 = three->forward(torch::randn({5, 5}), bag_index, 2);
  ASSERT_TRUE(o3.branch_attention.defined());
  EXPECT_EQ(o3.branch_attention.sizes(), torch::IntArrayRef({5, 3}));
  EXPECT_EQ(o3.bag_embedding.sizes(), torch::IntArrayRef({2, 18}));
  const torch::Tensor predicted = o3.bag_logits.argmax(1);
  for (int64_t k = 0; k < 5; ++k)
    EXPECT_EQ(o3.attention[k].item<double>(),
              o3.branch_attention[k][predicted[bag_index[k].item<int64_t>()].item<int64_t>()].item<double>());
}

// model.normalize_embedding: the classifier sees scale z / ||z||, the scale
// starts at sqrt(D), and bag_embedding stays the raw z.
TEST(PoolingReference, NormalizedEmbeddingFeedsTheClassifier) {
  ModelConfig m;
  m.encoder = "mlp";
  m.hidden_dims = {6};
  m.pooling = "mean";
  m.normalize_embedding = true;
  torch::manual_seed(4);
  MilModel model(m, std::vector<int64_t>{5}, 0, 1);
  model->eval();
  torch::NoGradGuard no_grad;
  ASSERT_TRUE(model->embedding_scale.defined());
  EXPECT_NEAR(model->embedding_scale.item<double>(), std::sqrt(6.0), 1e-6);
  const torch::Tensor bag_index = torch::tensor(std::vector<int64_t>{0, 0, 1}, torch::kLong);
  const MilOutput out = model->forward(torch::randn({3, 5}), bag_index, 2);
  const torch::Tensor z = out.bag_embedding;
  const torch::Tensor want = model->classifier->forward(z / z.norm(2, 1, true) * std::sqrt(6.0)).squeeze(1);
  EXPECT_TRUE(torch::allclose(out.bag_logits, want, 1e-5, 1e-6));
  m.pooling = "instance_max";
  EXPECT_EQ(
      abmil_test::error_of<std::invalid_argument>([&] { MilModel(m, std::vector<int64_t>{5}, 0, 1); }),
      "model.normalize_embedding needs an embedding-level pooling, not 'instance_max' (it pools instance scores)");
}

// The registry builds every pooling it names, each reports its name and
// the size of z it returns on a packed batch.
TEST(PoolingReference, RegistryBuildsEveryNamedPooling) {
  ASSERT_EQ(pooling_names().size(), 10u);
  const torch::Tensor bag_index = torch::tensor(std::vector<int64_t>{0, 0, 1}, torch::kLong);
  for (const std::string& name : pooling_names()) {
    PoolingSpec s;
    s.name = name;
    s.embedding_dim = 8;
    s.heads = 2;
    auto pool = make_pooling(s);
    EXPECT_EQ(pool->name(), name);
    torch::NoGradGuard no_grad;
    pool->eval();
    const PoolingOutput out = pool->forward(torch::randn({3, 8}), bag_index, 2);
    EXPECT_EQ(out.z.sizes(), torch::IntArrayRef({2, pool->output_dim(8)})) << name;
  }
}
