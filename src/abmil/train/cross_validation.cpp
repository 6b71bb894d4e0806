#include "abmil/train/cross_validation.h"

#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <random>
#include <sstream>
#include <thread>

#include "abmil/config/config.h"
#include "abmil/data/folds.h"
#include "abmil/data/kinds.h"
#include "abmil/data/text.h"
#include "abmil/io/run_dir.h"
#include "abmil/train/evaluate.h"
#include "abmil/train/runtime.h"
#include "abmil/train/trainer.h"

extern char** environ;

namespace abmil {

namespace fs = std::filesystem;

uint64_t fold_seed(uint64_t seed, int64_t repeat, int64_t fold) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(repeat),
                    static_cast<uint32_t>(fold), 5u};
  uint32_t out[2];
  seq.generate(out, out + 2);
  return (static_cast<uint64_t>(out[0]) << 32) | out[1];
}

FoldResult run_fold(const Config& config, const CvSource& source, const Fold& fold, const fs::path& run_dir) {
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t seed = fold_seed(static_cast<uint64_t>(config.experiment.seed), fold.repeat, fold.fold);
  auto [fit_pos, val_pos] =
      source.cases.empty()
          ? stratified_split(fold.train, source.labels, config.cv.validation_fraction, seed)
          : grouped_stratified_split(fold.train, source.labels, source.cases, config.cv.validation_fraction, seed);
  const MilData data = source.make_fold({fold.train, fit_pos, val_pos, fold.test});
  const std::string name = fmt::format("r{}_f{}", fold.repeat, fold.fold);
  if (!run_dir.empty() && !data.vocabulary.empty())
    write_file_atomic(run_dir / "vocabulary" / (name + ".txt"), Vocabulary::from_tokens(data.vocabulary).to_text());

  Config fold_config = config;
  fold_config.experiment.seed = static_cast<int64_t>(seed >> 1);
  const torch::Device device = pick_device(config.runtime.device);
  torch::manual_seed(seed);
  MilModel model(config.model, data.instance_shape, static_cast<int64_t>(data.vocabulary.size()), data.num_outputs());
  model->multi_label = data.multi_label;
  model->to(device);
  const TrainResult trained = fit(model, data, fold_config, device);
  SplitEvaluation test;
  if (run_dir.empty()) {
    const BagPredictions p = predict(model, data.test, config.eval.max_instances_per_pass, device);
    test.metrics = prediction_metrics(p, config.eval.threshold);
    test.loss = p.loss;
  } else {
    Config named = config;  // the predictions' class columns are named as the data's classes
    if (!data.classes.empty()) named.data.classes = data.classes;
    test = evaluate_and_write(model, data.test, named, device, run_dir, name);
  }

  FoldResult r;
  r.repeat = fold.repeat;
  r.fold = fold.fold;
  r.train_bags = data.train.num_bags();
  r.validation_bags = data.validation.num_bags();
  r.test_bags = data.test.num_bags();
  r.best_epoch = trained.best_epoch;
  r.epochs_run = trained.epochs_run;
  r.loss = test.loss;
  r.metrics = test.metrics;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

namespace {

/// The fold's loss and metrics, in the order of kBagMetricNames.
std::vector<double> metric_values(const FoldResult& f) {
  const auto& m = f.metrics;
  return {f.loss, m.accuracy, m.error, m.precision, m.recall, m.f1, m.auc};
}

nlohmann::json fold_json(const FoldResult& f) {
  nlohmann::json j = {{"repeat", f.repeat},         {"fold", f.fold},
                      {"train_bags", f.train_bags}, {"validation_bags", f.validation_bags},
                      {"test_bags", f.test_bags},   {"best_epoch", f.best_epoch},
                      {"epochs_run", f.epochs_run}, {"seconds", f.seconds}};
  const auto v = metric_values(f);
  for (size_t i = 0; i < v.size(); ++i) j[kBagMetricNames[i].key] = json_number(v[i]);
  return j;
}

FoldResult fold_from_json(const nlohmann::json& j) {
  auto num = [&](const char* k) { return j.at(k).is_null() ? std::nan("") : j.at(k).get<double>(); };
  FoldResult f;
  f.repeat = j.at("repeat");
  f.fold = j.at("fold");
  f.train_bags = j.at("train_bags");
  f.validation_bags = j.at("validation_bags");
  f.test_bags = j.at("test_bags");
  f.best_epoch = j.at("best_epoch");
  f.epochs_run = j.at("epochs_run");
  f.seconds = num("seconds");
  f.loss = num("loss");
  f.metrics.accuracy = num("accuracy");
  f.metrics.error = num("error");
  f.metrics.precision = num("precision");
  f.metrics.recall = num("recall");
  f.metrics.f1 = num("f1");
  f.metrics.auc = num("auc");
  return f;
}

fs::path fold_file(const fs::path& run_dir, const Fold& f) {
  return run_dir / "folds" / fmt::format("r{}_f{}.json", f.repeat, f.fold);
}

/// The folds of config.cv over `source`.
std::vector<Fold> cv_folds(const Config& config, const CvSource& source) {
  if (config.cv.split == "groups") {
    if (!source.group_folds)
      throw std::invalid_argument("cv.split groups: data.kind " + config.data.kind +
                                  " has no groups (only text_bags: the cvN prefixes of the file names)");
    return source.group_folds();
  }
  if (!source.cases.empty())
    return grouped_stratified_kfold(source.labels, source.cases, config.cv.folds, config.cv.repeats,
                                    static_cast<uint64_t>(config.experiment.seed));
  return stratified_kfold(source.labels, config.cv.folds, config.cv.repeats,
                          static_cast<uint64_t>(config.experiment.seed));
}

/// Starts `exe args...` and returns its pid. Throws std::runtime_error on failure.
pid_t spawn(const std::string& exe, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cv: cannot start worker process " + exe);
  return pid;
}

}  // namespace

std::map<std::string, MetricSummary> summarize(const std::vector<FoldResult>& folds) {
  std::map<std::string, MetricSummary> out;
  for (size_t i = 0; i < kBagMetricNames.size(); ++i) {
    std::vector<double> v;
    for (const auto& f : folds) {
      const double x = metric_values(f)[i];
      if (!std::isnan(x)) v.push_back(x);
    }
    MetricSummary s;
    s.n = static_cast<int64_t>(v.size());
    for (double x : v) s.mean += x / static_cast<double>(v.size());
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.std = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0;
    s.sem = v.empty() ? 0.0 : s.std / std::sqrt(static_cast<double>(v.size()));
    out[kBagMetricNames[i].key] = s;
  }
  return out;
}

namespace {

/// The run directory of a cv run: a new one (config.yaml written), the
/// --output of a run to resume (its config.yaml must equal `config`'s but for
/// output.dir; its summary is removed), or a worker's --output as it is.
fs::path cv_run_dir(const Config& config, bool is_worker, bool resume) {
  if (!is_worker && !resume) return start_run_dir(config);
  const fs::path run_dir = config.output.dir;
  if (is_worker) return run_dir;
  const fs::path saved = run_dir / "config.yaml";
  if (!fs::is_regular_file(saved))
    throw std::runtime_error(saved.string() + ": nothing to resume (no config.yaml in --output)");
  // output.dir is where the run was started from (often empty: runs/NAME), not
  // part of what it computes; only the rest must match.
  Config started = load_config(saved);
  started.output.dir = config.output.dir;
  if (config_to_yaml(started) != config_to_yaml(config))
    throw std::runtime_error(saved.string() + ": the config differs from the one the run was started with");
  fs::remove(run_dir / "cv_summary.json");
  return run_dir;
}

/// Runs `jobs` worker processes over the folds of `run_dir` and waits for
/// all. Throws std::runtime_error when one fails.
void run_workers(const std::string& exe, const fs::path& run_dir, int64_t jobs) {
  std::vector<pid_t> pids;
  for (int64_t w = 0; w < jobs; ++w)
    pids.push_back(spawn(exe, {"cv", (run_dir / "config.yaml").string(), "--output", run_dir.string(), "--worker",
                               fmt::format("{}/{}", w, jobs)}));
  bool failed = false;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    failed = failed || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  }
  if (failed) throw std::runtime_error("cv: a worker process failed (its error is above)");
}

/// Runs in this process the folds not yet finished (every fold, or a
/// worker's share: fold i with i % jobs == worker), each result written to
/// folds/r<R>_f<K>.json as it finishes.
void run_folds_here(const Config& config, const CvSource& source, const std::vector<Fold>& folds,
                    const fs::path& run_dir, int64_t jobs, int64_t worker, std::ostream& log) {
  for (size_t i = 0; i < folds.size(); ++i) {
    if (worker >= 0 && static_cast<int64_t>(i) % jobs != worker) continue;
    const fs::path file = fold_file(run_dir, folds[i]);
    if (fs::exists(file)) continue;  // finished before
    const FoldResult r = run_fold(config, source, folds[i], run_dir);
    write_file_atomic(file, fold_json(r).dump() + "\n");
    log << fmt::format("repeat {} fold {}: accuracy {} auc {}  ({} epochs, {:.1f} s)\n", r.repeat + 1, r.fold + 1,
                       metric_text(r.metrics.accuracy), metric_text(r.metrics.auc), r.epochs_run, r.seconds)
        << std::flush;
  }
}

/// Reads every fold's result back and writes folds.csv.
std::vector<FoldResult> collect_folds(const fs::path& run_dir, const std::vector<Fold>& folds) {
  std::vector<FoldResult> results;
  std::string csv =
      "repeat,fold,train_bags,validation_bags,test_bags,best_epoch,epochs_run,loss,accuracy,error,"
      "precision,recall,f1,auc,seconds\n";
  for (const Fold& f : folds) {
    std::ifstream in(fold_file(run_dir, f));
    if (!in) throw std::runtime_error(fold_file(run_dir, f).string() + ": fold result missing");
    results.push_back(fold_from_json(nlohmann::json::parse(in)));
    const FoldResult& r = results.back();
    csv += fmt::format("{},{},{},{},{},{},{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.3f}\n", r.repeat,
                       r.fold, r.train_bags, r.validation_bags, r.test_bags, r.best_epoch, r.epochs_run, r.loss,
                       r.metrics.accuracy, r.metrics.error, r.metrics.precision, r.metrics.recall, r.metrics.f1,
                       r.metrics.auc, r.seconds);
  }
  write_file_atomic(run_dir / "folds.csv", csv);
  return results;
}

/// The header lines of a new or resumed cv run.
std::string cv_start_line(const Config& config, const fs::path& run_dir, size_t folds, int64_t jobs, bool resume) {
  if (resume) return fmt::format("resuming {}\n", run_dir.string());
  return fmt::format("run directory {} | {} | {} job(s)\n", run_dir.string(),
                     config.cv.split == "groups"
                         ? fmt::format("{} folds by group", folds)
                         : fmt::format("{} repeats x {} folds", config.cv.repeats, config.cv.folds),
                     jobs);
}

}  // namespace

std::map<std::string, MetricSummary> run_cv(const Config& config, std::ostream& log, int64_t jobs, int64_t worker,
                                            const std::string& exe, bool resume) {
  const auto t0 = std::chrono::steady_clock::now();
  const bool is_worker = worker >= 0;
  if (is_worker) {
    // A worker dies with its parent (`abmil cv` killed, e.g. by SIGKILL), so
    // no orphan goes on writing folds into a run directory nobody watches.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() == 1) throw std::runtime_error("cv worker: the parent process is gone");
  }
  const int64_t threads =
      std::max<int64_t>(1, (config.runtime.threads > 0 ? config.runtime.threads : std::thread::hardware_concurrency()) /
                               std::max<int64_t>(1, is_worker ? jobs : 1));
  configure_runtime(jobs > 1 && !is_worker ? 1 : threads, config.runtime.flush_denormal);
  if (!is_worker && !resume) check_output_dir(config.output.dir);  // before minutes of reading data

  const CvSource source =
      data_kind(config.data.kind).load_cv(config.data, static_cast<uint64_t>(config.experiment.seed));
  const std::vector<Fold> folds = cv_folds(config, source);
  const fs::path run_dir = cv_run_dir(config, is_worker, resume);
  if (!is_worker)
    log << source.summary << "\n" << cv_start_line(config, run_dir, folds.size(), jobs, resume) << std::flush;

  if (!is_worker && jobs > 1)
    run_workers(exe, run_dir, jobs);
  else
    run_folds_here(config, source, folds, run_dir, jobs, worker, log);
  if (is_worker) return {};

  const std::vector<FoldResult> results = collect_folds(run_dir, folds);
  const auto summary = summarize(results);
  nlohmann::json j;
  for (const auto& [name, s] : summary) {
    j[name] = {{"mean", s.mean}, {"std", s.std}, {"sem", s.sem}, {"n", s.n}};
    log << fmt::format("{:<10} mean {:.4f}  std {:.4f}  sem {:.4f}  (n = {})\n", name, s.mean, s.std, s.sem, s.n);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_file_atomic(
      run_dir / "cv_run.json",
      nlohmann::json({{"seconds_total", seconds}, {"folds", results.size()}, {"jobs", jobs}}).dump(2) + "\n");
  write_file_atomic(run_dir / "cv_summary.json", j.dump(2) + "\n");
  log << fmt::format("{} folds in {:.1f} s; run directory {}\n", results.size(), seconds, run_dir.string());
  return summary;
}

}  // namespace abmil
