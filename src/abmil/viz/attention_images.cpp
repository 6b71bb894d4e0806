#include "abmil/viz/attention_images.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

#include "abmil/io/run_dir.h"

namespace abmil {

namespace {

const cv::Scalar kWhite(255, 255, 255), kBlack(0, 0, 0), kGreen(0, 140, 0), kGray(120, 120, 120);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr int kMinLegendHeight = 100;  ///< px: room for the title, three tick labels and a bar

cv::Mat to_bgr(const cv::Mat& image) {
  cv::Mat bgr;
  if (image.channels() == 1)
    cv::cvtColor(image, bgr, cv::COLOR_GRAY2BGR);
  else
    bgr = image.clone();
  return bgr;
}

/// Text of height ~`scale`*22 px at (x, baseline y).
void put_text(cv::Mat& img, const std::string& text, int x, int y, double scale, const cv::Scalar& colour,
              int thickness = 1) {
  cv::putText(img, text, {x, y}, kFont, scale, colour, thickness, cv::LINE_AA);
}

int text_width(const std::string& text, double scale, int thickness = 1) {
  int baseline = 0;
  return cv::getTextSize(text, kFont, scale, thickness, &baseline).width;
}

/// A vertical colour bar `height` px tall from weight_colour(0) (bottom) to weight_colour(1) (top), "weight"
/// above it and the tick labels `high`, `middle`, `low` at its top, middle and bottom. At least 70 px wide, wider
/// when a label needs it.
cv::Mat legend(int height, const std::string& high, const std::string& middle, const std::string& low) {
  const int bar_w = 14, label_x = 6 + bar_w + 4;
  const int width = std::max({70, label_x + text_width(high, 0.4) + 4, label_x + text_width(middle, 0.4) + 4,
                              label_x + text_width(low, 0.4) + 4});
  cv::Mat out(height, width, CV_8UC3, kWhite);
  const int top = 18, bottom = height - 10;
  for (int y = top; y <= bottom; ++y) {
    const double w = 1.0 - static_cast<double>(y - top) / std::max(1, bottom - top);
    const cv::Vec3b c = weight_colour(w);
    cv::line(out, {6, y}, {6 + bar_w, y}, cv::Scalar(c[0], c[1], c[2]));
  }
  put_text(out, "weight", 2, 12, 0.4, kBlack);
  put_text(out, high, label_x, top + 8, 0.4, kBlack);
  put_text(out, middle, label_x, (top + bottom) / 2 + 4, 0.4, kBlack);
  put_text(out, low, label_x, bottom, 0.4, kBlack);
  return out;
}

}  // namespace

cv::Vec3b weight_colour(double weight) {
  static const cv::Mat lut = [] {
    cv::Mat ramp(256, 1, CV_8UC1);
    for (int i = 0; i < 256; ++i) ramp.at<uint8_t>(i) = static_cast<uint8_t>(i);
    cv::Mat coloured;
    cv::applyColorMap(ramp, coloured, cv::COLORMAP_VIRIDIS);
    return coloured;
  }();
  const int i = static_cast<int>(std::lround(std::clamp(weight, 0.0, 1.0) * 255));
  return lut.at<cv::Vec3b>(i);
}

std::vector<double> minmax_rescale(const std::vector<double>& w) {
  if (w.empty()) return {};
  const auto [lo, hi] = std::minmax_element(w.begin(), w.end());
  std::vector<double> out(w.size(), 1.0);
  if (*hi > *lo)
    for (size_t i = 0; i < w.size(); ++i) out[i] = (w[i] - *lo) / (*hi - *lo);
  return out;
}

cv::Mat bag_strip(const std::vector<InstanceTile>& tiles, const std::string& title, int scale) {
  const int border = 6, gap = 6, title_h = 34, text_h = 38;
  int tile_w = 0, tile_h = 0;
  for (const auto& t : tiles) {
    tile_w = std::max(tile_w, t.image.cols * scale);
    tile_h = std::max(tile_h, t.image.rows * scale);
  }
  const int cell_w = std::max(tile_w + 2 * border, 64);
  const int row_h = tile_h + 2 * border + text_h;
  const int tiles_w = static_cast<int>(tiles.size()) * (cell_w + gap) + gap;
  cv::Mat side = legend(row_h, "1.0", "0.5", "0.0");
  const int width = std::max(tiles_w + side.cols, text_width(title, 0.6) + 20);
  cv::Mat out(title_h + row_h + 4, width, CV_8UC3, kWhite);
  put_text(out, title, gap, 24, 0.6, kBlack, 1);
  for (size_t i = 0; i < tiles.size(); ++i) {
    const InstanceTile& t = tiles[i];
    const int x = gap + static_cast<int>(i) * (cell_w + gap), y = title_h;
    const cv::Scalar frame =
        t.weight >= 0 ? cv::Scalar(weight_colour(t.weight)[0], weight_colour(t.weight)[1], weight_colour(t.weight)[2])
                      : kGray;
    cv::rectangle(out, cv::Rect(x, y, tile_w + 2 * border, tile_h + 2 * border), frame, cv::FILLED);
    cv::Mat big;
    cv::resize(to_bgr(t.image), big, {t.image.cols * scale, t.image.rows * scale}, 0, 0, cv::INTER_NEAREST);
    big.copyTo(out(cv::Rect(x + border, y + border, big.cols, big.rows)));
    const int text_y = y + tile_h + 2 * border + 16;
    put_text(out, t.weight >= 0 ? fmt::format("{:.3f}", t.weight) : "-", x + 2, text_y, 0.5, kBlack);
    if (t.label == 1) put_text(out, "target", x + 2, text_y + 17, 0.45, kGreen, 1);
  }
  side.copyTo(out(cv::Rect(tiles_w, title_h, side.cols, side.rows)));
  return out;
}

cv::Mat heatmap_overlay(const cv::Mat& image, const std::vector<cv::Rect>& patches, const std::vector<double>& weights,
                        double alpha) {
  if (patches.size() != weights.size())
    throw std::invalid_argument(
        fmt::format("heatmap_overlay: {} patches but {} weights", patches.size(), weights.size()));
  cv::Mat out = to_bgr(image);
  cv::Mat colour = out.clone();
  const std::vector<double> scaled = minmax_rescale(weights);
  for (size_t i = 0; i < patches.size(); ++i) {
    const cv::Vec3b c = weight_colour(scaled[i]);
    cv::rectangle(colour, patches[i] & cv::Rect(0, 0, out.cols, out.rows), cv::Scalar(c[0], c[1], c[2]), cv::FILLED);
  }
  cv::Mat mask(out.size(), CV_8UC1, cv::Scalar(0));
  for (const auto& r : patches) mask(r & cv::Rect(0, 0, out.cols, out.rows)).setTo(255);
  cv::Mat blended;
  cv::addWeighted(colour, alpha, out, 1 - alpha, 0, blended);
  blended.copyTo(out, mask);
  if (weights.empty()) return out;
  // The legend's ends are the image's own lowest and highest weight (what 0 and 1 of the rescaling stand for).
  const auto [lo, hi] = std::minmax_element(weights.begin(), weights.end());
  // 3 significant digits, more (up to 8) when the ends would print the same. All equal: every patch has the
  // top colour (minmax_rescale), so only the top gets a label.
  const bool spread = *hi > *lo;
  int digits = 3;
  while (spread && digits < 8 && fmt::format("{:.{}g}", *hi, digits) == fmt::format("{:.{}g}", *lo, digits)) ++digits;
  auto label = [&](double w) { return fmt::format("{:.{}g}", w, digits); };
  const cv::Mat side = legend(std::max(out.rows, kMinLegendHeight), label(*hi), spread ? label((*lo + *hi) / 2) : "",
                              spread ? label(*lo) : "");
  cv::Mat framed(side.rows, out.cols + side.cols, CV_8UC3, kWhite);
  out.copyTo(framed(cv::Rect(0, 0, out.cols, out.rows)));
  side.copyTo(framed(cv::Rect(out.cols, 0, side.cols, side.rows)));
  return framed;
}

cv::Mat top_k_montage(const std::vector<cv::Mat>& patches, const std::vector<double>& weights, int k, int scale) {
  if (patches.size() != weights.size())
    throw std::invalid_argument(
        fmt::format("top_k_montage: {} patches but {} weights", patches.size(), weights.size()));
  std::vector<size_t> order(patches.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return weights[a] > weights[b]; });
  order.resize(std::min<size_t>(order.size(), static_cast<size_t>(std::max(0, k))));
  std::vector<InstanceTile> tiles;
  for (size_t i : order) tiles.push_back({patches[i], weights[i], -1});
  return bag_strip(tiles, fmt::format("top {} of {} patches by attention weight", order.size(), patches.size()), scale);
}

cv::Mat stack_vertically(const std::vector<cv::Mat>& images, const std::string& heading, int gap) {
  const int heading_h = heading.empty() ? 0 : 36;
  int width = heading.empty() ? 0 : text_width(heading, 0.7, 2) + 2 * gap, height = heading_h + gap;
  for (const auto& im : images) {
    width = std::max(width, im.cols);
    height += im.rows + gap;
  }
  cv::Mat out(height, std::max(width, 1), CV_8UC3, kWhite);
  if (!heading.empty()) put_text(out, heading, gap, 26, 0.7, kBlack, 2);
  int y = heading_h + gap;
  for (const auto& im : images) {
    to_bgr(im).copyTo(out(cv::Rect(0, y, im.cols, im.rows)));
    y += im.rows + gap;
  }
  return out;
}

void write_png(const std::filesystem::path& path, const cv::Mat& image) {
  std::vector<uint8_t> bytes;
  if (!cv::imencode(".png", image, bytes)) throw std::runtime_error(path.string() + ": cannot encode PNG");
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace abmil
