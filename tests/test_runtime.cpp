// The process settings of train/runtime.h: subnormal floats flushed to zero
// by default (runtime.flush_denormal), on every intra-op thread, in the
// process that trains; IEEE behaviour when switched off.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>
#include <thread>
#include <nlohmann/json.hpp>

#include "abmil/config/config.h"
#include "abmil/train/runtime.h"
#include "test_util.h"

using namespace abmil;

TEST(Runtime, FlushDenormalIsSetOnEveryIntraOpThreadAndCanBeUndone) {
  EXPECT_TRUE(parse_config("", "empty").runtime.flush_denormal);  // the default
  configure_runtime(2, /*flush_denormal=*/false);
  EXPECT_FALSE(subnormals_flushed());
  const torch::Tensor tiny = torch::full({4}, std::numeric_limits<float>::min());
  EXPECT_GT((tiny / 4).sum().item<float>(), 0.0f);  // a subnormal result survives
  configure_runtime(2, /*flush_denormal=*/true);
  EXPECT_TRUE(subnormals_flushed());
  EXPECT_EQ((tiny / 4).sum().item<float>(), 0.0f);  // flushed to zero
  EXPECT_EQ(torch::get_num_threads(), 2);
}

TEST(Runtime, ATrainedRunRecordsFlushingAndTrainsWithItOff) {
  abmil_test::TempDir tmp("runtime");
  abmil_test::write_synthetic_feature_csv(tmp.path / "bags.csv", 30);
  const std::string cfg = (tmp.path / "cfg.yaml").string();
  {
    std::ofstream out(cfg);
    out << "data: {kind: feature_bags, path: " << (tmp.path / "bags.csv").string() << "}\n"
        << "model: {encoder: mlp, hidden_dims: [8], embedding_dim: 8, attention_dim: 4}\n"
        << "train: {epochs: 3}\nruntime: {threads: 2, progress: never}\n";
  }
  for (bool flush : {true, false}) {
    const std::filesystem::path run = tmp.path / (flush ? "on" : "off");
    const auto r = abmil_test::run_abmil("train " + abmil_test::shell_quote(cfg) +
                                             " --set output.dir=" + abmil_test::shell_quote(run.string()) +
                                             (flush ? "" : " --set runtime.flush_denormal=false"),
                                         tmp.path);
    ASSERT_EQ(r.code, 0) << r.output;
    const auto j = nlohmann::json::parse(abmil_test::read_text(run / "metrics.json"));
    EXPECT_EQ(j["training"]["flush_denormal"].get<bool>(), flush);
    EXPECT_EQ(j["training"]["epochs_run"].get<int>(), 3);
    EXPECT_TRUE(j["test"]["auc"].is_number());
    EXPECT_NE(abmil_test::read_text(run / "config.yaml").find(flush ? "flush_denormal: true" : "flush_denormal: false"),
              std::string::npos);
  }
}

TEST(Runtime, AutoThreadsLeaveBusyCoresToOtherJobs) {
  EXPECT_EQ(abmil::idle_cores(2, 0.0), 2);
  EXPECT_EQ(abmil::idle_cores(2, 0.4), 2);  // rounded: less than half a busy core
  EXPECT_EQ(abmil::idle_cores(2, 1.6), 1);
  EXPECT_EQ(abmil::idle_cores(2, 2.0), 1);  // at least one thread
  EXPECT_EQ(abmil::idle_cores(16, 3.5), 12);
  EXPECT_EQ(abmil::idle_cores(4, -1.0), 4);
  const int n = abmil::auto_threads();
  EXPECT_GE(n, 1);
  EXPECT_LE(n, static_cast<int>(std::thread::hardware_concurrency()));
}
