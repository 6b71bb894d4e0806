// Pictures of attention weights (OpenCV): strips of image instances with
// their weights, heatmap overlays of patch weights, montages and galleries.
// No LibTorch here.
#pragma once

#include <opencv2/core.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace abmil {

/// Colour (BGR) of a weight in [0, 1] on OpenCV's VIRIDIS colormap (dark
/// blue = 0, yellow = 1); values outside [0, 1] are clamped.
cv::Vec3b weight_colour(double weight);

/// Min-max rescaling of attention weights to [0, 1] as in the paper's Fig. 5:
/// (a_k - min) / (max - min). All-equal weights map to 1 (every instance
/// equally important). Empty in, empty out.
std::vector<double> minmax_rescale(const std::vector<double>& weights);

/// One instance picture with what is known of it.
struct InstanceTile {
  cv::Mat image;       ///< 8-bit, 1 or 3 channels
  double weight = -1;  ///< attention weight a_k; < 0 when the model has none
  int label = -1;      ///< instance label y_k; -1 when unknown
};

/// A bag as one strip: every tile scaled by `scale` (nearest neighbour), a
/// border whose colour encodes the weight (weight_colour), the weight printed
/// under it, tiles with instance label 1 marked "target" in green, `title`
/// above, and a colour legend (0 to 1) at the right end.
cv::Mat bag_strip(const std::vector<InstanceTile>& tiles, const std::string& title, int scale = 3);

/// Heatmap overlay of patch weights on `image` (BGR or gray, 8-bit): the
/// weights are min-max rescaled (minmax_rescale), coloured with
/// weight_colour and blended into each patch rectangle with `alpha`. At the
/// right of the image (at (0, 0) of the result, unchanged outside the
/// patches) a colour legend like bag_strip's, labelled with the image's
/// highest, middle and lowest weight (the weights that 1, 0.5 and 0 of the
/// rescaling stand for); the result is at least 100 px tall, white below a
/// shorter image. No legend when `weights` is empty.
/// Throws std::invalid_argument if patches and weights differ in count.
cv::Mat heatmap_overlay(const cv::Mat& image, const std::vector<cv::Rect>& patches, const std::vector<double>& weights,
                        double alpha = 0.5);

/// The `k` highest-weighted patches side by side (highest first), each
/// scaled by `scale` with its weight under it.
cv::Mat top_k_montage(const std::vector<cv::Mat>& patches, const std::vector<double>& weights, int k, int scale = 2);

/// `images` stacked top to bottom on white with `gap` pixels between them,
/// `heading` (when not empty) as a text row on top.
cv::Mat stack_vertically(const std::vector<cv::Mat>& images, const std::string& heading = "", int gap = 8);

/// Encodes `image` as PNG and writes it atomically. Throws std::runtime_error
/// naming the path when encoding or writing fails.
void write_png(const std::filesystem::path& path, const cv::Mat& image);

}  // namespace abmil
