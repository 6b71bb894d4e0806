// Bags, splits of bags, the data set of a run and batches of bags: the types
// every data kind produces and every model consumes.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace abmil {

/// One bag X = {x_1, ..., x_K} with its bag label Y (paper Sec. 2.1).
/// The instances themselves live in the owning BagSplit's tensor.
struct Bag {
  int64_t id = 0;  ///< bag id, unique within its split
  /// bag label Y: in {0, 1} for binary data; the class index 0..C-1 with C
  /// classes (MilData::classes); -1 when unknown (`abmil predict`)
  int label = 0;
  /// The user's id of the bag: the bag_id cell of a feature CSV, the image's
  /// path as listed, the document's name (TextDocument::name); empty for
  /// drawn bags (mnist_bags), which are known by `id`.
  std::string name;
  std::vector<int64_t> source_indices;  ///< per instance: index of its source item (e.g. image index in the IDX file)
  std::vector<int> instance_labels;     ///< per instance: y_k in {0, 1}, or -1 when unknown; evaluation only
  /// Multi-label data (MilData::multi_label): [C] 0/1, label c present; `label` is then 1 when any is
  /// present, 0 when none, -1 when unknown (targets empty). Empty for single-label data.
  std::vector<float> targets;
  int64_t size() const { return static_cast<int64_t>(source_indices.size()); }
};

struct Bag;

/// Reads the instances of a bag that stays on disk (data.kind feature_files:
/// one file per slide), for a split whose instances are not in memory.
/// Implementations are safe to call from a second thread (the prefetcher)
/// while the first trains.
class BagReader {
 public:
  virtual ~BagReader() = default;
  /// The instances of `bag`, [bag.size(), D] float32, read from its file.
  /// Throws DataError naming the file when it is unreadable or has changed.
  virtual torch::Tensor read(const Bag& bag) const = 0;
  /// The (x, y) of each instance of `bag`, [bag.size(), 2] int64, level-0
  /// pixels of the patch's top-left corner (whole slides); undefined when
  /// the file has none. Throws DataError as read().
  virtual torch::Tensor coords(const Bag& bag) const { return {}; }
};

/// A named set of bags with their instances stored contiguously, bag after
/// bag; or, with `reader` set and `instances` undefined, bags read from disk
/// when a batch needs them (streamed; peak memory independent of the bags).
struct BagSplit {
  std::string name;  ///< "train", "validation", "test"
  std::vector<Bag> bags;
  /// [N_total, ...instance shape]: float32 features, uint8 pixels, or int64
  /// token ids (text_bags, data/text_bags.h); see model_input.
  torch::Tensor instances;
  std::vector<int64_t> offsets;  ///< size bags+1: bag b owns rows [offsets[b], offsets[b+1])
  /// Set for a streamed split (instances undefined): reads each bag's instances.
  std::shared_ptr<const BagReader> reader;
  /// uint8 instances (image patches, 0..255) become model input as
  /// (x / 255 - pixel_mean) / pixel_std (model_input); unused for float32 instances.
  double pixel_mean = 0.0, pixel_std = 1.0;

  int64_t num_bags() const { return static_cast<int64_t>(bags.size()); }
  int64_t num_instances() const { return offsets.empty() ? 0 : offsets.back(); }
  bool streamed() const { return !instances.defined() && reader != nullptr; }
};

/// Training, validation and test bags of one data set, ready for a model.
struct MilData {
  BagSplit train, validation, test;
  std::vector<int64_t> instance_shape;  ///< shape of one instance, e.g. {1, 28, 28}
  std::string summary;                  ///< one line for the log
  /// text_bags: the token of each id (0 = "<pad>", 1 = "<unk>"), built from
  /// the training documents only; its size is the rows of an embedding
  /// table. Empty for the other kinds. See Vocabulary in data/text.h.
  std::vector<std::string> vocabulary;
  /// feature_bags with data.standardize: the per-feature mean and standard
  /// deviation ([D] float64) of the training bags the instances were
  /// z-scored with (saved with a run for `abmil predict`); undefined otherwise.
  torch::Tensor feature_mean, feature_std;
  /// Class names, index order, for data with named classes (feature_files);
  /// empty for the binary kinds (labels 0/1). With C = classes.size() > 2
  /// the model has C outputs (softmax, cross-entropy); with 2 or none, one
  /// logit of P(Y=1) (sigmoid, binary cross-entropy).
  std::vector<std::string> classes;
  /// Multi-label: a bag holds any subset of the C = classes.size() labels
  /// (Bag::targets); the model has C outputs, one sigmoid each (BCE).
  bool multi_label = false;
  /// Outputs of the bag classifier: C when multi_label or classes.size() > 2, else 1.
  int64_t num_outputs() const {
    return multi_label || classes.size() > 2 ? static_cast<int64_t>(classes.size()) : 1;
  }
};

/// B bags packed into one tensor of instances, no padding (README, "Architecture").
struct BagBatch {
  torch::Tensor instances;         ///< [N, ...instance shape], N = sum of the B bag sizes
  torch::Tensor bag_index;         ///< [N] int64, bag (0..B-1) of each instance, non-decreasing
  torch::Tensor labels;            ///< [B] float32 bag labels; multi-label: [B, C] 0/1 (Bag::targets)
  std::vector<int64_t> positions;  ///< the B bags' positions in their split
  int64_t num_bags() const { return static_cast<int64_t>(positions.size()); }
};

/// Model input of instances stored in `split`'s format: `stored` itself when
/// float32; uint8 pixels as float32 (x / 255 - split.pixel_mean) /
/// split.pixel_std, same shape; int64 token ids (text_bags) passed through as
/// they are, `stored` itself, for an encoder that starts with an embedding
/// table. Throws std::invalid_argument for another dtype.
torch::Tensor model_input(const BagSplit& split, const torch::Tensor& stored);

/// The instances of the bag at `position` of `split`: a view of its rows,
/// or (streamed) read by split.reader. Throws std::out_of_range for a bad
/// position, DataError (streamed) for an unreadable file.
torch::Tensor bag_instances(const BagSplit& split, int64_t position);

/// Builds a BagSplit from bags and a function giving each instance's tensor.
/// `instance_rows` is [num_sources, ...shape]; row `source_indices[k]` of it
/// becomes instance k. Throws std::out_of_range for a source index outside it.
BagSplit make_split(std::string name, std::vector<Bag> bags, const torch::Tensor& instance_rows);

/// Packs the bags at `positions` of `split` into a batch (instances copied in
/// the order of `positions`; a streamed split's bags read from disk).
/// Throws std::out_of_range for a bad position, DataError as bag_instances.
BagBatch make_batch(const BagSplit& split, const std::vector<int64_t>& positions);

/// Splits `split` into two by bag positions (e.g. training and validation),
/// copying the instances (a streamed split's reader is shared, nothing is
/// read). Bags keep their ids.
BagSplit select_bags(const BagSplit& split, const std::vector<int64_t>& positions, std::string name);

}  // namespace abmil
