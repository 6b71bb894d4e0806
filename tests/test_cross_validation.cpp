// Feature bags and cross-validation: standardisation fitted on training bags
// only, the summary statistics, and `abmil cv` end to end on a small CSV
// (parallel workers, resume).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "abmil/data/bag.h"
#include "abmil/data/feature_bags.h"
#include "abmil/data/feature_csv.h"
#include "abmil/config/config.h"
#include "abmil/data/mnist_bags.h"
#include "abmil/train/cross_validation.h"
#include "abmil/train/run.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace abmil;

namespace {

BagSplit one_feature_split(std::vector<float> values, std::vector<int64_t> sizes) {
  std::vector<Bag> bags(sizes.size());
  int64_t row = 0;
  for (size_t b = 0; b < sizes.size(); ++b)
    for (int64_t k = 0; k < sizes[b]; ++k) bags[b].source_indices.push_back(row++);
  return make_split("s", bags, torch::tensor(values).view({-1, 1}));
}

const auto write_synthetic_csv = abmil_test::write_synthetic_feature_csv;

/// Writes `dir`/bags.csv (40 synthetic bags) and `dir`/cv.yaml, an MLP with
/// attention on them, with the given train, cv and runtime sections.
void write_cv_config(const fs::path& dir, const std::string& train, const std::string& cv, const std::string& runtime) {
  write_synthetic_csv(dir / "bags.csv", 40);
  std::ofstream(dir / "cv.yaml")
      << "experiment: {name: synthetic}\n"
         "data: {kind: feature_bags, path: "
      << (dir / "bags.csv").string()
      << "}\n"
         "model: {encoder: mlp, hidden_dims: [16, 8], pooling: attention, attention_dim: 8}\n"
         "train: "
      << train << "\ncv: " << cv << "\nruntime: " << runtime << "\n";
}

}  // namespace

TEST(Standardize, FitsOnTrainingBagsOnly) {
  BagSplit train = one_feature_split({1, 3}, {1, 1});  // mean 2, std 1 (ddof 0)
  BagSplit test = one_feature_split({5, 1000}, {2});   // extreme test values
  auto [mean, std] = standardize(train, {&train, &test});
  EXPECT_DOUBLE_EQ(mean.item<double>(), 2.0);
  EXPECT_DOUBLE_EQ(std.item<double>(), 1.0);
  EXPECT_TRUE(torch::equal(train.instances.view(-1), torch::tensor({-1.f, 1.f})));
  EXPECT_FLOAT_EQ(test.instances[0].item<float>(), 3.f);  // (5 - 2) / 1: the test value does not move the statistics
  // a feature with no spread is only centred
  BagSplit flat = one_feature_split({4, 4}, {2});
  standardize(flat, {&flat});
  EXPECT_TRUE(torch::equal(flat.instances.view(-1), torch::tensor({0.f, 0.f})));
}

TEST(CrossValidation, SummaryHasSampleStdAndStandardError) {
  std::vector<FoldResult> folds(4);
  const double acc[] = {0.5, 0.7, 0.9, 0.7};  // mean 0.7, sample var (0.04+0+0.04+0)/3, std 0.1633, sem 0.0816
  for (int i = 0; i < 4; ++i) folds[i].metrics.accuracy = acc[i];
  folds[3].metrics.auc = std::nan("");  // undefined AUC is left out
  const auto s = summarize(folds);
  EXPECT_NEAR(s.at("accuracy").mean, 0.7, 1e-12);
  EXPECT_NEAR(s.at("accuracy").std, std::sqrt(0.08 / 3), 1e-12);
  EXPECT_NEAR(s.at("accuracy").sem, std::sqrt(0.08 / 3) / 2, 1e-12);
  EXPECT_EQ(s.at("accuracy").n, 4);
  EXPECT_EQ(s.at("auc").n, 3);
}

TEST(CrossValidation, CliRunsFoldsInParallelAndResumes) {
  abmil_test::TempDir tmp_dir("cv");
  const fs::path& tmp = tmp_dir.path;
  write_cv_config(tmp, "{epochs: 30, bags_per_step: 4, optimizer: {lr: 0.01}}", "{folds: 4, repeats: 2}",
                  "{progress: never}");
  auto run = [&](const std::string& args) { return abmil_test::run_abmil(args, tmp, tmp / "log.txt"); };
  const auto first = run("cv cv.yaml --output run --jobs 2");
  ASSERT_EQ(first.code, 0) << first.output;
  const auto summary = nlohmann::json::parse(std::ifstream(tmp / "run/cv_summary.json"));
  for (const char* m : {"loss", "accuracy", "error", "precision", "recall", "f1", "auc"}) {
    ASSERT_TRUE(summary.contains(m)) << m;
    for (const char* k : {"mean", "std", "sem", "n"}) EXPECT_TRUE(summary[m].contains(k)) << m << "." << k;
  }
  EXPECT_EQ(summary["accuracy"]["n"], 8);
  EXPECT_GE(summary["accuracy"]["mean"].get<double>(), 0.8) << "the synthetic bags are easy";
  std::ifstream folds(tmp / "run/folds.csv");
  int lines = 0;
  for (std::string l; std::getline(folds, l);) ++lines;
  EXPECT_EQ(lines, 9);

  // resume: a deleted fold is run again, the others are kept as they were
  const fs::path kept = tmp / "run/folds/r0_f0.json", redo = tmp / "run/folds/r1_f3.json";
  const auto kept_time = fs::last_write_time(kept);
  fs::remove(redo);
  fs::remove(tmp / "run/cv_summary.json");
  const auto resumed = run("cv cv.yaml --output run --resume");
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("`cv CONFIG --output RUN --resume` is deprecated; use `abmil cv --resume RUN`"),
            std::string::npos)
      << resumed.output;
  EXPECT_TRUE(fs::exists(redo));
  EXPECT_EQ(fs::last_write_time(kept), kept_time);
  EXPECT_TRUE(fs::exists(tmp / "run/cv_summary.json"));
  // a different config does not resume
  EXPECT_EQ(run("cv cv.yaml --output run --resume --set cv.folds=5").code, 2);
  // the spelling of `train`: --resume RUN_DIR, with the run's own config.yaml
  fs::remove(redo);
  fs::remove(tmp / "run/cv_summary.json");
  ASSERT_EQ(run("cv --resume run").code, 0);
  EXPECT_TRUE(fs::exists(redo));
  EXPECT_EQ(fs::last_write_time(kept), kept_time);
  EXPECT_TRUE(fs::exists(tmp / "run/cv_summary.json"));
  EXPECT_EQ(run("cv --resume run --set cv.folds=5").code, 2);  // no overrides to a resumed run
}

TEST(CrossValidation, ResumesARunStartedWithoutOutput) {
  // a run started without --output lives in runs/NAME, and its config.yaml
  // has no output.dir; `cv --resume runs/NAME` must still take it
  abmil_test::TempDir tmp_dir("cv_resume_default_dir");
  const fs::path& tmp = tmp_dir.path;
  write_cv_config(tmp, "{epochs: 3, bags_per_step: 4}", "{folds: 2, repeats: 1}", "{progress: never}");
  auto run = [&](const std::string& args) { return abmil_test::run_abmil(args, tmp, tmp / "log.txt"); };
  const auto first = run("cv cv.yaml");
  ASSERT_EQ(first.code, 0) << first.output;
  const fs::path run_dir = tmp / "runs/synthetic";
  ASSERT_TRUE(fs::exists(run_dir / "cv_summary.json"));
  // without --jobs: one worker process per core
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(run_dir / "cv_run.json"))["jobs"].get<int64_t>(),
            std::max<int64_t>(1, std::thread::hardware_concurrency()));
  fs::remove(run_dir / "folds/r0_f1.json");
  const auto resumed = run("cv --resume runs/synthetic");
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_TRUE(fs::exists(run_dir / "folds/r0_f1.json"));
  EXPECT_TRUE(fs::exists(run_dir / "cv_summary.json"));
}

namespace {

/// Pids of running processes whose command line contains `needle`.
std::vector<int> processes_with(const std::string& needle) {
  std::vector<int> pids;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = abmil_test::read_text(e.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos) pids.push_back(std::stoi(name));
  }
  return pids;
}

}  // namespace

TEST(CrossValidation, KillingTheParentStopsItsWorkers) {
  abmil_test::TempDir tmp_dir("cvkill");
  const fs::path& tmp = tmp_dir.path;
  write_cv_config(tmp, "{epochs: 100000, early_stopping: {patience: 0}}", "{folds: 4, repeats: 1}",
                  "{threads: 2, progress: never}");
  const fs::path run = tmp / "run";
  const pid_t parent = fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    const std::string log = (tmp / "log.txt").string(), cfg = (tmp / "cv.yaml").string(), out = run.string();
    freopen(log.c_str(), "w", stdout);
    execl(ABMIL_BINARY, ABMIL_BINARY, "cv", cfg.c_str(), "--output", out.c_str(), "--jobs", "2",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const std::string needle = "--output " + run.string() + " --worker";
  std::vector<int> workers;
  for (int i = 0; i < 200 && workers.size() < 2; ++i) {  // up to 20 s for both workers to start
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    workers = processes_with(needle);
  }
  ASSERT_EQ(workers.size(), 2u) << abmil_test::read_text(tmp / "log.txt");
  kill(parent, SIGKILL);
  waitpid(parent, nullptr, 0);
  for (int i = 0; i < 100 && !processes_with(needle).empty(); ++i)  // up to 10 s to go
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::vector<int> left = processes_with(needle);
  for (int pid : left) kill(pid, SIGKILL);  // do not leave them running when the test fails
  EXPECT_TRUE(left.empty()) << left.size() << " worker(s) outlived their parent";
}

// `abmil train` on a feature CSV: held-out test bags, standardised features,
// the MLP encoder; the easy synthetic bags are learnt.
TEST(FeatureBags, TrainHoldsOutTestBagsAndLearns) {
  abmil_test::TempDir tmp("feature_train");
  write_synthetic_csv(tmp.path / "bags.csv", 60);
  Config cfg;
  cfg.data.kind = "feature_bags";
  cfg.data.path = (tmp.path / "bags.csv").string();
  cfg.data.test_fraction = 0.25;
  cfg.model.encoder = "mlp";
  cfg.model.hidden_dims = {16, 8};
  cfg.model.attention_dim = 8;
  cfg.train.epochs = 40;
  cfg.train.bags_per_step = 4;
  cfg.train.optimizer.lr = 0.01;
  cfg.runtime.progress = "never";
  cfg.output.dir = (tmp.path / "run").string();
  const MilData data = load_feature_bags(cfg.data, 1);
  EXPECT_EQ(data.test.num_bags(), 16);  // round(0.25 * 30) = 8 of each label
  EXPECT_EQ(data.train.num_bags() + data.validation.num_bags() + data.test.num_bags(), 60);
  EXPECT_EQ(data.instance_shape, (std::vector<int64_t>{3}));
  // standardised with the training bags: their features have mean 0
  EXPECT_NEAR(data.train.instances.mean(0).abs().max().item<double>(), 0.0, 1e-5);
  std::ostringstream log;
  const RunSummary s = run_train(cfg, log);
  EXPECT_GE(s.test.accuracy, 0.8) << log.str();
  EXPECT_TRUE(fs::exists(s.run_dir / "attention/test.csv"));
}
