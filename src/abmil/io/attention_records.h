// Reading a run's attention CSVs (RUN/attention/test.csv of `abmil train` and
// `abmil predict`, attention/r<R>_f<K>.csv of `abmil cv`; written by
// attention_csv() in train/run_files.h) into bags and instances, for
// `abmil visualize`. No LibTorch here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace abmil {

/// What an attention CSV says of one instance.
struct InstanceRecord {
  int64_t source_index = 0;  ///< where the instance came from (IDX image, patch of the image, row of the slide file)
  double weight = -1;        ///< attention weight, else instance probability, else -1
  int label = -1;            ///< instance label 0/1; -1 when unknown
  bool has_xy = false;       ///< whether x and y are known
  int64_t x = 0, y = 0;      ///< level-0 pixels of the patch's top-left corner (feature_files), when has_xy
  /// Multi-branch models: the weight of every attention_<class> column, in
  /// header order (AttentionRecords::branches); NaN where a cell is empty.
  std::vector<double> branch_weights;
};

/// What an attention CSV says of one bag.
struct BagRecord {
  std::string name;                       ///< bag_name: the user's id of the bag (feature_files: the slide id)
  int label = 0;                          ///< bag_label: class index (0/1, or 0..C-1); -1 when unknown
  double probability = 0;                 ///< bag_probability: P(positive), or the predicted class's in a C-class run
  std::vector<InstanceRecord> instances;  ///< in instance_index order
};

/// An attention CSV read whole.
struct AttentionRecords {
  std::filesystem::path path;         ///< the file read
  std::map<int64_t, BagRecord> bags;  ///< by bag_id
  bool has_attention = false;         ///< some row has an attention_weight (else weights are instance probabilities)
  bool has_xy = false;                ///< the header has the x,y columns
  /// The class names of the attention_<class> columns (multi-branch models),
  /// header order; empty for a single attention branch.
  std::vector<std::string> branches;
};

/// Reads the attention CSV `path` (read_csv, quoted: a bag_name may be
/// double-quoted). The header is attention_csv's ten columns
/// `bag_id,bag_name,instance_index,source_index,instance_label,attention_weight,attention_logit,instance_probability,bag_label,bag_probability`,
/// optionally followed by `x,y` (integers, both empty when unknown) and then
/// by any number of `attention_<class>` columns (numbers or empty).
/// Throws std::runtime_error naming the file (and line): "PATH: cannot read
/// (run `abmil train` with output.save_attention)" when it is missing,
/// "PATH:1: unexpected header (written by another abmil version?)",
/// "PATH:LINE: instance_index out of order", "PATH:LINE: empty
/// bag_probability", "PATH:LINE: x and y must be both given or both empty",
/// and CsvTable's errors for a cell that is not a number, an integer or a
/// label.
AttentionRecords read_attention_records(const std::filesystem::path& path);

/// The attention files of a run: attention/test.csv of `abmil train` (and
/// predict), else the first repeat's attention/r0_f<K>.csv of `abmil cv`
/// (every bag is a test bag once per repeat), K = 0, 1, ... while they
/// exist. Empty when there are none.
std::vector<std::filesystem::path> attention_files(const std::filesystem::path& run_dir);

}  // namespace abmil
