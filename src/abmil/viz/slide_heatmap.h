// Attention heatmaps of whole slides (data.kind feature_files): every patch a
// square at its level-0 coordinates, coloured by its min-max rescaled
// attention weight as heatmap_overlay colours image patches, on white or over
// the slide's own picture (viz/slide_image.h). No LibTorch or OpenSlide here;
// cv::Mat is only declared.
#pragma once

#include <cstdint>
#include <vector>

namespace cv {
class Mat;
}

namespace abmil {

/// One patch of a slide: level-0 pixel coordinates of its top-left corner and
/// its attention weight.
struct SlidePatch {
  int64_t x = 0, y = 0;
  double weight = 0;
};

/// The patch side, level-0 pixels, from the coordinate grid: the smallest
/// positive gap between distinct x values and between distinct y values, the
/// smaller of the two (patches tile a grid whose step is the patch size, or
/// less when they overlap). `fallback` when there is no gap at all (one patch,
/// or every patch at the same place).
int64_t infer_patch_size(const std::vector<SlidePatch>& patches, int64_t fallback = 256);

/// Where a heatmap's pixels lie on the slide: heatmap pixel (u, v) covers
/// level-0 pixels [x0 + u d, x0 + (u + 1) d) x [y0 + v d, ...), d = downsample.
struct HeatmapLayout {
  int64_t x0 = 0, y0 = 0;     ///< level-0 pixel at the heatmap's top-left corner
  double downsample = 1;      ///< level-0 pixels per heatmap pixel (> 0)
  int width = 0, height = 0;  ///< heatmap size, pixels (>= 1)
};

/// The layout of a level-0 region of `width0` x `height0` pixels (>= 1) from
/// (x0, y0), scaled so that its longer side is between 1024 and 2048 pixels:
/// down to 2048 when longer, up to 1024 when shorter, else 1:1.
/// Throws std::invalid_argument for a size < 1.
HeatmapLayout heatmap_layout(int64_t x0, int64_t y0, int64_t width0, int64_t height0);

/// The layout for `patches` without a slide picture: their bounding box
/// (top-left corners to bottom-right corners of `patch_size` squares) from its
/// own top-left corner. Throws std::invalid_argument for no patches or a
/// patch_size < 1.
HeatmapLayout patches_layout(const std::vector<SlidePatch>& patches, int64_t patch_size);

/// The heatmap: `background` (8-bit BGR of layout.height x layout.width, the
/// slide's picture) with every patch, a `patch_size` square of level-0 pixels
/// mapped through `layout` (at least 1 pixel a side), blended in with opacity
/// `alpha`, coloured with heatmap_overlay (viz/attention_images.h): weights
/// min-max rescaled within the slide, viridis, a colour legend at the right
/// labelled with the slide's highest, middle and lowest weight. Pixels under no
/// patch keep the background. An empty `background` draws on white with
/// opacity 1. Throws std::invalid_argument for a background of another size,
/// no patches or a patch_size < 1.
cv::Mat slide_heatmap(const std::vector<SlidePatch>& patches, int64_t patch_size, const HeatmapLayout& layout,
                      const cv::Mat& background, double alpha);

}  // namespace abmil
