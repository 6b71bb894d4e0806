#include "abmil/viz/slide_visualize.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iterator>
#include <map>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <ostream>
#include <stdexcept>

#include "abmil/config/config.h"
#include "abmil/data/feature_files.h"
#include "abmil/io/attention_records.h"
#include "abmil/io/csv_table.h"
#include "abmil/viz/attention_images.h"
#include "abmil/viz/slide_heatmap.h"
#include "abmil/viz/slide_image.h"
#include "abmil/viz/visualize.h"

namespace abmil {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kFallbackPatchSize = 256;  ///< level-0 px, CLAM's default, for a slide of one patch

/// The class names of a feature_files run: data.classes, else the sorted
/// labels of its bag list; empty when neither can be had (labels then print
/// as class indices).
std::vector<std::string> class_names(const DataConfig& data) {
  if (!data.classes.empty()) return data.classes;
  try {
    SlideListOptions o;
    o.case_column = data.case_column;
    o.slide_column = data.slide_column;
    o.label_column = data.label_column;
    return read_slide_list(data.bag_list, o).classes;
  } catch (const std::exception&) {  // no bag list here (moved run): indices instead of names
    return {};
  }
}

/// predicted_label by bag_id from RUN/predictions/<name of the attention file> (C-class runs); empty when
/// the file or the column is missing.
std::map<int64_t, int> predicted_classes(const fs::path& run_dir, const fs::path& attention_file) {
  std::map<int64_t, int> out;
  const fs::path p = run_dir / "predictions" / attention_file.filename();
  if (!fs::is_regular_file(p)) return out;
  const CsvTable t = read_csv(p, /*quoted=*/true);
  const auto id = t.find_column("bag_id"), predicted = t.find_column("predicted_label");
  if (!id || !predicted) return out;
  for (size_t row = 0; row < t.rows.size(); ++row) out[t.integer(row, *id)] = t.class_label(row, *predicted);
  return out;
}

/// "label L  P(C) p  correct|WRONG" (binary; C = the second class) or "label L  predicted C  p 0.873
/// correct|WRONG" (C classes), without the verdict when the label is unknown.
std::string slide_verdict(const BagRecord& r, const std::vector<std::string>& classes, std::optional<int> predicted,
                          double threshold) {
  auto name = [&](int c) {
    return c < 0 ? std::string("?") : c < static_cast<int>(classes.size()) ? classes[c] : std::to_string(c);
  };
  if (classes.size() > 2 || predicted) {
    if (!predicted) return fmt::format("label {}  p(predicted class) {:.3f}", name(r.label), r.probability);
    std::string s = fmt::format("label {}  predicted {}  p {:.3f}", name(r.label), name(*predicted), r.probability);
    return r.label < 0 ? s : s + (r.label == *predicted ? "  correct" : "  WRONG");
  }
  const std::string positive = classes.size() == 2 ? classes[1] : "positive";
  std::string s = fmt::format("label {}  P({}) {:.3f}", name(r.label), positive, r.probability);
  if (r.label < 0) return s;
  return s + ((r.probability >= threshold) == (r.label == 1) ? "  correct" : "  WRONG");
}

/// One slide to draw.
struct SlideJob {
  int64_t id = 0;
  const BagRecord* bag = nullptr;
  const AttentionRecords* file = nullptr;
  std::optional<int> predicted;
};

}  // namespace

std::string file_name_part(const std::string& name) {
  std::string out = name;
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  return out.empty() ? "_" : out;
}

std::vector<fs::path> visualize_slides(const fs::path& run_dir, const Config& cfg, const VisualizeOptions& options,
                                       std::ostream& log) {
  const std::vector<fs::path> files = attention_files(run_dir);
  if (files.empty())
    throw std::runtime_error((run_dir / "attention").string() +
                             ": no test.csv or r0_f0.csv (run `abmil train` or `abmil cv` with output.save_attention)");
  std::vector<std::unique_ptr<AttentionRecords>> tables;
  std::vector<SlideJob> jobs;
  std::map<int64_t, fs::path> file_of;
  for (const fs::path& f : files) {
    tables.push_back(std::make_unique<AttentionRecords>(read_attention_records(f)));
    const std::map<int64_t, int> predicted = predicted_classes(run_dir, f);
    for (const auto& [id, bag] : tables.back()->bags) {
      if (file_of.count(id))
        throw std::runtime_error(fmt::format("{}: bag {} is also in {}", f.string(), id, file_of.at(id).string()));
      file_of[id] = f;
      SlideJob job{id, &bag, tables.back().get(), std::nullopt};
      if (const auto it = predicted.find(id); it != predicted.end() && it->second >= 0) job.predicted = it->second;
      jobs.push_back(job);
    }
  }
  const std::vector<std::string> classes = class_names(cfg.data);

  // Every slide image opened before anything is written: a corrupt one stops the command up front.
  std::map<std::string, fs::path> images;
  std::map<std::string, SlideImageInfo> image_info;
  if (!cfg.data.slide_dir.empty()) {
    images = find_slide_images(cfg.data.slide_dir);
    for (const SlideJob& job : jobs)
      if (const auto it = images.find(job.bag->name); it != images.end())
        image_info[job.bag->name] = read_slide_image_info(it->second);
  }

  std::optional<FeatureFolder> folder;  // data.features, resolved when a slide needs its coords from there
  const fs::path dir = run_dir / "visualize";
  std::vector<fs::path> written;
  int64_t over_images = 0;
  for (const SlideJob& job : jobs) {
    const BagRecord& bag = *job.bag;
    const std::string& slide = bag.name;
    if (bag.instances.empty()) continue;
    // where each patch is: the CSV's x,y, else the coords of the slide's feature file
    std::vector<SlidePatch> patches;
    int64_t patch_size = options.patch_size;
    const bool all_xy =
        std::all_of(bag.instances.begin(), bag.instances.end(), [](const InstanceRecord& r) { return r.has_xy; });
    if (all_xy) {
      for (const InstanceRecord& r : bag.instances) patches.push_back({r.x, r.y, r.weight});
    } else {
      if (cfg.data.features.empty())
        throw std::runtime_error(fmt::format("{}: slide {} has no x,y and the run has no data.features to read its "
                                             "coords from",
                                             job.file->path.string(), slide));
      if (!folder) folder = resolve_feature_folder(cfg.data.features, cfg.data.feature_format);
      const std::string path = slide_file(*folder, slide);
      const torch::Tensor coords = read_slide_coords(path);  // [n, 2] int64 (x, y)
      if (!coords.defined())
        throw std::runtime_error(fmt::format("{}: slide {} has no x,y, and {} has no coords (a .pt file holds none)",
                                             job.file->path.string(), slide, path));
      const int64_t n = coords.size(0);
      const int64_t* xy = coords.data_ptr<int64_t>();
      for (const InstanceRecord& r : bag.instances) {
        if (r.source_index < 0 || r.source_index >= n)
          throw std::runtime_error(fmt::format("{}: slide {}: source_index {} is not a patch of {} ({} patches)",
                                               job.file->path.string(), slide, r.source_index, path, n));
        patches.push_back({xy[2 * r.source_index], xy[2 * r.source_index + 1], r.weight});
      }
      if (patch_size <= 0) patch_size = read_slide_info(path).patch_size_level0;  // TRIDENT's, 0 when absent
    }
    if (patch_size <= 0) patch_size = infer_patch_size(patches, kFallbackPatchSize);

    // the layout: the whole slide when there is its picture, else the patches' bounding box
    const auto info = image_info.find(slide);
    const HeatmapLayout layout = info != image_info.end()
                                     ? heatmap_layout(0, 0, info->second.width, info->second.height)
                                     : patches_layout(patches, patch_size);
    cv::Mat background;
    if (info != image_info.end()) {
      background = read_slide_thumbnail(images.at(slide), layout.downsample, layout.width, layout.height);
      ++over_images;
    }
    const std::string verdict = slide_verdict(bag, classes, job.predicted, cfg.eval.threshold);
    const std::string what = job.file->has_attention ? "attention weights" : "instance probabilities";
    auto draw = [&](const std::vector<SlidePatch>& p, const std::string& name, const std::string& weights) {
      const std::string heading =
          fmt::format("{}  {}  ({}, min-max rescaled; patch {} px)", slide, verdict, weights, patch_size);
      written.push_back(dir / name);
      write_png(written.back(),
                stack_vertically({slide_heatmap(p, patch_size, layout, background, options.alpha)}, heading));
    };
    // patches without a weight (-1: neither attention nor an instance probability) stay transparent
    std::vector<SlidePatch> weighted;
    std::copy_if(patches.begin(), patches.end(), std::back_inserter(weighted),
                 [](const SlidePatch& p) { return p.weight >= 0; });
    if (weighted.empty())
      log << slide << ": no attention weights or instance probabilities in " << job.file->path.string()
          << ", nothing to draw\n";
    else
      draw(weighted, file_name_part(slide) + "_heatmap.png", what);
    if (options.all_branches)
      for (size_t b = 0; b < job.file->branches.size(); ++b) {
        std::vector<SlidePatch> branch;
        for (size_t k = 0; k < patches.size(); ++k) {
          const std::vector<double>& w = bag.instances[k].branch_weights;
          if (b < w.size() && !std::isnan(w[b])) branch.push_back({patches[k].x, patches[k].y, w[b]});
        }
        if (branch.empty()) continue;
        const std::string& cls = job.file->branches[b];
        draw(branch, file_name_part(slide) + "_heatmap_" + file_name_part(cls) + ".png",
             "branch " + cls + " attention weights");
      }
    const std::string under = info != image_info.end()      ? " over " + images.at(slide).filename().string()
                              : cfg.data.slide_dir.empty() ? std::string()
                                                           : " (no image of it in data.slide_dir)";
    log << fmt::format("{}: {} patches of {} px, {}x{} px{}\n", slide, patches.size(), patch_size, layout.width,
                       layout.height, under);
  }
  if (options.all_branches &&
      std::all_of(tables.begin(), tables.end(), [](const auto& t) { return t->branches.empty(); }))
    log << "--all-branches: the attention CSVs have no attention_<class> columns (one attention branch)\n";
  log << fmt::format("wrote {} pictures ({} slides, {} over their slide image) under {}\n", written.size(), jobs.size(),
                     over_images, dir.string());
  return written;
}

}  // namespace abmil
