#include "abmil/viz/visualize.h"

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "abmil/config/config.h"
#include "abmil/data/image_patches.h"
#include "abmil/data/kinds.h"
#include "abmil/data/mnist_bags.h"
#include "abmil/data/text.h"
#include "abmil/io/attention_records.h"
#include "abmil/io/run_dir.h"
#include "abmil/io/csv_table.h"
#include "abmil/viz/attention_images.h"
#include "abmil/viz/html.h"
#include "abmil/viz/slide_visualize.h"
#include "abmil/viz/text_html.h"

namespace abmil {

namespace {

/// Reads an attention CSV (read_attention_records) into bags by bag id;
/// `has_attention`: whether it holds attention weights (else instance
/// probabilities stand in). Throws as read_attention_records.
std::map<int64_t, BagRecord> read_attention_csv(const std::filesystem::path& path, bool& has_attention) {
  AttentionRecords records = read_attention_records(path);
  has_attention = records.has_attention;
  return std::move(records.bags);
}

/// "label Y  P(positive) p  correct|WRONG" of a bag's picture heading;
/// "label ?  P(positive) p" when its label is unknown (`abmil predict`).
std::string bag_verdict(const BagRecord& r, double threshold) {
  if (r.label < 0) return fmt::format("label ?  P(positive) {:.3f}", r.probability);
  const bool correct = (r.probability >= threshold) == (r.label == 1);
  return fmt::format("label {}  P(positive) {:.3f}  {}", r.label, r.probability, correct ? "correct" : "WRONG");
}

/// Instance `row` of the split as an 8-bit image, undoing the pixel normalisation.
cv::Mat instance_image(const BagSplit& split, int64_t row, const DataConfig& data) {
  const torch::Tensor x = split.instances[row][0];  // [H, W]
  const torch::Tensor pixels =
      ((x * data.pixel_std + data.pixel_mean) * 255).round().clamp(0, 255).to(torch::kUInt8).contiguous();
  return cv::Mat(static_cast<int>(pixels.size(0)), static_cast<int>(pixels.size(1)), CV_8UC1, pixels.data_ptr())
      .clone();
}

/// visualize_run for data.kind image_patches: per test image an overlay and a montage.
std::vector<std::filesystem::path> visualize_images(const std::filesystem::path& run_dir, const Config& cfg,
                                                    const VisualizeOptions& options, std::ostream& log) {
  const std::vector<std::filesystem::path> files = attention_files(run_dir);
  if (files.empty())
    throw std::runtime_error((run_dir / "attention").string() +
                             ": no test.csv or r0_f0.csv (run `abmil train` or `abmil cv` with output.save_attention)");
  std::map<int64_t, BagRecord> records;
  std::map<int64_t, std::filesystem::path> file_of;
  bool has_attention = false;
  for (const auto& f : files) {
    bool any = false;
    for (auto& [id, r] : read_attention_csv(f, any)) {
      if (records.count(id))
        throw std::runtime_error(fmt::format("{}: bag {} is also in {}", f.string(), id, file_of.at(id).string()));
      records[id] = std::move(r);
      file_of[id] = f;
    }
    has_attention = has_attention || any;
  }
  const ImagePatchBags data = load_image_patch_bags(cfg.data);
  const int64_t P = cfg.data.patch_size;
  std::vector<std::filesystem::path> written;
  const std::filesystem::path dir = run_dir / "visualize";
  for (const auto& [id, r] : records) {
    if (id < 0 || id >= data.all.num_bags())
      throw std::runtime_error(fmt::format("{}: bag {} is not an image of {} ({} images)", file_of.at(id).string(), id,
                                           cfg.data.path, data.all.num_bags()));
    const Bag& bag = data.all.bags[id];
    const bool same = r.instances.size() == static_cast<size_t>(bag.size()) &&
                      std::equal(bag.source_indices.begin(), bag.source_indices.end(), r.instances.begin(),
                                 [](int64_t s, const InstanceRecord& x) { return s == x.source_index; });
    if (!same)
      throw std::runtime_error(
          fmt::format("{}: bag {} does not match the patches of {} (was the data or the tiling "
                      "changed?)",
                      file_of.at(id).string(), id, data.image_paths[id]));
    const cv::Mat image = cv::imread(data.image_paths[id], cv::IMREAD_COLOR);
    if (image.empty()) throw std::runtime_error(data.image_paths[id] + ": cannot decode the image");
    std::vector<cv::Rect> rects;
    std::vector<cv::Mat> patches;
    std::vector<double> weights;
    for (size_t k = 0; k < r.instances.size(); ++k) {
      const PatchOrigin o = data.origins[r.instances[k].source_index];
      rects.emplace_back(o.x, o.y, static_cast<int>(P), static_cast<int>(P));
      patches.push_back(image(rects.back()));
      weights.push_back(r.instances[k].weight);
    }
    const std::string stem = std::filesystem::path(data.image_paths[id]).stem().string();
    const std::string heading = fmt::format("{}  {}  ({}, min-max rescaled)", stem, bag_verdict(r, cfg.eval.threshold),
                                            has_attention ? "attention weights" : "instance probabilities");
    written.push_back(dir / (stem + "_overlay.png"));
    write_png(written.back(), stack_vertically({heatmap_overlay(image, rects, weights, options.alpha)}, heading));
    written.push_back(dir / fmt::format("{}_top{}.png", stem, options.montage_k));
    // Rescaled like the overlay, so the border colours use the whole colormap.
    write_png(
        written.back(),
        stack_vertically({top_k_montage(patches, minmax_rescale(weights), static_cast<int>(options.montage_k), 3)},
                         stem + ": weights min-max rescaled within the image"));
  }
  log << fmt::format("wrote {} pictures ({} images) under {}\n", written.size(), records.size(), dir.string());
  return written;
}

/// Token weights of attention/<stem>_tokens.csv (token_attention_csv): per
/// bag id, per instance, the weights in token order. Throws
/// std::runtime_error naming the file and line for a bad header, a
/// malformed row or tokens out of order.
std::map<int64_t, std::vector<std::vector<double>>> read_token_attention_csv(const std::filesystem::path& path) {
  const CsvTable t = read_csv(path, /*quoted=*/true);
  if (t.header != std::vector<std::string>{"bag_id", "instance_index", "token_index", "token_id", "attention_weight"})
    throw std::runtime_error(path.string() + ":1: unexpected header");
  std::map<int64_t, std::vector<std::vector<double>>> out;
  for (size_t row = 0; row < t.rows.size(); ++row) {
    auto& bag = out[t.integer(row, 0)];
    const int64_t k = t.integer(row, 1), token = t.integer(row, 2);
    if (k < 0 || k > static_cast<int64_t>(bag.size())) throw t.error(row, "instance_index out of order");
    if (k == static_cast<int64_t>(bag.size())) bag.emplace_back();
    if (k + 1 != static_cast<int64_t>(bag.size()) || token != static_cast<int64_t>(bag[k].size()))
      throw t.error(row, "token_index out of order");
    const double w = t.number(row, 4);
    if (std::isnan(w)) throw t.error(row, "empty attention_weight");
    bag[k].push_back(w);
  }
  return out;
}

/// The folder name of `run_dir` ("runs/mnist/" -> "mnist", "." -> the current directory's name;
/// a predict folder with its run: "runs/mnist/predict-2" -> "mnist/predict-2").
std::string run_name(const std::filesystem::path& run_dir) {
  std::filesystem::path p = std::filesystem::absolute(run_dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  // a predict folder (RUN/predict, predict-2, ...) is named with its run
  if (p.filename().string().rfind("predict", 0) == 0 && std::filesystem::is_regular_file(p / ".." / "config.yaml"))
    return p.parent_path().filename().string() + "/" + p.filename().string();
  return p.filename().string();
}

/// visualize_run for data.kind text_bags: one HTML page per test document and an index.
std::vector<std::filesystem::path> visualize_text(const std::filesystem::path& run_dir, const Config& cfg,
                                                  std::ostream& log) {
  const std::vector<std::filesystem::path> files = attention_files(run_dir);
  if (files.empty())
    throw std::runtime_error((run_dir / "attention").string() +
                             ": no test.csv or r0_f0.csv (run `abmil train` or `abmil cv` with output.save_attention)");
  const TextCorpus corpus = read_text_documents(cfg.data);
  const TextLimits limits = text_limits(cfg.data);
  const TextInstances mode = text_instances_from_name(cfg.data.text_instances);
  const std::filesystem::path dir = run_dir / "visualize";
  std::vector<std::filesystem::path> written;
  std::string index;
  std::map<int64_t, std::filesystem::path> file_of;
  for (const auto& f : files) {
    bool has_attention = false;
    const std::map<int64_t, BagRecord> records = read_attention_csv(f, has_attention);
    const std::filesystem::path token_file = f.parent_path() / (f.stem().string() + "_tokens.csv");
    const auto tokens = std::filesystem::is_regular_file(token_file)
                            ? read_token_attention_csv(token_file)
                            : std::map<int64_t, std::vector<std::vector<double>>>{};
    for (const auto& [id, r] : records) {
      if (file_of.count(id))
        throw std::runtime_error(fmt::format("{}: bag {} is also in {}", f.string(), id, file_of.at(id).string()));
      file_of[id] = f;
      if (id < 0 || id >= static_cast<int64_t>(corpus.documents.size()))
        throw std::runtime_error(fmt::format("{}: bag {} is not a document of {} ({} documents)", f.string(), id,
                                             cfg.data.path, corpus.documents.size()));
      const TextDocument& doc = corpus.documents[id];
      TextBagWeights w;
      for (const InstanceRecord& x : r.instances) w.instances.push_back(x.weight);
      if (std::all_of(w.instances.begin(), w.instances.end(), [](double x) { return x < 0; })) w.instances.clear();
      w.probabilities = !has_attention;
      if (const auto it = tokens.find(id); it != tokens.end()) w.tokens = it->second;
      const bool correct = (r.probability >= cfg.eval.threshold) == (r.label == 1);
      const std::string heading = doc.name + "  " + bag_verdict(r, cfg.eval.threshold);
      std::string page;
      try {
        page = text_document_html(doc, limits, mode, w, heading);
      } catch (const std::invalid_argument& e) {
        throw std::runtime_error(fmt::format("{}: bag {} does not match {} (was the data or a limit changed?): {}",
                                             f.string(), id, doc.name, e.what()));
      }
      std::string stem = doc.name;
      std::replace(stem.begin(), stem.end(), '/', '_');
      if (const auto dot = stem.rfind('.'); dot != std::string::npos && dot > 0) stem.erase(dot);
      written.push_back(dir / (stem + ".html"));
      write_file_atomic(written.back(), page);
      index += fmt::format("<tr><td><a href=\"{0}.html\">{1}</a></td><td>{2}</td><td>{3:.3f}</td><td>{4}</td></tr>\n",
                           html_escape(stem), html_escape(doc.name), r.label < 0 ? "?" : std::to_string(r.label),
                           r.probability, r.label < 0 ? "" : (correct ? "correct" : "<b>WRONG</b>"));
    }
  }
  written.push_back(dir / "index.html");
  const std::string run = html_escape(run_name(run_dir)), data = html_escape(cfg.data.path);
  write_file_atomic(
      written.back(),
      fmt::format("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}: test documents</title>"
                  "<style>body{{font-family:sans-serif;margin:1em}}h1{{font-size:1.2em}}"
                  "td,th{{padding:2px 8px;text-align:left}}</style></head>\n"
                  "<body><h1>{0}: test documents of {1}</h1>\n<table>\n"
                  "<tr><th>document</th><th>label</th><th>P(positive)</th><th></th></tr>\n{2}</table></body></html>\n",
                  run, data, index));
  log << fmt::format("wrote {} HTML pages ({} documents) under {}\n", written.size(), file_of.size(), dir.string());
  return written;
}

/// Position in `test` of every test bag id, after checking that each bag of the rebuilt data
/// has the same instances (source indices) as its rows in the attention CSV `csv` (read into
/// `records`). Throws std::runtime_error "CSV: bag ID does not match the data of
/// RUN_DIR/config.yaml (was the data changed?)" otherwise.
std::map<int64_t, int64_t> match_test_bags(const BagSplit& test, const std::map<int64_t, BagRecord>& records,
                                           const std::filesystem::path& csv, const std::filesystem::path& run_dir) {
  std::map<int64_t, int64_t> position_of_id;
  for (int64_t b = 0; b < test.num_bags(); ++b) {
    const Bag& bag = test.bags[b];
    const auto it = records.find(bag.id);
    const bool same = it != records.end() && it->second.instances.size() == static_cast<size_t>(bag.size()) &&
                      std::equal(bag.source_indices.begin(), bag.source_indices.end(), it->second.instances.begin(),
                                 [](int64_t s, const InstanceRecord& r) { return s == r.source_index; });
    if (!same)
      throw std::runtime_error(fmt::format("{}: bag {} does not match the data of {} (was the data changed?)",
                                           csv.string(), bag.id, (run_dir / "config.yaml").string()));
    position_of_id[bag.id] = b;
  }
  return position_of_id;
}

}  // namespace

std::vector<std::filesystem::path> visualize_run(const std::filesystem::path& run_dir, const VisualizeOptions& options,
                                                 std::ostream& log) {
  const Config cfg = load_config((run_dir / "config.yaml").string());
  switch (data_kind(cfg.data.kind).view) {
    case InstanceView::image_overlays:
      return visualize_images(run_dir, cfg, options, log);
    case InstanceView::text_pages:
      return visualize_text(run_dir, cfg, log);
    case InstanceView::slide_heatmaps:
      return visualize_slides(run_dir, cfg, options, log);
    case InstanceView::none:
      throw std::runtime_error("visualize: data.kind " + cfg.data.kind +
                               " has no image instances to draw; its attention weights are in attention/test.csv");
    case InstanceView::digit_strips:
      break;
  }
  const std::filesystem::path csv = run_dir / "attention" / "test.csv";
  bool has_attention = false;
  const std::map<int64_t, BagRecord> records = read_attention_csv(csv, has_attention);
  const MilData data = load_mnist_bags(cfg.data, static_cast<uint64_t>(cfg.experiment.seed));
  const BagSplit& test = data.test;

  const std::map<int64_t, int64_t> position_of_id = match_test_bags(test, records, csv, run_dir);

  const std::string what = has_attention ? "attention weights" : "instance probabilities";
  auto strip = [&](int64_t id) {
    const int64_t b = position_of_id.at(id);
    const BagRecord& r = records.at(id);
    std::vector<InstanceTile> tiles;
    for (int64_t k = 0; k < test.bags[b].size(); ++k)
      tiles.push_back(
          {instance_image(test, test.offsets[b] + k, cfg.data), r.instances[k].weight, r.instances[k].label});
    return bag_strip(tiles, fmt::format("bag {}  {}  ({})", id, bag_verdict(r, cfg.eval.threshold), what));
  };

  std::vector<int64_t> by_confidence;
  for (const auto& [id, r] : records) by_confidence.push_back(id);
  std::stable_sort(by_confidence.begin(), by_confidence.end(), [&](int64_t a, int64_t b) {
    return std::abs(records.at(a).probability - 0.5) > std::abs(records.at(b).probability - 0.5);
  });
  const auto n = static_cast<size_t>(std::min<int64_t>(options.top, static_cast<int64_t>(by_confidence.size())));
  const std::vector<int64_t> most(by_confidence.begin(), by_confidence.begin() + n);
  const std::vector<int64_t> least(by_confidence.rbegin(), by_confidence.rbegin() + n);

  std::vector<int64_t> ids = options.bag_ids;
  for (int64_t id : ids)
    if (!position_of_id.count(id))
      throw std::runtime_error(fmt::format("--bags: no test bag with id {} (ids are 0..{})", id, test.num_bags() - 1));
  ids.insert(ids.end(), most.begin(), most.end());
  ids.insert(ids.end(), least.begin(), least.end());
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());

  std::vector<std::filesystem::path> written;
  const std::filesystem::path dir = run_dir / "visualize";
  std::map<int64_t, cv::Mat> strips;
  for (int64_t id : ids) {
    strips[id] = strip(id);
    written.push_back(dir / fmt::format("bag_{}.png", id));
    write_png(written.back(), strips[id]);
  }
  auto gallery = [&](const std::vector<int64_t>& chosen, const std::string& name, const std::string& heading) {
    std::vector<cv::Mat> rows;
    for (int64_t id : chosen) rows.push_back(strips.at(id));
    written.push_back(dir / name);
    write_png(written.back(), stack_vertically(rows, heading));
  };
  gallery(most, "gallery_most_confident.png", fmt::format("{} most confident test bags", most.size()));
  gallery(least, "gallery_least_confident.png", fmt::format("{} least confident test bags", least.size()));
  log << fmt::format("wrote {} pictures under {}\n", written.size(), dir.string());
  return written;
}

}  // namespace abmil
