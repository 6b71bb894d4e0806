#include "abmil/viz/slide_heatmap.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <stdexcept>

#include "abmil/viz/attention_images.h"

namespace abmil {
namespace {

constexpr int64_t kMinSide = 1024, kMaxSide = 2048;  ///< heatmap pixels, the longer side

/// Smallest positive difference between distinct values of `v`; 0 when none.
int64_t smallest_gap(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  int64_t gap = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (gap == 0 || v[i] - v[i - 1] < gap) gap = v[i] - v[i - 1];
  return gap;
}

/// Heatmap pixel of level-0 coordinate `c` along an axis starting at `c0`.
int to_pixel(int64_t c, int64_t c0, double downsample) {
  return static_cast<int>(std::floor(static_cast<double>(c - c0) / downsample));
}

}  // namespace

int64_t infer_patch_size(const std::vector<SlidePatch>& patches, int64_t fallback) {
  std::vector<int64_t> xs, ys;
  for (const SlidePatch& p : patches) {
    xs.push_back(p.x);
    ys.push_back(p.y);
  }
  const int64_t gx = smallest_gap(xs), gy = smallest_gap(ys);
  if (gx > 0 && gy > 0) return std::min(gx, gy);
  if (gx > 0 || gy > 0) return std::max(gx, gy);
  return fallback;
}

HeatmapLayout heatmap_layout(int64_t x0, int64_t y0, int64_t width0, int64_t height0) {
  if (width0 < 1 || height0 < 1)
    throw std::invalid_argument(fmt::format("heatmap_layout: region {}x{} (must be at least 1x1)", width0, height0));
  const int64_t longer = std::max(width0, height0);
  HeatmapLayout l;
  l.x0 = x0;
  l.y0 = y0;
  if (longer > kMaxSide) l.downsample = static_cast<double>(longer) / kMaxSide;
  if (longer < kMinSide) l.downsample = static_cast<double>(longer) / kMinSide;
  l.width = std::max(1, static_cast<int>(std::ceil(static_cast<double>(width0) / l.downsample - 1e-9)));
  l.height = std::max(1, static_cast<int>(std::ceil(static_cast<double>(height0) / l.downsample - 1e-9)));
  return l;
}

HeatmapLayout patches_layout(const std::vector<SlidePatch>& patches, int64_t patch_size) {
  if (patches.empty() || patch_size < 1)
    throw std::invalid_argument(
        fmt::format("patches_layout: {} patches of size {} (need patches of size >= 1)", patches.size(), patch_size));
  int64_t x0 = patches[0].x, y0 = patches[0].y, x1 = x0, y1 = y0;
  for (const SlidePatch& p : patches) {
    x0 = std::min(x0, p.x);
    y0 = std::min(y0, p.y);
    x1 = std::max(x1, p.x);
    y1 = std::max(y1, p.y);
  }
  return heatmap_layout(x0, y0, x1 - x0 + patch_size, y1 - y0 + patch_size);
}

cv::Mat slide_heatmap(const std::vector<SlidePatch>& patches, int64_t patch_size, const HeatmapLayout& layout,
                      const cv::Mat& background, double alpha) {
  if (patches.empty() || patch_size < 1)
    throw std::invalid_argument(
        fmt::format("slide_heatmap: {} patches of size {} (need patches of size >= 1)", patches.size(), patch_size));
  if (!background.empty() && (background.cols != layout.width || background.rows != layout.height))
    throw std::invalid_argument(fmt::format("slide_heatmap: background {}x{}, layout {}x{}", background.cols,
                                            background.rows, layout.width, layout.height));
  const cv::Mat canvas =
      background.empty() ? cv::Mat(layout.height, layout.width, CV_8UC3, cv::Scalar(255, 255, 255)) : background;
  std::vector<cv::Rect> rects;
  std::vector<double> weights;
  for (const SlidePatch& p : patches) {
    const int u0 = to_pixel(p.x, layout.x0, layout.downsample), v0 = to_pixel(p.y, layout.y0, layout.downsample);
    const int u1 = to_pixel(p.x + patch_size, layout.x0, layout.downsample);
    const int v1 = to_pixel(p.y + patch_size, layout.y0, layout.downsample);
    rects.emplace_back(u0, v0, std::max(1, u1 - u0), std::max(1, v1 - v0));
    weights.push_back(p.weight);
  }
  return heatmap_overlay(canvas, rects, weights, background.empty() ? 1.0 : alpha);
}

}  // namespace abmil
