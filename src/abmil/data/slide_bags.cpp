#include "abmil/data/slide_bags.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "abmil/config/config.h"
#include "abmil/data/errors.h"
#include "abmil/data/feature_files.h"
#include "abmil/data/folds.h"
#include "abmil/data/kinds.h"

namespace abmil {
namespace {

namespace fs = std::filesystem;

/// Reads a slide's features from its file on every visit, or from a
/// least-recently-used cache of at most `cache_bytes` (0 = no cache).
class SlideFileReader : public BagReader {
 public:
  SlideFileReader(FeatureFolder folder, int64_t cache_bytes) : folder_(std::move(folder)), budget_(cache_bytes) {}

  torch::Tensor read(const Bag& bag) const override {
    if (budget_ > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = index_.find(bag.name);
      if (it != index_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second);
        return it->second->second;
      }
    }
    const std::string path = slide_file(folder_, bag.name);
    torch::Tensor x = read_slide(path, /*with_coords=*/false).features;
    if (x.size(0) != bag.size())
      throw DataError(fmt::format("{}: {} instances, but {} when the data set was read (the file changed)", path,
                                  x.size(0), bag.size()));
    const int64_t bytes = x.numel() * static_cast<int64_t>(sizeof(float));
    if (budget_ > 0 && bytes <= budget_) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!index_.count(bag.name)) {
        lru_.emplace_front(bag.name, x);
        index_[bag.name] = lru_.begin();
        used_ += bytes;
        while (used_ > budget_) {
          used_ -= lru_.back().second.numel() * static_cast<int64_t>(sizeof(float));
          index_.erase(lru_.back().first);
          lru_.pop_back();
        }
      }
    }
    return x;
  }

  torch::Tensor coords(const Bag& bag) const override {
    const std::string path = slide_file(folder_, bag.name);
    torch::Tensor c = read_slide_coords(path);
    if (c.defined() && c.size(0) != bag.size())
      throw DataError(fmt::format("{}: {} instances, but {} when the data set was read (the file changed)", path,
                                  c.size(0), bag.size()));
    return c;
  }

 private:
  FeatureFolder folder_;
  int64_t budget_;
  mutable std::mutex mutex_;
  mutable std::list<std::pair<std::string, torch::Tensor>> lru_;  // most recent first
  mutable std::unordered_map<std::string, std::list<std::pair<std::string, torch::Tensor>>::iterator> index_;
  mutable int64_t used_ = 0;
};

/// The slides of a data set: the bag list, where their files are, and what
/// their headers say.
struct SlideSet {
  SlideList list;
  FeatureFolder folder;
  std::vector<int64_t> sizes;  ///< instances per slide, list order
  int64_t dim = 0;             ///< D, features per instance
  int64_t instances = 0;       ///< sum of sizes
  bool multi_label = false;    ///< data.multi_label: a slide holds any subset of the classes
  std::string summary;
};

/// Instance labels of one slide from data.instance_labels/<slide_id>.csv
/// (one 0 or 1 a line); all -1 when the folder is unset or has no file for it.
std::vector<int> read_instance_labels(const DataConfig& data, const std::string& slide_id, int64_t n) {
  std::vector<int> labels(static_cast<size_t>(n), -1);
  if (data.instance_labels.empty()) return labels;
  const fs::path path = fs::path(data.instance_labels) / (slide_id + ".csv");
  std::ifstream in(path);
  if (!in) return labels;
  std::string line;
  int64_t k = 0;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line != "0" && line != "1")
      throw DataError(fmt::format("{}:{}: instance label '{}' is not 0 or 1", path.string(), line_no, line));
    if (k >= n) throw DataError(fmt::format("{}: more than {} instance labels (the slide has {} instances)",
                                            path.string(), n, n));
    labels[static_cast<size_t>(k++)] = line == "1" ? 1 : 0;
  }
  if (k != n)
    throw DataError(fmt::format("{}: {} instance labels, but the slide has {} instances", path.string(), k, n));
  return labels;
}

/// Reads the bag list and every slide's header (with data.verify_features
/// every feature too, one slide at a time). `classes` overrides data.classes.
SlideSet read_slide_set(const DataConfig& data) {
  if (data.bag_list.empty()) throw std::invalid_argument("data.bag_list: feature_files needs the bag list CSV");
  if (data.features.empty()) throw std::invalid_argument("data.features: feature_files needs the features folder");
  SlideListOptions options;
  options.case_column = data.case_column;
  options.slide_column = data.slide_column;
  options.label_column = data.label_column;
  options.classes = data.classes;
  options.multi_label = data.multi_label;
  SlideSet set;
  set.list = read_slide_list(data.bag_list, options);
  set.multi_label = data.multi_label;
  set.folder = resolve_feature_folder(data.features, data.feature_format);
  std::string first_path;
  for (const SlideEntry& e : set.list.slides) {
    const std::string path = slide_file(set.folder, e.slide_id);
    if (!fs::is_regular_file(path))
      throw DataError(fmt::format("{}:{}: slide '{}' has no features file {}", data.bag_list, e.line, e.slide_id,
                                  path));
    const SlideFileInfo info = read_slide_info(path);
    if (set.dim == 0) {
      set.dim = info.dim;
      first_path = path;
    } else if (info.dim != set.dim) {
      throw DataError(fmt::format("{}: {} features per instance, but {} has {}", path, info.dim, first_path, set.dim));
    }
    if (data.verify_features) read_slide(path, /*with_coords=*/false);
    set.sizes.push_back(info.instances);
    set.instances += info.instances;
  }
  const char* layout = set.folder.layout == FeatureLayout::clam_h5   ? "CLAM .h5"
                       : set.folder.layout == FeatureLayout::clam_pt ? "CLAM .pt"
                                                                     : "TRIDENT .h5";
  std::map<std::string, int> cases;
  for (const SlideEntry& e : set.list.slides) cases.emplace(e.case_id, 0);
  set.summary = fmt::format("feature_files from {} ({}): {} slides of {} cases, {} instances of {} features, {} "
                            "classes ({})",
                            set.folder.files_dir, layout, set.list.slides.size(), cases.size(), set.instances,
                            set.dim, set.list.classes.size(), fmt::join(set.list.classes, ", "));
  return set;
}

/// The slides at `positions` as a streamed split named `name`.
BagSplit slide_split(const SlideSet& set, const DataConfig& data, const std::vector<int64_t>& positions,
                     const std::shared_ptr<const BagReader>& reader, std::string name) {
  BagSplit split;
  split.name = std::move(name);
  split.reader = reader;
  split.offsets.push_back(0);
  for (int64_t p : positions) {
    const SlideEntry& e = set.list.slides[static_cast<size_t>(p)];
    const int64_t n = set.sizes[static_cast<size_t>(p)];
    Bag bag;
    bag.id = p;
    if (data.multi_label) {  // any subset of the labels: targets [C] 0/1, label = any present
      bag.targets.assign(set.list.classes.size(), 0.0f);
      for (int c : e.labels) bag.targets[static_cast<size_t>(c)] = 1.0f;
      bag.label = e.labels.empty() ? 0 : 1;
    } else {
      bag.label = e.labels.empty() ? -1 : e.labels.front();
    }
    bag.name = e.slide_id;
    bag.source_indices.resize(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) bag.source_indices[static_cast<size_t>(k)] = k;
    bag.instance_labels = read_instance_labels(data, e.slide_id, n);
    split.bags.push_back(std::move(bag));
    split.offsets.push_back(split.offsets.back() + n);
  }
  return split;
}

std::shared_ptr<const BagReader> make_reader(const SlideSet& set, const DataConfig& data) {
  return std::make_shared<SlideFileReader>(set.folder, data.cache_mib * 1024 * 1024);
}

/// The stratum of each slide: its class; multi-label, its subset of labels
/// as a bit mask (sum of 2^c).
std::vector<int> slide_labels(const SlideSet& set) {
  std::vector<int> labels;
  for (const SlideEntry& e : set.list.slides) {
    int mask = 0;
    for (int c : e.labels) mask |= 1 << std::min(c, 30);
    labels.push_back(e.labels.size() == 1 && !set.multi_label ? e.labels.front() : mask);
  }
  return labels;
}

std::vector<std::string> slide_cases(const SlideSet& set) {
  std::vector<std::string> cases;
  for (const SlideEntry& e : set.list.slides) cases.push_back(e.case_id);
  return cases;
}

/// Bag-list positions of the train / validation / test splits.
struct SlidePositions {
  std::vector<int64_t> train, validation, test;
};

/// The three splits of data.split_csv, as positions in the bag list.
SlidePositions split_from_csv(const SlideSet& set, const DataConfig& data) {
  const SlideSplit split = read_clam_split(data.split_csv);
  std::unordered_map<std::string, int64_t> position;
  for (size_t p = 0; p < set.list.slides.size(); ++p) position[set.list.slides[p].slide_id] = static_cast<int64_t>(p);
  auto positions = [&](const std::vector<std::string>& ids) {
    std::vector<int64_t> out;
    for (const std::string& id : ids) {
      auto it = position.find(id);
      if (it == position.end())
        throw DataError(fmt::format("{}: slide '{}' is not in the bag list {}", data.split_csv, id, data.bag_list));
      out.push_back(it->second);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  SlidePositions out{positions(split.train), positions(split.validation), positions(split.test)};
  if (out.train.empty()) throw DataError(data.split_csv + ": no training slides");
  if (out.test.empty()) throw DataError(data.split_csv + ": no test slides");
  return out;
}

/// Class-stratified hold-outs of whole cases: data.test_fraction of the
/// cases for testing (seed), data.validation_fraction of the rest (seed + 1).
SlidePositions drawn_split(const SlideSet& set, const DataConfig& data, uint64_t seed) {
  const std::vector<int> labels = slide_labels(set);
  const std::vector<std::string> cases = slide_cases(set);
  std::vector<int64_t> all(labels.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  auto [rest, test] = grouped_stratified_split(all, labels, cases, data.test_fraction, seed);
  if (test.empty())
    throw DataError(fmt::format("{}: {} slide(s), too few to hold out test cases (a class needs at least 2 cases)",
                                data.bag_list, labels.size()));
  auto [train, validation] = grouped_stratified_split(rest, labels, cases, data.validation_fraction, seed + 1);
  return {std::move(train), std::move(validation), std::move(test)};
}

/// MilData of the given splits, streamed through one shared reader.
MilData slide_data(const SlideSet& set, const DataConfig& data, const SlidePositions& p,
                   const std::shared_ptr<const BagReader>& reader) {
  MilData out;
  out.train = slide_split(set, data, p.train, reader, "train");
  out.validation = slide_split(set, data, p.validation, reader, "validation");
  out.test = slide_split(set, data, p.test, reader, "test");
  out.instance_shape = {set.dim};
  out.classes = set.list.classes;
  out.multi_label = set.multi_label;
  return out;
}

}  // namespace

MilData load_slide_bags(const DataConfig& data, uint64_t seed) {
  const SlideSet set = read_slide_set(data);
  const SlidePositions p = data.split_csv.empty() ? drawn_split(set, data, seed) : split_from_csv(set, data);
  MilData out = slide_data(set, data, p, make_reader(set, data));
  out.summary = fmt::format("{}; train {}, validation {}, test {} slides{}", set.summary, out.train.num_bags(),
                            out.validation.num_bags(), out.test.num_bags(),
                            data.split_csv.empty() ? " (cases kept together)" : " from " + data.split_csv);
  return out;
}

CvSource slide_bags_cv_source(const DataConfig& data, uint64_t) {
  auto set = std::make_shared<const SlideSet>(read_slide_set(data));
  CvSource source;
  source.summary = set->summary + " (folds keep cases together)";
  source.labels = slide_labels(*set);
  source.cases = slide_cases(*set);
  const std::shared_ptr<const BagReader> reader = make_reader(*set, data);
  source.make_fold = [set, data, reader](const FoldPositions& p) {
    return slide_data(*set, data, {p.fit, p.validation, p.test}, reader);
  };
  return source;
}

MilData predict_slide_bags(const DataConfig& data, uint64_t, const Preprocessing&) {
  const SlideSet set = read_slide_set(data);
  std::vector<int64_t> all(set.list.slides.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  MilData out;
  out.test = slide_split(set, data, all, make_reader(set, data), "predict");
  out.instance_shape = {set.dim};
  out.classes = set.list.classes;
  out.multi_label = set.multi_label;
  out.summary = set.summary;
  return out;
}

}  // namespace abmil
