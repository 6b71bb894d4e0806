// Early stopping: the rule on hand-written loss sequences (EarlyStopping),
// and in fit(): the restored epoch is the best monitored one,
// patience counts from it, and the warm-up (train.early_stopping.start_epoch)
// is never monitored.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "abmil/config/config.h"
#include "abmil/data/kinds.h"
#include "abmil/data/mnist_bags.h"
#include "abmil/train/early_stopping.h"
#include "abmil/train/trainer.h"
#include "test_util.h"

using namespace abmil;

namespace {

Config small_config(const std::filesystem::path& csv) {
  Config cfg;
  cfg.experiment.seed = 3;
  cfg.data.kind = "feature_bags";
  cfg.data.path = csv.string();
  cfg.data.test_fraction = 0.2;
  cfg.data.validation_fraction = 0.3;
  cfg.model.encoder = "mlp";
  cfg.model.hidden_dims = {16, 8};
  cfg.model.attention_dim = 8;
  cfg.model.pooling = "attention";
  cfg.train.optimizer.lr = 0.03;  // fast enough to overfit, so the validation loss turns
  cfg.runtime.threads = 1;
  return cfg;
}

/// Validation losses of a result's history by epoch (index 0 = epoch 1).
std::vector<double> validation_losses(const TrainResult& r) {
  std::vector<double> out;
  for (const auto& e : r.history)
    if (e.split == "validation") out.push_back(e.loss);
  return out;
}

}  // namespace

TEST(EarlyStopping, WarmUpIsNotMonitoredAndPatienceCountsFromTheBest) {
  abmil_test::TempDir tmp("early");
  abmil_test::write_synthetic_feature_csv(tmp.path / "bags.csv", 40);
  for (int64_t start : {0, 6}) {
    Config cfg = small_config(tmp.path / "bags.csv");
    cfg.train.epochs = 60;
    cfg.train.early_stopping.patience = 3;
    cfg.train.early_stopping.start_epoch = start;
    const MilData data = load_data(cfg.data, 3);
    torch::manual_seed(3);
    MilModel model(cfg.model, data.instance_shape);
    const TrainResult r = fit(model, data, cfg, torch::kCPU);
    const std::vector<double> val = validation_losses(r);
    ASSERT_EQ(static_cast<int64_t>(val.size()), r.epochs_run);
    // The best epoch is the argmin of the validation loss after the warm-up.
    int64_t argmin = 0;
    double best = std::numeric_limits<double>::infinity();
    for (int64_t e = start + 1; e <= r.epochs_run; ++e)
      if (val[e - 1] < best) {
        best = val[e - 1];
        argmin = e;
      }
    EXPECT_EQ(r.best_epoch, argmin) << "start_epoch " << start;
    EXPECT_GT(r.best_epoch, start);
    ASSERT_TRUE(r.stopped_early) << "start_epoch " << start << ": the loss never turned in 60 epochs";
    EXPECT_EQ(r.epochs_run, r.best_epoch + 3);
    // The restored weights are the best epoch's: their validation loss is the logged one.
    const BagPredictions p = predict(model, data.validation, 128, torch::kCPU);
    EXPECT_NEAR(p.loss, val[r.best_epoch - 1], 1e-6);
  }
}

TEST(EarlyStopping, RunEndingWithinTheWarmUpKeepsItsLastWeights) {
  abmil_test::TempDir tmp("early_warm");
  abmil_test::write_synthetic_feature_csv(tmp.path / "bags.csv", 40);
  Config cfg = small_config(tmp.path / "bags.csv");
  cfg.train.epochs = 4;
  cfg.train.early_stopping.patience = 1;
  cfg.train.early_stopping.start_epoch = 10;
  const MilData data = load_data(cfg.data, 3);
  torch::manual_seed(3);
  MilModel model(cfg.model, data.instance_shape);
  const TrainResult r = fit(model, data, cfg, torch::kCPU);
  EXPECT_EQ(r.epochs_run, 4);
  EXPECT_EQ(r.best_epoch, 4);
  EXPECT_FALSE(r.stopped_early);
  const BagPredictions p = predict(model, data.validation, 128, torch::kCPU);
  EXPECT_NEAR(p.loss, validation_losses(r).back(), 1e-6);
}

// ---- EarlyStopping on hand-written loss sequences --------------------------

namespace {

using V = EarlyStopping::Verdict;

/// The verdicts of `es` for losses[0] at epoch 1, losses[1] at epoch 2, ...
std::vector<V> observe_all(EarlyStopping& es, const std::vector<double>& losses) {
  std::vector<V> out;
  for (size_t i = 0; i < losses.size(); ++i) out.push_back(es.observe(static_cast<int64_t>(i) + 1, losses[i]));
  return out;
}

}  // namespace

TEST(EarlyStoppingRule, PatienceCountsMonitoredEpochsSinceTheBest) {
  EarlyStopping es(/*patience=*/2, /*min_delta=*/0, /*start_epoch=*/0);
  EXPECT_EQ(observe_all(es, {0.9, 0.5, 0.6, 0.4, 0.45, 0.41}),
            (std::vector<V>{V::improved, V::improved, V::no_improvement, V::improved, V::no_improvement, V::stop}));
  EXPECT_EQ(es.state().best_epoch, 4);
  EXPECT_DOUBLE_EQ(es.state().best_loss, 0.4);
  EXPECT_EQ(es.state().epochs_without_improvement, 2);
  EXPECT_TRUE(es.should_stop());
  EXPECT_EQ(es.kept_epoch(6), 4);
}

TEST(EarlyStoppingRule, ATieIsNoImprovementSoTheEarliestBestStays) {
  EarlyStopping es(3, 0, 0);
  EXPECT_EQ(observe_all(es, {0.5, 0.5, 0.5}), (std::vector<V>{V::improved, V::no_improvement, V::no_improvement}));
  EXPECT_EQ(es.state().best_epoch, 1);
  EXPECT_EQ(es.observe(4, 0.5), V::stop);
}

TEST(EarlyStoppingRule, MinDeltaIsTheImprovementThatCounts) {
  EarlyStopping es(0, 0.1, 0);
  EXPECT_EQ(observe_all(es, {1.0, 0.95, 0.89, 0.85}),
            (std::vector<V>{V::improved, V::no_improvement, V::improved, V::no_improvement}));
  EXPECT_EQ(es.state().best_epoch, 3);
  EXPECT_EQ(es.state().epochs_without_improvement, 0);  // patience 0: never counted, never stops
  EXPECT_FALSE(es.should_stop());
}

TEST(EarlyStoppingRule, WarmUpEpochsAreNeverBestNorCounted) {
  EarlyStopping es(1, 0, /*start_epoch=*/3);
  EXPECT_EQ(observe_all(es, {0.1, 0.2, 0.3, 0.9, 1.0}),
            (std::vector<V>{V::warm_up, V::warm_up, V::warm_up, V::improved, V::stop}));
  EXPECT_EQ(es.state().best_epoch, 4);
  EXPECT_DOUBLE_EQ(es.state().best_loss, 0.9);
}

TEST(EarlyStoppingRule, ARunEndingInItsWarmUpKeepsItsLastEpoch) {
  EarlyStopping es(5, 0, 10);
  observe_all(es, {0.3, 0.2, 0.1});
  EXPECT_EQ(es.state().best_epoch, 0);
  EXPECT_EQ(es.kept_epoch(3), 3);
}

TEST(EarlyStoppingRule, ARestoredStateGoesOnWhereItStopped) {
  EarlyStopping es(2, 0, 0, EarlyStoppingState{0.4, 7, 1});
  EXPECT_FALSE(es.should_stop());
  EXPECT_EQ(es.observe(9, 0.4), V::stop);  // second epoch without improvement since epoch 7
  EXPECT_TRUE(EarlyStopping(2, 0, 0, EarlyStoppingState{0.4, 7, 2}).should_stop());
  EXPECT_THROW(EarlyStopping(-1, 0, 0), std::invalid_argument);
}
