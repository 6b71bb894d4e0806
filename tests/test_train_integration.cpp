// End to end: real MNIST-bags training through run_train (skipped with a
// message when $ABMIL_DATA/mnist is absent), and the `abmil` command's
// behaviour on good and bad input.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "abmil/config/config.h"
#include "abmil/io/csv_table.h"
#include "abmil/train/run.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace {

using abmil_test::TempDir;
const auto read_file = abmil_test::read_text;

using abmil_test::run_abmil;

const char* mnist_root() {
  static std::string root;
  const char* data = std::getenv("ABMIL_DATA");
  if (!data) return nullptr;
  root = std::string(data) + "/mnist";
  return fs::exists(fs::path(root) / "train-images-idx3-ubyte.gz") ? root.c_str() : nullptr;
}

}  // namespace

// The paper's setting, shortened (8 epochs, 300 test bags): a real bar on real digits.
TEST(TrainIntegration, GatedAttentionLearnsRealMnistBags) {
  if (!mnist_root())
    GTEST_SKIP() << "real MNIST not found: set ABMIL_DATA to a folder with mnist/*.gz "
                    "(see datasets/README.md)";
  TempDir tmp("mnist");
  abmil::Config cfg = abmil::load_config(std::string(ABMIL_SOURCE_DIR) + "/configs/mnist_bags.yaml",
                                         {"train.epochs=8", "data.test_bags=300", "runtime.progress=never"});
  cfg.output.dir = (tmp.path / "run").string();
  std::ostringstream log;
  abmil::RunSummary s = abmil::run_train(cfg, log);

  EXPECT_GE(s.test.auc, 0.90) << log.str();
  EXPECT_GE(s.test.accuracy, 0.80) << log.str();
  EXPECT_GE(s.instance_auc, 0.85) << "attention should single out the 9s\n" << log.str();

  // The run directory: complete, consistent files.
  const fs::path run = s.run_dir;
  for (const char* f : {"config.yaml", "metrics.csv", "metrics.json", "attention/test.csv", "checkpoints/best.pt"})
    EXPECT_TRUE(fs::exists(run / f)) << f;
  const auto j = nlohmann::json::parse(read_file(run / "metrics.json"));
  EXPECT_NEAR(j["test"]["auc"].get<double>(), s.test.auc, 1e-12);
  for (const char* k : {"loss", "accuracy", "error", "precision", "recall", "f1", "auc"})
    EXPECT_TRUE(j["test"].contains(k)) << k;
  EXPECT_NEAR(j["test"]["accuracy"].get<double>() + j["test"]["error"].get<double>(), 1.0, 1e-12);

  const abmil::CsvTable metrics = abmil::read_csv(run / "metrics.csv");
  EXPECT_EQ(metrics.rows.size(), 2u * s.epochs_run + 1u);  // train+validation per epoch, test
  EXPECT_EQ(metrics.rows.back()[metrics.column("split")], "test");

  // Attention CSV: one row per test instance; weights of each bag sum to 1.
  const abmil::CsvTable att = abmil::read_csv(run / "attention/test.csv");
  ASSERT_GT(att.rows.size(), 299u);
  EXPECT_EQ(att.header[0], "bag_id");
  const size_t weight = att.column("attention_weight"), logit = att.column("attention_logit");
  // The raw scores give back the weights through a softmax over each bag.
  std::map<std::string, double> sums;
  std::map<std::string, std::vector<double>> logits, weights;
  for (size_t r = 0; r < att.rows.size(); ++r) {
    const std::string& bag = att.rows[r][0];
    sums[bag] += att.number(r, weight);
    weights[bag].push_back(att.number(r, weight));
    logits[bag].push_back(att.number(r, logit));
  }
  EXPECT_EQ(sums.size(), 300u);
  for (const auto& [bag, sum] : sums) EXPECT_NEAR(sum, 1.0, 1e-5) << "bag " << bag;
  for (const auto& [bag, s] : logits) {
    const auto softmax = torch::softmax(torch::tensor(s, torch::kDouble), 0);
    for (size_t k = 0; k < s.size(); ++k) EXPECT_NEAR(softmax[k].item<double>(), weights[bag][k], 1e-6) << bag;
  }
  EXPECT_TRUE(j["test"].contains("instance_precision_at_k"));
  EXPECT_EQ(abmil::read_csv(run / "predictions/test.csv").rows.size(), 300u);

  // The resolved config reloads to the same run.
  abmil::Config again = abmil::load_config((run / "config.yaml").string());
  EXPECT_EQ(abmil::config_to_yaml(again), abmil::config_to_yaml(cfg));
}

TEST(Cli, HelpListsCommandsAndConfigKeys) {
  TempDir tmp("help");
  auto r = run_abmil("--help", tmp.path);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.output.find("train"), std::string::npos);
  r = run_abmil("config --help", tmp.path);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.output.find("train.early_stopping.patience"), std::string::npos) << r.output;
  r = run_abmil("train --help", tmp.path);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.output.find("--set"), std::string::npos);
}

TEST(Cli, ConfigErrorsAreOneLineWithFileAndLineAndExitCode2) {
  TempDir tmp("badcfg");
  std::ofstream(tmp.path / "bad.yaml") << "experiment:\n  name: x\ntrain:\n  epoch: 5\n";
  auto r = run_abmil("train bad.yaml", tmp.path);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, "abmil: error: bad.yaml:4: unknown key 'train.epoch' (did you mean 'train.epochs'?)\n");
  r = run_abmil("train missing.yaml", tmp.path);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("missing.yaml"), std::string::npos) << r.output;
  // The file is checked before the overrides: the same line, not the bad --set.
  r = run_abmil("train bad.yaml --set train.epochs=ten", tmp.path);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, "abmil: error: bad.yaml:4: unknown key 'train.epoch' (did you mean 'train.epochs'?)\n");
  EXPECT_FALSE(fs::exists(tmp.path / "runs")) << "no run directory for a bad config";
}

TEST(Cli, MissingDataNamesTheFileAndLeavesNoRun) {
  TempDir tmp("nodata");
  std::ofstream(tmp.path / "cfg.yaml") << "data:\n  root: " << (tmp.path / "nowhere").string() << "\n";
  auto r = run_abmil("train cfg.yaml --output run", tmp.path);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("nowhere/train-images-idx3-ubyte"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp.path / "run" / "metrics.json"));
}

// Same config and seed -> the same numbers, run after run (Fashion-MNIST from
// the Debian package, which the setup script installs).
TEST(TrainIntegration, SameSeedSameNumbers) {
  const fs::path fashion = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(fashion / "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST not found at " << fashion << " (scripts/setup.sh installs dataset-fashion-mnist)";
  TempDir tmp("determinism");
  std::vector<std::string> outputs;
  for (int run = 0; run < 2; ++run) {
    abmil::Config cfg = abmil::load_config(std::string(ABMIL_SOURCE_DIR) + "/configs/default.yaml",
                                           {"data.train_bags=40", "data.test_bags=40", "train.epochs=2",
                                            "train.bags_per_step=4", "runtime.progress=never"});
    cfg.output.dir = (tmp.path / ("run" + std::to_string(run))).string();
    std::ostringstream log;
    abmil::RunSummary s = abmil::run_train(cfg, log);
    outputs.push_back(read_file(s.run_dir / "attention/test.csv"));
  }
  EXPECT_GT(outputs[0].size(), 1000u);
  EXPECT_EQ(outputs[0], outputs[1]);
}

// `abmil predict` with the run's own config reproduces the run's test
// predictions and attention exactly; a missing checkpoint is one clear line.
TEST(Cli, PredictReproducesTheRunsTestPredictions) {
  const fs::path fashion = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(fashion / "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST not found at " << fashion << " (scripts/setup.sh installs it)";
  TempDir tmp("predict");
  const std::string cfg = std::string(ABMIL_SOURCE_DIR) + "/configs/default.yaml";
  auto r = run_abmil("train " + abmil_test::shell_quote(cfg) +
                         " --set data.train_bags=30 --set data.test_bags=25 --set train.epochs=1 "
                         "--set runtime.progress=never --output run",
                     tmp.path);
  ASSERT_EQ(r.code, 0) << r.output;
  r = run_abmil("predict run run/config.yaml --output again", tmp.path);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(read_file(tmp.path / "again/predictions/test.csv"), read_file(tmp.path / "run/predictions/test.csv"));
  EXPECT_EQ(read_file(tmp.path / "again/attention/test.csv"), read_file(tmp.path / "run/attention/test.csv"));
  EXPECT_TRUE(fs::exists(tmp.path / "again/metrics.json"));
  fs::remove(tmp.path / "run/checkpoints/best.pt");
  r = run_abmil("predict run run/config.yaml --output third", tmp.path);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("run/checkpoints/best.pt: no checkpoint"), std::string::npos) << r.output;
}
