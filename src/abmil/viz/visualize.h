// `abmil visualize RUN_DIR`: attention pictures of a finished run.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <vector>

namespace abmil {

/// Which bags to draw.
struct VisualizeOptions {
  std::vector<int64_t> bag_ids;  ///< test bags to draw a strip for (in addition to the galleries)
  int64_t top = 4;               ///< bags in each gallery (most and least confident)
  int64_t montage_k = 8;         ///< image_patches: patches in each top-k montage
  double alpha = 0.5;            ///< image_patches, feature_files: opacity of the heatmap over the image
  /// feature_files: side of a patch, level-0 pixels; 0 = the file's
  /// patch_size_level0, else inferred from each slide's coordinate grid
  int64_t patch_size = 0;
  bool all_branches = false;  ///< feature_files, multi-branch models: one more heatmap per attention_<class> column
};

/// Rebuilds the test bags of RUN_DIR/config.yaml (deterministic from its
/// seed), joins them with RUN_DIR/attention/test.csv and writes PNGs under
/// RUN_DIR/visualize/: `bag_<id>.png` (one strip per bag: every instance
/// with its attention weight, see bag_strip) for the requested bags and the
/// gallery bags, `gallery_most_confident.png` and
/// `gallery_least_confident.png` (the `top` test bags whose probability is
/// farthest from / closest to 0.5). Returns the files written.
/// Throws std::runtime_error naming the file (and line) when the attention
/// CSV is missing, malformed or does not match the data of the config, or a
/// requested bag id does not exist.
///
/// data.kind image_patches (a train or a cv run): for every test image of
/// attention/test.csv, or of the first repeat's attention/r0_f<K>.csv files
/// of `abmil cv` (each image once), writes `<image stem>_overlay.png` (the
/// image with every kept patch coloured by its min-max rescaled weight,
/// heatmap_overlay, under a heading with label and probability) and
/// `<image stem>_top<k>.png` (top_k_montage of its k highest-weighted
/// patches, weights min-max rescaled too), as the paper's Fig. 5. Throws std::runtime_error when there is
/// no attention file or a bag does not match the re-tiled images.
///
/// data.kind text_bags (train or cv, files as for image_patches, with the
/// token weights of attention/<stem>_tokens.csv when there): for every test
/// document `<folder>_<file stem>.html` (text_document_html: sentences
/// shaded by their weights, tokens inside them by theirs) and `index.html`
/// (titled with the run directory's folder name and data.path, one row per
/// document: label, probability, correct or not). Throws
/// std::runtime_error naming the file when a bag does not match the
/// re-read documents.
///
/// data.kind feature_files (train, predict or cv, files as for
/// image_patches): for every test slide `<slide id>_heatmap.png`
/// (slide_heatmap: every patch a square at its level-0 x, y, coloured by its
/// min-max rescaled attention weight, a colour legend, a heading with the
/// slide id, label and predicted probability), scaled so that the longer side
/// is 1024-2048 px. Coordinates come from the CSV's x,y columns, else from the
/// `coords` of the slide's feature file (data.features); the patch size from
/// `patch_size`, else the file's patch_size_level0, else the coordinate grid
/// (infer_patch_size). With data.slide_dir holding an image of the slide
/// (find_slide_images) the heatmap is blended over the slide's picture with
/// `alpha` (read_slide_thumbnail); where no patch is, and under patches
/// without a weight (neither attention nor instance probability), the slide
/// (or white) shows.
/// With `all_branches` and attention_<class> columns, also
/// `<slide id>_heatmap_<class>.png` per branch. Every slide image is opened
/// before the first picture is written. Throws std::runtime_error naming the
/// file for a slide image OpenSlide cannot read, and for a slide without
/// coordinates (no x,y and no `coords` in its file).
std::vector<std::filesystem::path> visualize_run(const std::filesystem::path& run_dir, const VisualizeOptions& options,
                                                 std::ostream& log);

}  // namespace abmil
