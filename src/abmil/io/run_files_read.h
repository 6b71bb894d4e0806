// Readers of the files a finished run leaves in its directory (the layout is listed in
// io/run_dir.h), for `abmil report`. Each reader names the writer of its format; when a writer
// changes its columns or keys, the reader beside it must follow. Every error is a
// std::runtime_error naming the file, and the 1-based line where there is one
// ("RUN/metrics.csv:3: expected 10 cells, found 5"). No LibTorch here.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "abmil/io/csv_table.h"

namespace abmil {

/// The bytes of the file `path`. Throws std::runtime_error "PATH: cannot open" or "PATH: read error".
std::string read_run_file(const std::filesystem::path& path);

// ---- metrics.csv ------------------------------------------------------------------------------

/// One row of metrics.csv, the columns the report plots. Epochs count from 1; loss is the mean
/// negative log-likelihood per bag, auc a fraction in [0, 1]; an empty cell reads as NaN.
struct MetricsCsvRow {
  double epoch = 0;
  std::string split;  ///< "train", "validation" or "test"
  double loss = 0, auc = 0;
};

/// Rows of RUN/metrics.csv, written by metrics_csv() (train/run_files.h; header
/// `epoch,split,loss,accuracy,error,precision,recall,f1,auc,seconds`). Every cell but `split` must
/// be a number or empty, and `epoch` must not be empty. Throws (read_csv's errors, and) "PATH:1: no
/// column 'NAME' in the header", "PATH:LINE: 'CELL' is not a number (column 'NAME')",
/// "PATH:LINE: empty epoch".
std::vector<MetricsCsvRow> read_metrics_csv(const std::filesystem::path& path);

// ---- predictions/test.csv and attention/test.csv ------------------------------------------------

/// Label (class index: 0/1, or 0..C-1 in a C-class run) and predicted probability (in [0, 1]; NaN
/// when empty; the predicted class's in a C-class run) of one bag.
struct BagScore {
  int label = 0;
  double probability = 0;
};

/// Per-bag scores of RUN/predictions/test.csv, in file order, written by predictions_csv()
/// (train/run_files.h; header `bag_id,bag_name,bag_label,bag_probability,instances`, read in read_csv's
/// quoted mode: a bag_name may be double-quoted). Throws (read_csv's errors,
/// and) "PATH:1: no column 'bag_label' in the header" (or bag_probability), "PATH:LINE: empty
/// bag_label", and CsvTable's errors for a label that is not a class index or a probability not a number.
std::vector<BagScore> read_predictions_csv(const std::filesystem::path& path);

/// Per-bag scores from an attention CSV read with read_csv, quoted (RUN/attention/test.csv, written by
/// attention_csv() in train/run_files.h; one row per instance): the bag_label and bag_probability of
/// each bag's first row, bags in order of first appearance of their bag_id. Throws as
/// read_predictions_csv, and "PATH:1: no column 'bag_id' in the header".
std::vector<BagScore> attention_bag_scores(const CsvTable& attention);

/// Attention weights of instances, split by the 0/1 instance label.
struct InstanceWeights {
  std::vector<double> positive;  ///< weights of label-1 instances, in file order
  std::vector<double> negative;  ///< weights of label-0 instances, in file order
};

/// Attention weights by instance label from an attention CSV (see attention_bag_scores): rows with
/// an empty attention_weight or instance_label are skipped; both lists are empty when either
/// column is missing. Throws CsvTable's "PATH:LINE: ..." errors for a cell that is not a number or
/// a label other than 0/1.
InstanceWeights attention_weights_by_label(const CsvTable& attention);

// ---- metrics.json -------------------------------------------------------------------------------

/// RUN/metrics.json parsed, written last by run_train and run_predict (train/run.cpp): an object
/// with "test" (metric name -> number, "confusion" {tp, fp, tn, fn}, ...), "training" (best_epoch,
/// epochs_run, stopped_early, seconds, threads) and "seconds_total". Throws "PATH: cannot open",
/// "PATH: " + nlohmann's parse error (which gives line and column), or "PATH: expected a JSON
/// object".
nlohmann::json read_metrics_json(const std::filesystem::path& path);

/// Member `key` of the JSON object `obj`, when it is an object; nullptr when absent or null.
/// Throws "FILE: 'KEY' is not an object" for any other type (`file` names the source for errors).
const nlohmann::json* json_object_member(const nlohmann::json& obj, const char* key, const std::filesystem::path& file);

/// Member `key` of the JSON object `*obj` as a number; nullopt when `obj` is null or the member is
/// absent or null. Throws "FILE: 'KEY' is not a number" for any other type.
std::optional<double> json_number_member(const nlohmann::json* obj, const char* key, const std::filesystem::path& file);

}  // namespace abmil
