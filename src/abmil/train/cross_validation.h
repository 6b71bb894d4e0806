// `abmil cv`: repeated stratified k-fold cross-validation (the protocol of the
// paper's Table 1: 5 repeats of 10-fold CV).
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "abmil/metrics/metrics.h"

namespace abmil {

struct Config;
struct CvSource;
struct Fold;

/// Test results of one fold.
struct FoldResult {
  int64_t repeat = 0, fold = 0;
  int64_t train_bags = 0, validation_bags = 0, test_bags = 0;
  int64_t best_epoch = 0, epochs_run = 0;
  double loss = 0;  ///< mean test bag loss, nats
  ClassificationMetrics metrics;
  double seconds = 0;  ///< wall time of the fold
};

/// Mean, standard deviation (sample, n - 1), standard error (std / sqrt n)
/// and count of one metric over folds.
struct MetricSummary {
  double mean = 0, std = 0, sem = 0;
  int64_t n = 0;
};

/// Seed of fold (repeat, fold) derived from the experiment seed (seed_seq).
uint64_t fold_seed(uint64_t seed, int64_t repeat, int64_t fold);

/// Trains and tests one fold of `source` (data/kinds.h): an inner
/// stratified `cv.validation_fraction` of the fold's training bags held out
/// for early stopping (stratified_split seeded from fold_seed), the fold's
/// splits made by source.make_fold (feature_bags with data.standardize:
/// statistics of the fold's training part only; text_bags: a vocabulary of
/// the fold's fitting documents, saved to RUN_DIR/vocabulary/r<R>_f<K>.txt),
/// the model initialised from fold_seed on runtime.device. With a `run_dir`
/// the fold's test predictions go to RUN_DIR/predictions/r<R>_f<K>.csv and,
/// with output.save_attention, its attention weights to
/// RUN_DIR/attention/r<R>_f<K>.csv (and r<R>_f<K>_tokens.csv for text
/// models): train/evaluate.h evaluate_and_write, bag ids = positions in the
/// source. Throws as run_train does.
FoldResult run_fold(const Config& config, const CvSource& source, const Fold& fold,
                    const std::filesystem::path& run_dir = {});

/// Summary of every metric (loss, accuracy, error, precision, recall, f1,
/// auc) over the folds; NaN values (an undefined AUC) are left out of n.
std::map<std::string, MetricSummary> summarize(const std::vector<FoldResult>& folds);

/// The whole `abmil cv` job: R x K folds of config.cv over the bags of the
/// data (feature_bags: the CSV; cv.split groups: one fold per group of the
/// data, text_bags only: polarity_folds), each fold's result written to
/// RUN/folds/r<R>_f<K>.json as it finishes (after its attention and
/// predictions files, see run_fold) (a fold already there is not run
/// again), then RUN/folds.csv, RUN/cv_run.json (wall time) and
/// RUN/cv_summary.json (`{"<metric>": {"mean", "std", "sem", "n"}}`, last). With
/// jobs > 1 the folds are spread over that many worker processes (`exe cv
/// RUN/config.yaml --worker i/jobs --output RUN`), each with threads/jobs
/// threads. `worker` >= 0 runs only the folds f with f % jobs == worker and
/// writes no summary; a worker gets SIGTERM when its parent process dies
/// (prctl PR_SET_PDEATHSIG), so killing `abmil cv` stops its workers too. With `resume` the run directory
/// config.output.dir must hold the same resolved config.yaml; its finished folds are kept. Throws as run_train does,
/// and std::runtime_error when a worker fails or the config to resume differs.
std::map<std::string, MetricSummary> run_cv(const Config& config, std::ostream& log, int64_t jobs = 1,
                                            int64_t worker = -1, const std::string& exe = "", bool resume = false);

}  // namespace abmil
