// The run directory: everything a run leaves behind (README, "What a run leaves").
//
//   RUN_DIR/config.yaml          resolved configuration (every key)
//   RUN_DIR/metrics.csv          one row per epoch and split
//   RUN_DIR/predictions/test.csv one row per test bag
//   RUN_DIR/attention/test.csv   one row per instance of every test bag
//   RUN_DIR/checkpoints/best.pt  weights of the best epoch (torch::save archive)
//   RUN_DIR/metrics.json         final metrics; written last, so its presence
//                                marks a complete run
// Every file is written atomically (temp file, fsync, rename).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace abmil {

struct BagSplit;
struct BagPredictions;
struct EpochLog;

/// Writes `content` to `path` atomically: a temp file beside it, fsync, then
/// rename over `path`. Creates missing parent folders. Throws std::runtime_error
/// naming the path on any I/O failure; `path` is then untouched.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

/// Creates the run directory. With `requested` non-empty that folder is used
/// and must not exist or be empty (else std::runtime_error naming it); with it
/// empty, runs/<name> is used, or runs/<name>-2, -3, ... if taken.
std::filesystem::path create_run_dir(const std::string& requested, const std::string& name);

/// metrics.csv text: header `epoch,split,loss,accuracy,error,precision,recall,f1,auc,seconds`
/// and one row per log entry.
std::string metrics_csv(const std::vector<EpochLog>& history);

/// Bag predictions CSV text, one row per bag of `split`:
/// `bag_id,bag_label,bag_probability,instances`.
std::string predictions_csv(const BagSplit& split, const BagPredictions& predictions);

/// Attention CSV text, one row per instance of every bag of `split`:
/// `bag_id,instance_index,source_index,instance_label,attention_weight,attention_logit,instance_probability,bag_label,bag_probability`.
/// Columns a model does not produce are left empty.
std::string attention_csv(const BagSplit& split, const BagPredictions& predictions);

/// Inner attention CSV text (text sentences: the token weights of each
/// sentence, BagPredictions::inner_attention), one row per non-<pad> part of
/// every instance of `split`: `bag_id,instance_index,token_index,token_id,attention_weight`
/// (token_index: position in the sentence; the weights of one instance sum to 1).
/// Throws std::invalid_argument when `predictions` has no inner attention.
std::string token_attention_csv(const BagSplit& split, const BagPredictions& predictions);

/// The whole contents of the file `path`. Throws std::runtime_error "PATH: cannot read".
std::string read_file(const std::filesystem::path& path);

}  // namespace abmil
