#include "abmil/data/kinds.h"

#include <fmt/format.h>

#include <stdexcept>

#include "abmil/config/config.h"
#include "abmil/data/errors.h"
#include "abmil/data/feature_bags.h"
#include "abmil/data/feature_csv.h"
#include "abmil/data/folds.h"
#include "abmil/data/image_patches.h"
#include "abmil/data/mnist_bags.h"
#include "abmil/data/slide_bags.h"
#include "abmil/data/splits.h"
#include "abmil/data/text.h"
#include "abmil/data/text_bags.h"

namespace abmil {
namespace {

/// make_fold of the kinds whose bags are one BagSplit: the fold's splits
/// copied out of `all`; with `standardize`, z-scored with the statistics of
/// the fold's training part (fitting + validation bags), never its test bags.
std::function<MilData(const FoldPositions&)> fold_of_split(BagSplit all, bool standardize_features) {
  auto shared = std::make_shared<const BagSplit>(std::move(all));
  return [shared, standardize_features](const FoldPositions& p) {
    const BagSplit& all = *shared;
    MilData data;
    data.train = select_bags(all, p.fit, "train");
    data.validation = select_bags(all, p.validation, "validation");
    data.test = select_bags(all, p.test, "test");
    if (standardize_features) {
      const BagSplit training_part = select_bags(all, p.train, "training part");
      standardize(training_part, {&data.train, &data.validation, &data.test});
    }
    std::vector<int64_t> shape = all.instances.sizes().vec();
    shape.erase(shape.begin());
    data.instance_shape = shape;
    return data;
  };
}

/// A CvSource over the bags of `all` (no groups), read from `source_name`
/// (for the error of an unlabelled bag).
CvSource split_source(BagSplit all, std::string summary, bool standardize_features, const std::string& source_name) {
  CvSource source;
  source.summary = std::move(summary);
  source.labels = bag_labels(all);
  require_labels(source.labels, bag_names(all), source_name);
  source.make_fold = fold_of_split(std::move(all), standardize_features);
  return source;
}

MilData load_mnist(const DataConfig& data, uint64_t seed, const Vocabulary*) { return load_mnist_bags(data, seed); }
MilData load_features(const DataConfig& data, uint64_t seed, const Vocabulary*) {
  return load_feature_bags(data, seed);
}
MilData load_images(const DataConfig& data, uint64_t seed, const Vocabulary*) { return load_image_patches(data, seed); }
MilData load_text(const DataConfig& data, uint64_t seed, const Vocabulary* vocabulary) {
  return load_text_bags(data, seed, vocabulary);
}

MilData load_slides(const DataConfig& data, uint64_t seed, const Vocabulary*) { return load_slide_bags(data, seed); }

MilData predict_mnist(const DataConfig& data, uint64_t seed, const Preprocessing&) {
  MilData drawn = load_mnist_bags(data, seed);
  MilData out;
  out.test = std::move(drawn.test);
  out.test.name = "predict";
  out.instance_shape = drawn.instance_shape;
  out.classes = drawn.classes;  // data.targets: the model's outputs
  out.multi_label = drawn.multi_label;
  out.summary = drawn.summary + " (predicting its test bags)";
  return out;
}

MilData predict_features(const DataConfig& data, uint64_t, const Preprocessing& prep) {
  if (data.path.empty()) throw std::invalid_argument("data.path: feature_bags needs the CSV file");
  const FeatureTable table = read_feature_csv(data.path);
  MilData out;
  out.test = feature_table_split(table);
  out.test.name = "predict";
  if (prep.feature_mean.defined()) {
    if (prep.feature_mean.numel() != table.dim)
      throw DataError(fmt::format("{}: {} features per instance, but the run was trained on {}", data.path, table.dim,
                                  prep.feature_mean.numel()));
    apply_standardization({&out.test}, prep.feature_mean, prep.feature_std);
  }
  out.instance_shape = {table.dim};
  out.summary = fmt::format("feature_bags from {}: {} bags, {} instances of {} features{}", data.path, table.num_bags(),
                            table.num_rows(), table.dim,
                            prep.feature_mean.defined() ? ", standardised with the run's training statistics" : "");
  return out;
}

MilData predict_images(const DataConfig& data, uint64_t, const Preprocessing&) {
  ImagePatchBags bags = load_image_patch_bags(data);
  MilData out;
  out.test = std::move(bags.all);
  out.test.name = "predict";
  out.instance_shape = {3, data.patch_size, data.patch_size};
  out.summary = bags.summary;
  return out;
}

MilData predict_text(const DataConfig& data, uint64_t, const Preprocessing& prep) {
  if (!prep.vocabulary) throw std::invalid_argument("predict text_bags: the trained run's vocabulary is needed");
  const TextCorpus corpus = read_text_documents(data);
  std::vector<int64_t> all(corpus.documents.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  const TextInstances mode = text_instances_from_name(data.text_instances);
  const TextLimits limits = text_limits(data);
  TextEncodingStats stats;
  MilData out;
  out.test = encode_documents(corpus.documents, all, *prep.vocabulary, limits, mode, "predict", &stats);
  out.instance_shape = {mode == TextInstances::sentences ? limits.max_tokens_per_sentence : 1};
  out.vocabulary = prep.vocabulary->tokens();
  out.summary = fmt::format("text_bags from {}: {}; {} of {} kept tokens not in the run's vocabulary", data.path,
                            corpus.summary, stats.unknown_tokens, stats.tokens);
  return out;
}

/// mnist_bags: cross-validate over the drawn training bags.
CvSource cv_mnist(const DataConfig& data, uint64_t seed) {
  MilData m = load_mnist_bags(data, seed);
  std::vector<int64_t> pos(m.train.num_bags());
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int64_t>(i);
  CvSource source = split_source(select_bags(m.train, pos, "all"), m.summary + " (cross-validating the training bags)",
                                 false, data.root);
  if (m.classes.empty()) return source;
  // data.targets: folds stratified by class or label set; each fold's data names its classes.
  source.labels = mnist_bag_strata(m.train);
  source.make_fold = [make = std::move(source.make_fold), classes = m.classes,
                      multi_label = m.multi_label](const FoldPositions& p) {
    MilData fold = make(p);
    fold.classes = classes;
    fold.multi_label = multi_label;
    return fold;
  };
  return source;
}

CvSource cv_features(const DataConfig& data, uint64_t) {
  const FeatureTable table = read_feature_csv(data.path);
  return split_source(feature_table_split(table),
                      fmt::format("feature_bags from {}: {} bags, {} instances of {} features", data.path,
                                  table.num_bags(), table.num_rows(), table.dim),
                      data.standardize, data.path);
}

CvSource cv_images(const DataConfig& data, uint64_t) {
  ImagePatchBags bags = load_image_patch_bags(data);
  return split_source(std::move(bags.all), bags.summary, false, data.path);
}

/// text_bags: the documents, encoded per fold with a vocabulary of the
/// fold's fitting documents; groups = the cvN prefixes of the file names.
CvSource cv_text(const DataConfig& data, uint64_t) {
  auto corpus = std::make_shared<const TextCorpus>(read_text_documents(data));
  CvSource source;
  source.summary = "text_bags from " + data.path + ": " + corpus->summary +
                   " (vocabulary built per fold from its training documents)";
  std::vector<std::string> names;
  for (const TextDocument& doc : corpus->documents) {
    source.labels.push_back(doc.label);
    names.push_back(doc.name);
  }
  require_labels(source.labels, names, data.path);
  source.group_folds = [corpus] { return polarity_folds(corpus->documents); };
  source.make_fold = [corpus, data](const FoldPositions& p) {
    const Vocabulary vocab =
        Vocabulary::build_from_positions(corpus->documents, p.fit, data.min_token_frequency, data.max_vocabulary);
    return encode_text_splits(corpus->documents, p.fit, p.validation, p.test, vocab, data);
  };
  return source;
}

}  // namespace

const std::vector<DataKindInfo>& data_kinds() {
  static const std::vector<DataKindInfo> kinds = {
      {DataKind::mnist_bags, "mnist_bags", load_mnist, cv_mnist, predict_mnist, InstanceView::digit_strips, false},
      {DataKind::feature_bags, "feature_bags", load_features, cv_features, predict_features, InstanceView::none, false},
      {DataKind::image_patches, "image_patches", load_images, cv_images, predict_images, InstanceView::image_overlays,
       false},
      {DataKind::text_bags, "text_bags", load_text, cv_text, predict_text, InstanceView::text_pages, true},
      {DataKind::feature_files, "feature_files", load_slides, slide_bags_cv_source, predict_slide_bags,
       InstanceView::slide_heatmaps, false},
  };
  return kinds;
}

const DataKindInfo& data_kind(const std::string& name) {
  for (const DataKindInfo& k : data_kinds())
    if (name == k.name) return k;
  throw std::invalid_argument("data.kind: unknown data kind '" + name + "'");
}

MilData load_data(const DataConfig& data, uint64_t seed, const Vocabulary* vocabulary) {
  return data_kind(data.kind).load(data, seed, vocabulary);
}

}  // namespace abmil
