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
#include "abmil/data/feature_bags.h"
#include "abmil/data/feature_csv.h"
#include "abmil/data/folds.h"
#include "abmil/data/image_patches.h"
#include "abmil/data/mnist_bags.h"
#include "abmil/data/text_bags.h"
#include "abmil/io/run_dir.h"
#include "abmil/train/run.h"
#include "abmil/train/run_files.h"
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

namespace {

/// Trains `data` (its train/validation/test splits and instance shape set)
/// as fold `fold` from `seed`, writes its test predictions and attention
/// when asked, and returns its result; t0: when the fold started.
FoldResult fit_fold(const Config& config, const MilData& data, const Fold& fold, uint64_t seed,
                    const fs::path& run_dir, std::chrono::steady_clock::time_point t0) {
  Config fold_config = config;
  fold_config.experiment.seed = static_cast<int64_t>(seed >> 1);
  torch::manual_seed(seed);
  MilModel model(config.model, data.instance_shape, static_cast<int64_t>(data.vocabulary.size()));
  const TrainResult trained = fit(model, data, fold_config, torch::kCPU);
  const BagPredictions test = predict(model, data.test, config.eval.max_instances_per_pass, torch::kCPU);
  if (!run_dir.empty() && config.output.save_attention) {
    const std::string name = fmt::format("r{}_f{}", fold.repeat, fold.fold);
    write_file_atomic(run_dir / "predictions" / (name + ".csv"), predictions_csv(data.test, test));
    write_file_atomic(run_dir / "attention" / (name + ".csv"), attention_csv(data.test, test));
    if (test.inner_attention.defined())
      write_file_atomic(run_dir / "attention" / (name + "_tokens.csv"), token_attention_csv(data.test, test));
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
  r.metrics = classification_metrics(test.probabilities, test.labels, config.eval.threshold);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace

FoldResult run_fold(const Config& config, const BagSplit& all, const Fold& fold, const fs::path& run_dir) {
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t seed = fold_seed(static_cast<uint64_t>(config.experiment.seed), fold.repeat, fold.fold);
  std::vector<int> labels;
  for (const Bag& b : all.bags) labels.push_back(b.label);
  auto [fit_pos, val_pos] = stratified_split(fold.train, labels, config.cv.validation_fraction, seed);
  MilData data;
  data.train = select_bags(all, fit_pos, "train");
  data.validation = select_bags(all, val_pos, "validation");
  data.test = select_bags(all, fold.test, "test");
  if (config.data.kind == "feature_bags" && config.data.standardize) {
    // statistics of the fold's training part (fitting + validation bags), never of its test bags
    const BagSplit training_part = select_bags(all, fold.train, "training part");
    standardize(training_part, {&data.train, &data.validation, &data.test});
  }
  std::vector<int64_t> shape = all.instances.sizes().vec();
  shape.erase(shape.begin());
  data.instance_shape = shape;
  return fit_fold(config, data, fold, seed, run_dir, t0);
}

FoldResult run_text_fold(const Config& config, const TextCorpus& corpus, const Fold& fold, const fs::path& run_dir) {
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t seed = fold_seed(static_cast<uint64_t>(config.experiment.seed), fold.repeat, fold.fold);
  std::vector<int> labels;
  for (const TextDocument& d : corpus.documents) labels.push_back(d.label);
  auto [fit_pos, val_pos] = stratified_split(fold.train, labels, config.cv.validation_fraction, seed);
  const Vocabulary vocab = Vocabulary::build_from_positions(corpus.documents, fit_pos, config.data.min_token_frequency,
                                                            config.data.max_vocabulary);
  const TextLimits limits = text_limits(config.data);
  const TextInstances mode = text_instances_from_name(config.data.text_instances);
  MilData data;
  data.train = encode_documents(corpus.documents, fit_pos, vocab, limits, mode, "train");
  data.validation = encode_documents(corpus.documents, val_pos, vocab, limits, mode, "validation");
  data.test = encode_documents(corpus.documents, fold.test, vocab, limits, mode, "test");
  data.instance_shape = {mode == TextInstances::sentences ? limits.max_tokens_per_sentence : 1};
  data.vocabulary = vocab.tokens();
  if (!run_dir.empty())
    write_file_atomic(run_dir / "vocabulary" / fmt::format("r{}_f{}.txt", fold.repeat, fold.fold), vocab.to_text());
  return fit_fold(config, data, fold, seed, run_dir, t0);
}

namespace {

const char* const kMetricNames[] = {"loss", "accuracy", "error", "precision", "recall", "f1", "auc"};

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
  for (size_t i = 0; i < v.size(); ++i) j[kMetricNames[i]] = std::isnan(v[i]) ? nlohmann::json(nullptr) : nlohmann::json(v[i]);
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

/// The data of a cv run: every bag as one split, or (text_bags) the
/// documents, encoded per fold with the fold's own vocabulary.
struct CvData {
  BagSplit all;
  std::optional<TextCorpus> corpus;
  std::string summary;
  std::vector<int> labels;
};

/// Every bag of the config's data set (and the folds' labels).
CvData cv_data(const Config& config) {
  CvData d;
  if (config.data.kind == "text_bags") {
    d.corpus = read_text_documents(config.data);
    d.summary = "text_bags from " + config.data.path + ": " + d.corpus->summary +
                " (vocabulary built per fold from its training documents)";
    for (const TextDocument& doc : d.corpus->documents) d.labels.push_back(doc.label);
    return d;
  }
  if (config.data.kind == "image_patches") {
    ImagePatchBags bags = load_image_patch_bags(config.data);
    d.summary = bags.summary;
    d.all = std::move(bags.all);
  } else if (config.data.kind == "feature_bags") {
    const FeatureTable table = read_feature_csv(config.data.path);
    d.summary = fmt::format("feature_bags from {}: {} bags, {} instances of {} features", config.data.path,
                            table.num_bags(), table.num_rows(), table.dim);
    d.all = feature_table_split(table);
  } else {  // mnist_bags: cross-validate over the drawn training bags
    MilData m = load_mnist_bags(config.data, static_cast<uint64_t>(config.experiment.seed));
    std::vector<int64_t> pos(m.train.num_bags());
    for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int64_t>(i);
    d.summary = m.summary + " (cross-validating the training bags)";
    d.all = select_bags(m.train, pos, "all");
  }
  for (const Bag& b : d.all.bags) d.labels.push_back(b.label);
  return d;
}

/// The folds of config.cv over `d`.
std::vector<Fold> cv_folds(const Config& config, const CvData& d) {
  if (config.cv.split == "groups") {
    if (!d.corpus)
      throw std::invalid_argument("cv.split groups: data.kind " + config.data.kind +
                                  " has no groups (only text_bags: the cvN prefixes of the file names)");
    return polarity_folds(d.corpus->documents);
  }
  return stratified_kfold(d.labels, config.cv.folds, config.cv.repeats, static_cast<uint64_t>(config.experiment.seed));
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
  for (size_t i = 0; i < std::size(kMetricNames); ++i) {
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
    out[kMetricNames[i]] = s;
  }
  return out;
}

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
  const int64_t threads = std::max<int64_t>(
      1, (config.runtime.threads > 0 ? config.runtime.threads : std::thread::hardware_concurrency()) /
             std::max<int64_t>(1, is_worker ? jobs : 1));
  configure_runtime(jobs > 1 && !is_worker ? 1 : threads);

  const CvData data = cv_data(config);
  const std::string& summary_line = data.summary;
  const std::vector<Fold> folds = cv_folds(config, data);

  fs::path run_dir;
  if (is_worker) {
    run_dir = config.output.dir;
  } else if (resume) {
    run_dir = config.output.dir;
    const fs::path saved = run_dir / "config.yaml";
    if (!fs::is_regular_file(saved))
      throw std::runtime_error(saved.string() + ": nothing to resume (no config.yaml in --output)");
    std::ifstream in(saved);
    std::stringstream text;
    text << in.rdbuf();
    if (text.str() != config_to_yaml(config))
      throw std::runtime_error(saved.string() + ": the config differs from the one the run was started with");
    fs::remove(run_dir / "cv_summary.json");
    log << summary_line << "\n" << fmt::format("resuming {}\n", run_dir.string()) << std::flush;
  } else {
    run_dir = create_run_dir(config.output.dir, config.experiment.name);
    write_file_atomic(run_dir / "config.yaml", config_to_yaml(config));
    log << summary_line << "\n"
        << fmt::format("run directory {} | {} | {} job(s)\n", run_dir.string(),
                       config.cv.split == "groups"
                           ? fmt::format("{} folds by group", folds.size())
                           : fmt::format("{} repeats x {} folds", config.cv.repeats, config.cv.folds),
                       jobs)
        << std::flush;
  }

  if (!is_worker && jobs > 1) {
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
  } else {
    for (size_t i = 0; i < folds.size(); ++i) {
      if (is_worker && static_cast<int64_t>(i) % jobs != worker) continue;
      const fs::path file = fold_file(run_dir, folds[i]);
      if (fs::exists(file)) continue;  // finished before
      const FoldResult r = data.corpus ? run_text_fold(config, *data.corpus, folds[i], run_dir)
                                       : run_fold(config, data.all, folds[i], run_dir);
      write_file_atomic(file, fold_json(r).dump() + "\n");
      log << fmt::format("repeat {} fold {}: accuracy {:.4f} auc {:.4f}  ({} epochs, {:.1f} s)\n", r.repeat + 1,
                         r.fold + 1, r.metrics.accuracy, r.metrics.auc, r.epochs_run, r.seconds)
          << std::flush;
    }
  }
  if (is_worker) return {};

  std::vector<FoldResult> results;
  std::string csv = "repeat,fold,train_bags,validation_bags,test_bags,best_epoch,epochs_run,loss,accuracy,error,"
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
  const auto summary = summarize(results);
  nlohmann::json j;
  for (const auto& [name, s] : summary) {
    j[name] = {{"mean", s.mean}, {"std", s.std}, {"sem", s.sem}, {"n", s.n}};
    log << fmt::format("{:<10} mean {:.4f}  std {:.4f}  sem {:.4f}  (n = {})\n", name, s.mean, s.std, s.sem, s.n);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_file_atomic(run_dir / "cv_run.json",
                    nlohmann::json({{"seconds_total", seconds}, {"folds", results.size()}, {"jobs", jobs}}).dump(2) +
                        "\n");
  write_file_atomic(run_dir / "cv_summary.json", j.dump(2) + "\n");
  log << fmt::format("{} folds in {:.1f} s; run directory {}\n", results.size(), seconds, run_dir.string());
  return summary;
}

}  // namespace abmil
