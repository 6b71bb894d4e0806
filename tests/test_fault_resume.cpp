// Fault test: `abmil train` on real MNIST-bags is killed with SIGKILL at 10
// random moments and resumed with `abmil train --resume` each time; the
// finished run must equal an uninterrupted one file by file (timings aside).
// Skipped with a message when $ABMIL_DATA/mnist is absent (CI sets it).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "abmil/io/csv_table.h"
#include "test_util.h"

namespace fs = std::filesystem;
using abmil_test::read_text;
using abmil_test::TempDir;

namespace {

using Clock = std::chrono::steady_clock;

/// Starts the abmil binary with `args` (output to `log`); returns its pid.
pid_t spawn(const std::vector<std::string>& args, const fs::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv{const_cast<char*>(ABMIL_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(ABMIL_BINARY, argv.data());
    ::_exit(127);
  }
  return pid;
}

/// Waits for `pid` at most `seconds`; kills it with SIGKILL if still running.
/// Returns true when it was killed, false when it had exited (status in `status`).
bool kill_after(pid_t pid, double seconds, int& status) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return true;
}

int run_to_end(const std::vector<std::string>& args, const fs::path& log) {
  int status = 0;
  ::waitpid(spawn(args, log), &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// A CSV file with the columns named `drop` (timings) removed, as text.
std::string csv_without(const fs::path& p, const std::string& drop) {
  const abmil::CsvTable t = abmil::read_csv(p);
  const size_t skip = t.column(drop);
  std::ostringstream out;
  for (const auto& row : t.rows) {
    for (size_t c = 0; c < row.size(); ++c)
      if (c != skip) out << row[c] << ",";
    out << "\n";
  }
  return out.str();
}

/// metrics.json without its wall-time fields.
nlohmann::json metrics_without_timings(const fs::path& p) {
  nlohmann::json j = nlohmann::json::parse(read_text(p));
  j.erase("seconds_total");
  j["test"].erase("seconds");
  j["training"].erase("seconds");
  return j;
}

void expect_same_run(const fs::path& a, const fs::path& b) {
  for (const char* f : {"predictions/test.csv", "attention/test.csv", "checkpoints/best.pt"}) {
    ASSERT_TRUE(fs::exists(b / f)) << f;
    EXPECT_TRUE(read_text(a / f) == read_text(b / f)) << f << " differs";
  }
  EXPECT_EQ(csv_without(a / "metrics.csv", "seconds"), csv_without(b / "metrics.csv", "seconds"));
  EXPECT_EQ(metrics_without_timings(a / "metrics.json"), metrics_without_timings(b / "metrics.json"));
}

}  // namespace

TEST(FaultResume, SigkillAtTenRandomMomentsThenResumeIsBitIdentical) {
  const char* data = std::getenv("ABMIL_DATA");
  if (!data || !fs::exists(fs::path(data) / "mnist" / "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "needs real MNIST: set ABMIL_DATA to a folder with mnist/ (see datasets/README.md)";
  TempDir tmp("fault");
  std::ofstream(tmp.path / "cfg.yaml") << "experiment: {name: fault, seed: 3}\n"
                                          "data: {kind: mnist_bags, root: "
                                       << data
                                       << "/mnist, train_bags: 100,\n"
                                          "       test_bags: 200, validation_fraction: 0.1}\n"
                                          "model: {encoder: lenet5, pooling: gated_attention}\n"
                                          "train: {epochs: 14, checkpoint_every: 1,\n"
                                          "        optimizer: {lr: 5.0e-4, weight_decay: 1.0e-4},\n"
                                          "        early_stopping: {patience: 6}}\n"
                                          "runtime: {threads: 1, progress: never}\n";
  const std::string cfg = (tmp.path / "cfg.yaml").string();
  const fs::path log = tmp.path / "log.txt";

  const auto t0 = Clock::now();
  ASSERT_EQ(run_to_end({"train", cfg, "--output", (tmp.path / "reference").string()}, log), 0) << read_text(log);
  const double full_seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  std::mt19937 rng(20261121);
  std::uniform_real_distribution<double> moment(0.0, full_seconds);
  int kills = 0, finished_runs = 0;
  for (int attempt = 0; kills < 10 && attempt < 60; ++attempt) {
    const fs::path run = tmp.path / ("run" + std::to_string(finished_runs));
    int status = 0;
    const bool fresh = !fs::exists(run / "config.yaml");
    if (fresh) fs::remove_all(run);  // killed before config.yaml: nothing to resume yet
    const pid_t pid =
        fresh ? spawn({"train", cfg, "--output", run.string()}, log) : spawn({"train", "--resume", run.string()}, log);
    if (kill_after(pid, moment(rng), status)) {
      ++kills;
      continue;
    }
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_text(log);
    expect_same_run(tmp.path / "reference", run);  // ran to the end after some kills
    ++finished_runs;
  }
  EXPECT_EQ(kills, 10);
  // The run killed last is finished by one more resume.
  const fs::path last = tmp.path / ("run" + std::to_string(finished_runs));
  if (fs::exists(last / "config.yaml")) {
    ASSERT_EQ(run_to_end({"train", "--resume", last.string()}, log), 0) << read_text(log);
    expect_same_run(tmp.path / "reference", last);
    ++finished_runs;
  }
  EXPECT_GE(finished_runs, 1);
  // Resumes that went on from a checkpoint (others found none yet and started over).
  const std::string text = read_text(log);
  int from_checkpoint = 0;
  for (size_t at = text.find("resuming after epoch"); at != std::string::npos;
       at = text.find("resuming after epoch", at + 1))
    ++from_checkpoint;
  EXPECT_GE(from_checkpoint, 3) << text;
  std::cout << "[ fault    ] survived " << kills << " SIGKILLs (" << from_checkpoint << " resumes from a checkpoint); "
            << finished_runs << " interrupted runs finished identical to the uninterrupted one (" << full_seconds
            << " s each)\n";
}

// --resume needs a run directory of `abmil train`; train needs CONFIG or --resume.
TEST(FaultResume, ResumeCommandLineErrors) {
  TempDir tmp("resume_cli");
  const fs::path log = tmp.path / "log.txt";
  fs::create_directories(tmp.path / "empty");
  EXPECT_EQ(run_to_end({"train", "--resume", (tmp.path / "empty").string()}, log), 2);
  EXPECT_NE(read_text(log).find((tmp.path / "empty" / "config.yaml").string() +
                                ": missing; not a run directory of `abmil train`"),
            std::string::npos)
      << read_text(log);
  EXPECT_EQ(run_to_end({"train"}, log), 2);
  EXPECT_NE(read_text(log).find("train: give a CONFIG file, or --resume RUN_DIR"), std::string::npos);
  EXPECT_NE(run_to_end({"train", "--resume", tmp.path.string(), "--set", "train.epochs=2"}, log), 0);
  EXPECT_NE(read_text(log).find("--set excludes --resume"), std::string::npos) << read_text(log);
}
