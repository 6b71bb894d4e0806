// The evaluation both `abmil train` and `abmil cv` (and `abmil predict`) end
// with: predictions and attention of a split written to the run directory,
// bag and instance-level metrics, and their metrics.json object.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "abmil/metrics/metrics.h"
#include "abmil/nn/mil_model.h"

namespace abmil {

struct BagSplit;
struct Config;

/// `x` as JSON: the number, or null for NaN (metrics.json, folds/*.json).
nlohmann::json json_number(double x);

/// Bag metrics as a metrics.json object: loss (nats), accuracy, error,
/// precision, recall, f1, auc (null when undefined) and the confusion counts.
nlohmann::json metrics_json(const ClassificationMetrics& m, double loss);

struct BagPredictions;

/// Adds the multi-class figures of `p` (class_probabilities defined) to a
/// split's metrics.json object `j`: "classes" (names, index order),
/// "balanced_accuracy", "macro_f1", "macro_auc", "per_class" (name ->
/// auc, precision, recall, f1) and "confusion_matrix" (rows: true class,
/// columns: predicted); the binary "confusion" counts are removed. In
/// `j`, accuracy/precision/recall/f1/auc already hold prediction_metrics'
/// accuracy and macro averages.
void multiclass_json(const BagPredictions& p, const std::vector<std::string>& classes, nlohmann::json& j);

/// Adds the multi-label figures of `p` (multi_label, targets defined) at
/// `threshold` to a split's metrics.json object `j`: "labels" (names, index
/// order), "multi_label": true, "exact_match", "micro_f1", "macro_f1",
/// "macro_auc", "per_label" (name -> auc, f1); the binary "confusion" counts
/// are removed (multilabel_metrics).
void multilabel_json(const BagPredictions& p, const std::vector<std::string>& classes, double threshold,
                     nlohmann::json& j);

/// Results of a trained model on one split, as evaluate_and_write computes them.
struct SplitEvaluation {
  ClassificationMetrics metrics;
  double loss = 0;          ///< mean negative Bernoulli log-likelihood, nats
  double instance_auc = 0;  ///< attention AUC over instances of positive bags (NaN without attention or labels)
  double seconds = 0;       ///< wall time of the prediction
  bool labelled = true;     ///< every bag has a label; else metrics, loss and instance AUC are NaN
  nlohmann::json json;      ///< the split's object of metrics.json
};

/// Predicts every bag of `split` (train/trainer.h predict, in passes of
/// eval.max_instances_per_pass instances), writes DIR/predictions/STEM.csv
/// and, with output.save_attention, DIR/attention/STEM.csv (and
/// DIR/attention/STEM_tokens.csv for encoders with inner attention), then
/// computes bag metrics at eval.threshold, the instance AUC and the top-k
/// (eval.top_k) instance precision/recall (null without instance labels).
/// When a bag has no label (`abmil predict`), no metric is computed: the JSON
/// object has only "bags", "labelled_bags" and "seconds". Throws
/// std::runtime_error naming the file on an I/O error.
SplitEvaluation evaluate_and_write(MilModel& model, const BagSplit& split, const Config& config, c10::Device device,
                                   const std::filesystem::path& dir, const std::string& stem);

/// Creates the run directory of `config` (create_run_dir with output.dir and
/// experiment.name) and writes its resolved config.yaml there first.
/// Throws std::runtime_error as create_run_dir.
std::filesystem::path start_run_dir(const Config& config);

}  // namespace abmil
