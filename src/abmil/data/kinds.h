// The registry of data kinds: everything the commands need to know about a
// `data.kind`, in one table (data/kinds.cpp). Adding a data kind = one new
// file with its loaders plus one entry there (README, "Architecture").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "abmil/data/bag.h"

namespace abmil {

struct DataConfig;
struct Fold;
class Vocabulary;

/// The data kinds abmil reads (config key `data.kind`).
enum class DataKind { mnist_bags, feature_bags, image_patches, text_bags, feature_files };

/// What `abmil visualize` draws for a kind's test bags.
enum class InstanceView {
  digit_strips,    ///< small images: one strip of instances per bag (mnist_bags)
  image_overlays,  ///< patches of one image: weight heatmap over it and a top-k montage (image_patches)
  text_pages,      ///< one HTML page per document, sentences and tokens shaded (text_bags)
  slide_heatmaps,  ///< patches of a whole slide at their coordinates, over the slide's picture (feature_files)
  none,            ///< nothing to draw (feature vectors)
};

/// The positions (in a CvSource's bag list) of one cross-validation fold:
/// `train` = the fold's training bags (sorted), split into `fit` and the
/// inner `validation` hold-out; `test` = the fold's test bags.
struct FoldPositions {
  std::vector<int64_t> train, fit, validation, test;
};

/// The bags of an `abmil cv` run before folding.
struct CvSource {
  std::string summary;      ///< one line for the log
  std::vector<int> labels;  ///< per bag: its label (0/1 or class index), what the folds are stratified by
  /// per bag: its case (patient); folds and inner validation hold-outs
  /// never divide a case (grouped_stratified_kfold). Empty: every bag alone.
  std::vector<std::string> cases;
  /// cv.split groups: one fold per group of the data; empty for a kind
  /// without groups.
  std::function<std::vector<Fold>()> group_folds;
  /// The three splits of one fold (and, text_bags, the vocabulary built from
  /// its `fit` bags only); feature statistics from its `train` bags only.
  std::function<MilData(const FoldPositions&)> make_fold;
};

/// What a trained run fixed about its input, for `abmil predict`: new bags
/// must reach the model as its training bags did (pixel_mean/pixel_std are
/// set in the DataConfig given to load_predict).
struct Preprocessing {
  /// feature_bags: the training bags' per-feature mean and standard deviation
  /// ([D] float64) to z-score with; undefined when the run did not standardise.
  torch::Tensor feature_mean, feature_std;
  const Vocabulary* vocabulary = nullptr;  ///< text_bags: the trained model's token ids (required)
};

/// One entry of the registry.
struct DataKindInfo {
  DataKind kind;
  const char* name;  ///< the `data.kind` value
  /// `abmil train` / `abmil predict`: the train / validation / test splits
  /// of the data set of `data`, deterministic from `seed`. `vocabulary`
  /// (text_bags, for predict): the trained run's, used instead of a new one;
  /// other kinds ignore it. Throws DataError for bad files.
  MilData (*load)(const DataConfig& data, uint64_t seed, const Vocabulary* vocabulary);
  /// `abmil cv`: every bag of the data set (mnist_bags: the drawn training bags).
  CvSource (*load_cv)(const DataConfig& data, uint64_t seed);
  /// `abmil predict`: every bag of `data` (mnist_bags: the drawn test bags)
  /// in MilData::test (split name "predict"), in the order of the input, with
  /// the user's ids (Bag::name) and labels where given (-1 where not), made
  /// model input as `prep` says; train and validation empty; summary and
  /// instance_shape set. Throws DataError for bad files, and for features of
  /// another dimension than prep.feature_mean.
  MilData (*load_predict)(const DataConfig& data, uint64_t seed, const Preprocessing& prep);
  InstanceView view;     ///< what `abmil visualize` draws
  bool uses_vocabulary;  ///< a run saves vocabulary.txt and `abmil predict` encodes with it
};

/// Every registered kind, in the order of the config's choices.
const std::vector<DataKindInfo>& data_kinds();

/// The registry entry of `name`. Throws std::invalid_argument "data.kind:
/// unknown data kind 'NAME'" for a name not registered.
const DataKindInfo& data_kind(const std::string& name);

/// The data of `data.kind`: data_kind(data.kind).load(data, seed, vocabulary).
/// Throws std::invalid_argument for an unknown kind, DataError for bad files.
MilData load_data(const DataConfig& data, uint64_t seed, const Vocabulary* vocabulary = nullptr);

}  // namespace abmil
