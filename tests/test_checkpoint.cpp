// Checkpoints: the file format (round trip, truncation and corruption found by
// the checksum), the run directory's newest-good record with fall-back to an
// older checkpoint, resume giving exactly the uninterrupted result, and a
// diverging run stopped with a clear error.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "abmil/config/config.h"
#include "abmil/data/kinds.h"
#include "abmil/data/mnist_bags.h"
#include "abmil/train/checkpoint.h"
#include "abmil/train/trainer.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace abmil;
using abmil_test::error_of;
using abmil_test::TempDir;

namespace {

TrainState sample_state(int64_t epoch) {
  TrainState s;
  s.epoch = epoch;
  s.best_loss = 0.25 + epoch;
  s.best_epoch = epoch - 1;
  s.epochs_without_improvement = 1;
  s.train_seconds = 12.5;
  EpochLog train{epoch, "train", 0.5, {}, 0.125};
  train.metrics.accuracy = 0.75;
  train.metrics.auc = std::nan("");  // one class only: must survive as NaN
  train.metrics.counts = {3, 1, 4, 2};
  EpochLog val{epoch, "validation", 0.625, {}, 0.0625};
  val.metrics.f1 = 1.0 / 3.0;
  s.history = {train, val};
  std::mt19937_64 rng(7);
  rng.discard(5);
  std::ostringstream text;
  text << rng;
  s.order_rng = text.str();
  s.torch_rng = torch::arange(16, torch::kUInt8);
  s.weights = {torch::randn({3, 2}), torch::randn({4})};
  s.best_weights = {torch::randn({3, 2}), torch::randn({4})};
  s.exp_avg = {torch::randn({3, 2})};
  s.exp_avg_sq = {torch::rand({3, 2})};
  s.adam_steps = 40 * epoch;
  return s;
}

void expect_same_tensors(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "tensor " << i;
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

const auto write_feature_csv = abmil_test::write_synthetic_feature_csv;

Config feature_config(const fs::path& csv) {
  Config cfg;
  cfg.experiment.seed = 5;
  cfg.data.kind = "feature_bags";
  cfg.data.path = csv.string();
  cfg.data.test_fraction = 0.2;
  cfg.data.validation_fraction = 0.2;
  cfg.model.encoder = "mlp";
  cfg.model.hidden_dims = {16, 8};
  cfg.model.dropout = 0.3;  // draws from LibTorch's generator: resume must restore it
  cfg.model.attention_dim = 8;
  cfg.model.pooling = "gated_attention";
  cfg.train.epochs = 12;
  cfg.train.bags_per_step = 3;
  cfg.train.checkpoint_every = 1;
  cfg.train.early_stopping.patience = 4;
  cfg.train.optimizer.lr = 0.01;
  return cfg;
}

std::vector<torch::Tensor> weights_of(MilModel& model) {
  std::vector<torch::Tensor> w;
  for (const auto& p : model->parameters()) w.push_back(p.detach().clone());
  return w;
}

}  // namespace

TEST(Checkpoint, RoundTripKeepsEveryField) {
  const TrainState s = sample_state(3);
  const TrainState r = decode_checkpoint(encode_checkpoint(s), "c.ckpt");
  EXPECT_EQ(r.epoch, 3);
  EXPECT_EQ(r.best_loss, 3.25);
  EXPECT_EQ(r.best_epoch, 2);
  EXPECT_EQ(r.epochs_without_improvement, 1);
  EXPECT_EQ(r.train_seconds, 12.5);
  EXPECT_EQ(r.adam_steps, 120);
  EXPECT_EQ(r.order_rng, s.order_rng);
  EXPECT_TRUE(torch::equal(r.torch_rng, s.torch_rng));
  ASSERT_EQ(r.history.size(), 2u);
  EXPECT_EQ(r.history[0].split, "train");
  EXPECT_EQ(r.history[1].split, "validation");
  EXPECT_EQ(r.history[0].metrics.accuracy, 0.75);
  EXPECT_TRUE(std::isnan(r.history[0].metrics.auc));
  EXPECT_EQ(r.history[0].metrics.counts.fn, 2);
  EXPECT_EQ(r.history[1].metrics.f1, 1.0 / 3.0);  // bit-exact doubles
  EXPECT_EQ(r.history[1].seconds, 0.0625);
  expect_same_tensors(r.weights, s.weights);
  expect_same_tensors(r.best_weights, s.best_weights);
  expect_same_tensors(r.exp_avg, s.exp_avg);
  expect_same_tensors(r.exp_avg_sq, s.exp_avg_sq);
}

TEST(Checkpoint, TruncationAndCorruptionAreDetected) {
  const std::string bytes = encode_checkpoint(sample_state(1));
  const std::string payload = std::to_string(bytes.size() - 24);
  EXPECT_EQ(error_of<CheckpointError>([&] { decode_checkpoint(bytes.substr(0, 10), "c.ckpt"); }),
            "c.ckpt: truncated (10 bytes, header needs 24)");
  EXPECT_EQ(error_of<CheckpointError>([&] { decode_checkpoint(bytes.substr(0, bytes.size() - 7), "c.ckpt"); }),
            "c.ckpt: truncated (" + std::to_string(bytes.size() - 31) + " of " + payload + " payload bytes)");
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  EXPECT_EQ(error_of<CheckpointError>([&] { decode_checkpoint(flipped, "c.ckpt"); }),
            "c.ckpt: checksum mismatch (corrupted)");
  std::string magic = bytes;
  magic[0] = 'X';
  EXPECT_EQ(error_of<CheckpointError>([&] { decode_checkpoint(magic, "c.ckpt"); }),
            "c.ckpt: not an abmil checkpoint (bad magic)");
}

TEST(Checkpoint, RunDirKeepsNewestAndFallsBackToAnOlderGoodOne) {
  TempDir tmp("ckpt_dir");
  for (int64_t e = 1; e <= 4; ++e) write_checkpoint(tmp.path, sample_state(e), 2);
  const fs::path dir = tmp.path / "checkpoints";
  EXPECT_FALSE(fs::exists(dir / "epoch_000002.ckpt"));
  EXPECT_TRUE(fs::exists(dir / "epoch_000003.ckpt"));
  EXPECT_EQ(abmil_test::read_text(dir / "latest"), "epoch_000004.ckpt\n");
  std::ostringstream log;
  EXPECT_EQ(load_latest_checkpoint(tmp.path, log)->epoch, 4);
  EXPECT_EQ(log.str(), "");

  // One flipped byte in the newest: the older one is used, and the rejection is reported.
  std::string newest = abmil_test::read_text(dir / "epoch_000004.ckpt");
  newest[newest.size() - 100] ^= 1;
  write_bytes(dir / "epoch_000004.ckpt", newest);
  std::optional<TrainState> s = load_latest_checkpoint(tmp.path, log);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->epoch, 3);
  EXPECT_EQ(log.str(), (dir / "epoch_000004.ckpt").string() + ": checksum mismatch (corrupted); trying an older one\n");

  const std::string older = abmil_test::read_text(dir / "epoch_000003.ckpt");
  write_bytes(dir / "epoch_000003.ckpt", older.substr(0, older.size() / 2));
  std::ostringstream log2;
  EXPECT_FALSE(load_latest_checkpoint(tmp.path, log2));
  EXPECT_NE(log2.str().find("epoch_000003.ckpt: truncated"), std::string::npos) << log2.str();
}

// Stopping after any epoch and going on from its checkpoint (through the
// file format) ends with the very weights and log of the uninterrupted run:
// dropout, bag order, Adam and early stopping all continue where they were.
TEST(Checkpoint, ResumeEqualsUninterruptedRun) {
  TempDir tmp("ckpt_resume");
  write_feature_csv(tmp.path / "bags.csv", 60);
  const Config cfg = feature_config(tmp.path / "bags.csv");
  const MilData data = load_data(cfg.data, 5);

  torch::manual_seed(5);
  MilModel model(cfg.model, data.instance_shape);
  std::vector<std::string> checkpoints;
  FitOptions options;
  options.on_checkpoint = [&](const TrainState& s) { checkpoints.push_back(encode_checkpoint(s)); };
  const TrainResult full = fit(model, data, cfg, torch::kCPU, options);
  const std::vector<torch::Tensor> final_weights = weights_of(model);
  ASSERT_GE(checkpoints.size(), 4u);

  for (size_t k : {size_t{0}, checkpoints.size() / 2, checkpoints.size() - 1}) {
    const TrainState state = decode_checkpoint(checkpoints[k], "k");
    torch::manual_seed(5);
    MilModel again(cfg.model, data.instance_shape);
    torch::manual_seed(999);  // whatever the generator holds now, resume must set it
    FitOptions resume;
    resume.resume = &state;
    const TrainResult rest = fit(again, data, cfg, torch::kCPU, resume);
    expect_same_tensors(weights_of(again), final_weights);
    EXPECT_EQ(rest.best_epoch, full.best_epoch) << "resumed after epoch " << state.epoch;
    EXPECT_EQ(rest.epochs_run, full.epochs_run);
    EXPECT_EQ(rest.stopped_early, full.stopped_early);
    ASSERT_EQ(rest.history.size(), full.history.size());
    for (size_t i = 0; i < full.history.size(); ++i) {
      EXPECT_EQ(rest.history[i].loss, full.history[i].loss) << i;
      EXPECT_EQ(rest.history[i].metrics.auc, full.history[i].metrics.auc) << i;
    }
  }
}

TEST(Checkpoint, ResumeIntoAnotherModelIsAnError) {
  TempDir tmp("ckpt_mismatch");
  write_feature_csv(tmp.path / "bags.csv", 30);
  const Config cfg = feature_config(tmp.path / "bags.csv");
  const MilData data = load_data(cfg.data, 5);
  const TrainState state = sample_state(2);  // weights of a 3x2 + 4 model: not this one
  MilModel model(cfg.model, data.instance_shape);
  FitOptions resume;
  resume.resume = &state;
  EXPECT_NE(error_of<CheckpointError>([&] {
              fit(model, data, cfg, torch::kCPU, resume);
            }).find("checkpoint does not match the model"),
            std::string::npos);
}

// An absurd learning rate blows the weights up after the first step: the run
// stops at once with the epoch and step, instead of training on NaN.
TEST(Checkpoint, NonFiniteLossStopsTrainingNamingEpochAndStep) {
  TempDir tmp("ckpt_diverge");
  write_feature_csv(tmp.path / "bags.csv", 40);
  Config cfg = feature_config(tmp.path / "bags.csv");
  cfg.model.dropout = 0;
  cfg.train.optimizer.lr = 1e35;
  const MilData data = load_data(cfg.data, 5);
  torch::manual_seed(5);
  MilModel model(cfg.model, data.instance_shape);
  const std::string msg = error_of<TrainingDiverged>([&] { fit(model, data, cfg, torch::kCPU, FitOptions{}); });
  EXPECT_EQ(msg.rfind("training diverged: non-finite ", 0), 0u) << msg;
  EXPECT_NE(msg.find("at epoch 1, step 2 of "), std::string::npos) << msg;
}
