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
struct BagSplit;
struct Fold;
struct TextCorpus;

/// Test results of one fold.
struct FoldResult {
  int64_t repeat = 0, fold = 0;
  int64_t train_bags = 0, validation_bags = 0, test_bags = 0;
  int64_t best_epoch = 0, epochs_run = 0;
  double loss = 0;     ///< mean test bag loss, nats
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

/// Trains and tests one fold of `all`: an inner stratified
/// `cv.validation_fraction` of the fold's training bags for early stopping,
/// features standardised with the fold's training part only
/// (`data.standardize`), model initialised from fold_seed. With a `run_dir`
/// and output.save_attention, the fold's test predictions and attention
/// weights go to RUN_DIR/predictions/r<R>_f<K>.csv and
/// RUN_DIR/attention/r<R>_f<K>.csv (the layouts of predictions_csv and
/// attention_csv; bag ids = positions in `all`).
FoldResult run_fold(const Config& config, const BagSplit& all, const Fold& fold,
                    const std::filesystem::path& run_dir = {});

/// run_fold for text bags: fold.train and fold.test are positions in
/// `corpus.documents`; the inner validation split is drawn as in run_fold,
/// the Vocabulary is built from the fold's fitting documents only
/// (data.min_token_frequency, data.max_vocabulary; saved to
/// RUN_DIR/vocabulary/r<R>_f<K>.txt) and the three splits are encoded with
/// it (encode_documents). With output.save_attention the token weights go
/// to RUN_DIR/attention/r<R>_f<K>_tokens.csv (token_attention_csv) as well.
/// Throws as run_fold and encode_documents.
FoldResult run_text_fold(const Config& config, const TextCorpus& corpus, const Fold& fold,
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
/// (prctl PR_SET_PDEATHSIG), so killing `abmil cv` stops its workers too. With `resume` the run directory config.output.dir must
/// hold the same resolved config.yaml; its finished folds are kept. Throws as
/// run_train does, and std::runtime_error when a worker fails or the config
/// to resume differs.
std::map<std::string, MetricSummary> run_cv(const Config& config, std::ostream& log, int64_t jobs = 1,
                                            int64_t worker = -1, const std::string& exe = "", bool resume = false);

}  // namespace abmil
