// Early stopping in fit(): the restored epoch is the best monitored one,
// patience counts from it, and the warm-up (train.early_stopping.start_epoch)
// is never monitored.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "abmil/config/config.h"
#include "abmil/data/feature_bags.h"
#include "abmil/data/mnist_bags.h"
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
