// `abmil train`: the whole job from a Config to a finished run directory.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "abmil/metrics/metrics.h"

namespace abmil {

struct Config;

/// What a finished training run reports.
struct RunSummary {
  std::filesystem::path run_dir;
  ClassificationMetrics test;  ///< test-split metrics of the restored best weights
  double test_loss = 0;        ///< mean negative Bernoulli log-likelihood, nats
  double instance_auc = 0;     ///< attention AUC over instances of positive test bags (NaN without attention)
  int64_t best_epoch = 0, epochs_run = 0;
  double train_seconds = 0, total_seconds = 0;
};

/// Loads the data, builds the model, trains, evaluates on the test split and
/// writes the run directory (see io/run_dir.h) under `config.output.dir`.
/// With output.save_checkpoint, a resumable checkpoint (train/checkpoint.h)
/// is written every train.checkpoint_every epochs and at each new best.
/// With `resume_dir` set, that run directory is continued instead (its
/// config.yaml must be `config`): from its newest checkpoint that verifies
/// (each rejected one is logged), or from the start when there is none; the
/// finished run equals an uninterrupted one file by file, timings aside.
/// Logs one line per epoch to `log`; a progress bar goes to stderr when
/// `runtime.progress` asks for it. Throws DataError, ConfigError or
/// std::runtime_error with a one-line message on bad input, and
/// TrainingDiverged (naming epoch, step and the last good checkpoint) on a
/// non-finite loss or gradient; metrics.json is then not written, so the run
/// never looks complete.
RunSummary run_train(const Config& config, std::ostream& log, const std::filesystem::path& resume_dir = {});

/// `abmil predict RUN_DIR INPUT`: predictions and attention for every bag of
/// INPUT, no training. INPUT is a config file (.yaml/.yml; its data section,
/// of the run's data.kind) or directly what the run's data.path was: a
/// feature CSV, an image list or folder, a text folder or list (labels
/// optional; `overrides` as `--set` on top). Builds the model of
/// RUN_DIR/config.yaml, loads RUN_DIR/checkpoints/best.pt, reads the bags with
/// the run's preprocessing (train/preprocessing.h: feature statistics, pixel
/// normalisation; the vocabulary) and writes config.yaml, predictions/test.csv
/// and attention/test.csv (rows named by the user's ids, Bag::name) and
/// metrics.json (last; bag metrics only when every bag has a label) into
/// `output_dir` (default RUN_DIR/predict, or predict-2, ... if taken); the
/// output folder is checked before the data is read, and nothing is written
/// when the data is bad. Returns that folder. Throws std::runtime_error naming
/// the file for a missing run file or an incompatible checkpoint, and as
/// run_train for bad data.
std::filesystem::path run_predict(const std::filesystem::path& run_dir, const std::string& input,
                                  const std::vector<std::string>& overrides, const std::string& output_dir,
                                  std::ostream& log);

/// What `abmil embed` wrote.
struct EmbedSummary {
  std::filesystem::path dir;  ///< the output folder
  int64_t bags = 0, dim = 0;  ///< rows and columns of embeddings.npy
  int64_t queries = 0;        ///< labelled test bags scored by retrieval
  double top1_accuracy = 0;   ///< share of them whose nearest training bag (cosine) has their label; NaN without
};

/// `abmil embed RUN_DIR [CONFIG]`: the bag embedding z (before the
/// classifier; MilOutput::bag_embedding) of every bag of CONFIG's data
/// (default: the run's own config.yaml; `overrides` as --set), split as
/// training split it (same data.kind, seed and files), with the run's best
/// weights. Writes into `output_dir` (default RUN_DIR/embed, or embed-2, ...):
/// embeddings.npy (float32 [B, D], rows train, validation, test; each row
/// L2-normalised unless `raw`), embeddings.csv (row,split,bag_id,bag_name,label)
/// and embed.json (last) with the retrieval check: the top-1 nearest-neighbour
/// accuracy of the labelled test bags against the training and validation
/// bags by cosine similarity. Throws std::runtime_error for a missing run
/// file, an instance-level pooling (no z) or another data.kind, ConfigError
/// and DataError as run_train.
EmbedSummary run_embed(const std::filesystem::path& run_dir, const std::string& config_path,
                       const std::vector<std::string>& overrides, const std::string& output_dir, bool raw,
                       std::ostream& log);

}  // namespace abmil
