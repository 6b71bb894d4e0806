// Attention pictures: the paper's min-max rescaling, the heatmap overlay on a
// synthetic image with known content, strips and montages.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>

#include "abmil/viz/attention_images.h"

using namespace abmil;

TEST(AttentionImages, MinMaxRescalingAsInFigure5) {
  // (a - min) / (max - min): {0.1, 0.3, 0.6} -> {0, 0.4, 1}
  const std::vector<double> r = minmax_rescale({0.1, 0.3, 0.6});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_NEAR(r[0], 0.0, 1e-12);
  EXPECT_NEAR(r[1], 0.4, 1e-12);
  EXPECT_NEAR(r[2], 1.0, 1e-12);
  EXPECT_EQ(minmax_rescale({0.25, 0.25}), (std::vector<double>{1.0, 1.0}));  // all equal: all important
  EXPECT_TRUE(minmax_rescale({}).empty());
}

TEST(AttentionImages, WeightColoursRunFromDarkToBright) {
  const cv::Vec3b lo = weight_colour(0), hi = weight_colour(1);
  EXPECT_LT(lo[0] + lo[1] + lo[2], hi[0] + hi[1] + hi[2]);  // viridis: dark purple -> yellow
  EXPECT_EQ(weight_colour(-3), lo);                         // clamped
  EXPECT_EQ(weight_colour(7), hi);
}

// A gray 40x20 image with two 20x20 patches; the right patch has the higher
// weight, so after rescaling it is coloured with weight 1 and the left with 0.
TEST(AttentionImages, HeatmapOverlayColoursPatchesByRescaledWeight) {
  cv::Mat image(20, 60, CV_8UC1, cv::Scalar(100));
  const std::vector<cv::Rect> patches = {{0, 0, 20, 20}, {20, 0, 20, 20}};
  cv::Mat out = heatmap_overlay(image, patches, {0.2, 0.8}, 0.5);
  ASSERT_EQ(out.type(), CV_8UC3);
  auto expected = [](double w) {
    const cv::Vec3b c = weight_colour(w);
    return cv::Vec3b(cv::saturate_cast<uint8_t>(0.5 * c[0] + 50), cv::saturate_cast<uint8_t>(0.5 * c[1] + 50),
                     cv::saturate_cast<uint8_t>(0.5 * c[2] + 50));
  };
  for (int ch = 0; ch < 3; ++ch) {
    EXPECT_NEAR(out.at<cv::Vec3b>(10, 5)[ch], expected(0.0)[ch], 1) << ch;
    EXPECT_NEAR(out.at<cv::Vec3b>(10, 30)[ch], expected(1.0)[ch], 1) << ch;
    EXPECT_EQ(out.at<cv::Vec3b>(10, 50)[ch], 100) << "outside every patch the image is unchanged";
  }
  EXPECT_THROW(heatmap_overlay(image, patches, {0.5}), std::invalid_argument);
}

// The overlay carries a colour legend at its right: the image keeps its place
// at (0, 0), the picture is wider by the legend (and 100 px tall at least),
// and the legend's bar runs from the colormap's top colour (above) to its
// bottom colour (below).
TEST(AttentionImages, HeatmapOverlayHasAColourLegend) {
  cv::Mat image(20, 60, CV_8UC1, cv::Scalar(100));
  const cv::Mat out = heatmap_overlay(image, {{0, 0, 20, 20}, {20, 0, 20, 20}}, {0.2, 0.8}, 0.5);
  ASSERT_GE(out.cols, 60 + 70);  // the legend is 70 px wide at least
  ASSERT_GE(out.rows, 100);
  EXPECT_EQ(out.at<cv::Vec3b>(10, 50), cv::Vec3b(100, 100, 100));  // the image is unchanged outside the patches
  EXPECT_EQ(out.at<cv::Vec3b>(50, 30), cv::Vec3b(255, 255, 255));  // white under the 20 px image
  auto first_row_with = [&](const cv::Vec3b& colour) {
    for (int y = 0; y < out.rows; ++y)
      for (int x = 60; x < out.cols; ++x)
        if (out.at<cv::Vec3b>(y, x) == colour) return y;
    return -1;
  };
  const int high = first_row_with(weight_colour(1)), low = first_row_with(weight_colour(0));
  ASSERT_GE(high, 0) << "no pixel of the top colour in the legend";
  ASSERT_GE(low, 0) << "no pixel of the bottom colour in the legend";
  EXPECT_LT(high, low) << "high weights on top";
  EXPECT_GT(low - high, 50) << "the bar spans the legend's height";

  // A tall image: the legend is as tall as the image, so the picture is not taller.
  const cv::Mat tall = heatmap_overlay(cv::Mat(300, 40, CV_8UC3, cv::Scalar(0, 0, 0)), {{0, 0, 20, 20}}, {1.0});
  EXPECT_EQ(tall.rows, 300);
  EXPECT_GT(tall.cols, 40);
  // No weights, no legend.
  EXPECT_EQ(heatmap_overlay(image, {}, {}).size(), image.size());
}

TEST(AttentionImages, StripAndMontageShapes) {
  std::vector<InstanceTile> tiles;
  for (int i = 0; i < 5; ++i) tiles.push_back({cv::Mat(28, 28, CV_8UC1, cv::Scalar(i * 50)), 0.2, i == 2 ? 1 : 0});
  cv::Mat strip = bag_strip(tiles, "bag 1", 3);
  EXPECT_EQ(strip.type(), CV_8UC3);
  EXPECT_GE(strip.cols, 5 * 84);  // five tiles at 3x
  EXPECT_GE(strip.rows, 84);
  // the top-2 montage keeps the two highest weights, highest first
  std::vector<cv::Mat> patches = {cv::Mat(40, 40, CV_8UC1, cv::Scalar(10)), cv::Mat(40, 40, CV_8UC1, cv::Scalar(200)),
                                  cv::Mat(40, 40, CV_8UC1, cv::Scalar(90))};
  cv::Mat m2 = top_k_montage(patches, {0.1, 0.7, 0.2}, 2, 4);
  cv::Mat m3 = top_k_montage(patches, {0.1, 0.7, 0.2}, 3, 4);
  EXPECT_LT(m2.cols, m3.cols);
  // highest weight first: the first tile's interior is the 200-gray patch
  EXPECT_EQ(m2.at<cv::Vec3b>(34 + 6 + 80, 6 + 6 + 80)[0], 200);
  cv::Mat stacked = stack_vertically({strip, strip}, "two bags");
  EXPECT_GT(stacked.rows, 2 * strip.rows);
}
