#include "abmil/data/kinds.h"

#include <fmt/format.h>

#include <stdexcept>

#include "abmil/config/config.h"
#include "abmil/data/feature_bags.h"
#include "abmil/data/feature_csv.h"
#include "abmil/data/folds.h"
#include "abmil/data/image_patches.h"
#include "abmil/data/mnist_bags.h"
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

/// A CvSource over the bags of `all` (no groups).
CvSource split_source(BagSplit all, std::string summary, bool standardize_features) {
  CvSource source;
  source.summary = std::move(summary);
  source.labels = bag_labels(all);
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

/// mnist_bags: cross-validate over the drawn training bags.
CvSource cv_mnist(const DataConfig& data, uint64_t seed) {
  MilData m = load_mnist_bags(data, seed);
  std::vector<int64_t> pos(m.train.num_bags());
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int64_t>(i);
  return split_source(select_bags(m.train, pos, "all"), m.summary + " (cross-validating the training bags)", false);
}

CvSource cv_features(const DataConfig& data, uint64_t) {
  const FeatureTable table = read_feature_csv(data.path);
  return split_source(feature_table_split(table),
                      fmt::format("feature_bags from {}: {} bags, {} instances of {} features", data.path,
                                  table.num_bags(), table.num_rows(), table.dim),
                      data.standardize);
}

CvSource cv_images(const DataConfig& data, uint64_t) {
  ImagePatchBags bags = load_image_patch_bags(data);
  return split_source(std::move(bags.all), bags.summary, false);
}

/// text_bags: the documents, encoded per fold with a vocabulary of the
/// fold's fitting documents; groups = the cvN prefixes of the file names.
CvSource cv_text(const DataConfig& data, uint64_t) {
  auto corpus = std::make_shared<const TextCorpus>(read_text_documents(data));
  CvSource source;
  source.summary = "text_bags from " + data.path + ": " + corpus->summary +
                   " (vocabulary built per fold from its training documents)";
  for (const TextDocument& doc : corpus->documents) source.labels.push_back(doc.label);
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
      {DataKind::mnist_bags, "mnist_bags", load_mnist, cv_mnist, InstanceView::digit_strips, false},
      {DataKind::feature_bags, "feature_bags", load_features, cv_features, InstanceView::none, false},
      {DataKind::image_patches, "image_patches", load_images, cv_images, InstanceView::image_overlays, false},
      {DataKind::text_bags, "text_bags", load_text, cv_text, InstanceView::text_pages, true},
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
