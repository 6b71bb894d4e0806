// Slide heatmaps (data.kind feature_files): the patch size from the
// coordinate grid, the layout's scale, the colours of patches drawn from
// coordinates alone, the attention CSV with x,y and per-branch columns,
// `abmil visualize` on hand-written runs (coordinates from the CSV or from
// the feature file), and the heatmap over a pyramidal TIFF made from a UCSB
// image and read with OpenSlide.
#include <H5Cpp.h>
#include <gtest/gtest.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <fmt/format.h>

#include <cstdlib>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <tuple>
#include <utility>
#include <vector>

#include "abmil/io/attention_records.h"
#include "abmil/viz/attention_images.h"
#include "abmil/viz/slide_heatmap.h"
#include "abmil/viz/slide_image.h"
#include "abmil/viz/visualize.h"
#include "test_util.h"

namespace fs = std::filesystem;
using abmil::HeatmapLayout;
using abmil::SlidePatch;
using abmil::weight_colour;
using abmil_test::error_of;
using abmil_test::TempDir;
using abmil_test::write_text;

namespace {

/// Rows of pixels above the heatmap in a visualize PNG: stack_vertically's heading (36) and gap (8).
constexpr int kHeadingRows = 44;

const std::string kHeader =
    "bag_id,bag_name,instance_index,source_index,instance_label,attention_weight,attention_logit,"
    "instance_probability,bag_label,bag_probability";

/// An attention CSV of one bag `slide` (bag id `id`) with `patches` (x, y, weight); with `xy` the
/// x,y columns are written; `branches` adds attention_<name> columns (values: weight * (b + 1)).
std::string attention_csv(const std::string& slide, const std::vector<SlidePatch>& patches, bool xy,
                          const std::vector<std::string>& branches = {}, int id = 0, double probability = 0.9) {
  std::string out = kHeader + (xy ? ",x,y" : "");
  for (const auto& b : branches) out += ",attention_" + b;
  out += "\n";
  for (size_t k = 0; k < patches.size(); ++k) {
    out += fmt::format("{},{},{},{},,{},,,1,{}", id, slide, k, k, patches[k].weight, probability);
    if (xy) out += fmt::format(",{},{}", patches[k].x, patches[k].y);
    for (size_t b = 0; b < branches.size(); ++b) out += fmt::format(",{}", patches[k].weight * (b + 1.0));
    out += "\n";
  }
  return out;
}

/// A 3 x 2 grid of 256-px patches from (1000, 2000), the middle of the top row left out, weights
/// 0.1 .. 0.5: the highest (0.5) at (1512, 2256), the lowest (0.1) at (1000, 2000).
std::vector<SlidePatch> grid_patches() {
  return {{1000, 2000, 0.1}, {1512, 2000, 0.2}, {1000, 2256, 0.3}, {1256, 2256, 0.4}, {1512, 2256, 0.5}};
}

/// The pixel of a heatmap (no heading) at level-0 point (x, y).
cv::Vec3b at_level0(const cv::Mat& heatmap, const HeatmapLayout& l, double x, double y, int top = 0) {
  return heatmap.at<cv::Vec3b>(top + static_cast<int>((y - l.y0) / l.downsample),
                               static_cast<int>((x - l.x0) / l.downsample));
}

/// A minimal feature_files run directory: config.yaml with `data` (a YAML flow map) and attention/test.csv.
void write_run(const fs::path& run, const std::string& data, const std::string& csv) {
  write_text(run / "config.yaml", "experiment: {name: slides, seed: 1}\ndata: " + data + "\n");
  write_text(run / "attention" / "test.csv", csv);
}

/// The UCSB image the TIFF tests use, or empty when ABMIL_DATA lacks it.
fs::path ucsb_image() {
  const char* root = std::getenv("ABMIL_DATA");
  const fs::path p = root ? fs::path(root) / "ucsb_breast" / "images" / "ytma10_010704_benign1_ccd.png" : fs::path();
  return root && fs::is_regular_file(p) ? p : fs::path();
}

/// Makes a tiled pyramidal TIFF of `image` at `tif` with vips; false when vips is missing or fails.
bool make_pyramidal_tiff(const fs::path& image, const fs::path& tif) {
  if (abmil_test::run_shell("command -v vips > /dev/null 2>&1") != 0) return false;
  return abmil_test::run_shell("vips tiffsave " + abmil_test::shell_quote(image.string()) + " " +
                               abmil_test::shell_quote(tif.string()) +
                               " --tile --pyramid --tile-width 256 --tile-height 256 > /dev/null 2>&1") == 0 &&
         fs::is_regular_file(tif);
}

}  // namespace

TEST(SlideHeatmap, InfersThePatchSizeFromTheCoordinateGrid) {
  EXPECT_EQ(abmil::infer_patch_size(grid_patches()), 256);
  // A row: only x gaps; a column: only y gaps; overlapping patches: the stride.
  EXPECT_EQ(abmil::infer_patch_size({{0, 0, 1}, {512, 0, 1}, {1024, 0, 1}}), 512);
  EXPECT_EQ(abmil::infer_patch_size({{7, 0, 1}, {7, 224, 1}}), 224);
  EXPECT_EQ(abmil::infer_patch_size({{0, 0, 1}, {128, 0, 1}, {0, 256, 1}, {128, 256, 1}}), 128);
  // No gap: the fallback.
  EXPECT_EQ(abmil::infer_patch_size({{40, 50, 1}}), 256);
  EXPECT_EQ(abmil::infer_patch_size({{40, 50, 1}}, 512), 512);
  EXPECT_EQ(abmil::infer_patch_size({}, 99), 99);
}

TEST(SlideHeatmap, LayoutBringsTheLongerSideTo1024To2048Pixels) {
  const HeatmapLayout big = abmil::heatmap_layout(0, 0, 100000, 50000);
  EXPECT_DOUBLE_EQ(big.downsample, 100000.0 / 2048);
  EXPECT_EQ(big.width, 2048);
  EXPECT_EQ(big.height, 1024);
  const HeatmapLayout small = abmil::heatmap_layout(10, 20, 768, 512);
  EXPECT_DOUBLE_EQ(small.downsample, 0.75);
  EXPECT_EQ(small.width, 1024);
  EXPECT_EQ(small.height, 683);  // 512 / 0.75 = 682.7
  EXPECT_EQ(small.x0, 10);
  EXPECT_EQ(small.y0, 20);
  const HeatmapLayout same = abmil::heatmap_layout(0, 0, 1500, 1000);
  EXPECT_DOUBLE_EQ(same.downsample, 1.0);
  EXPECT_EQ(same.width, 1500);
  EXPECT_EQ(same.height, 1000);
  EXPECT_THROW(abmil::heatmap_layout(0, 0, 0, 10), std::invalid_argument);
  // The patches' bounding box: 3 x 2 patches of 256 from (1000, 2000).
  const HeatmapLayout box = abmil::patches_layout(grid_patches(), 256);
  EXPECT_EQ(box.x0, 1000);
  EXPECT_EQ(box.y0, 2000);
  EXPECT_DOUBLE_EQ(box.downsample, 0.75);  // 768 x 512 up to 1024 x 683
  EXPECT_EQ(box.width, 1024);
}

// Drawn from coordinates alone, on white: the highest-weighted patch has viridis' top colour, the lowest its
// bottom colour, one in between its rescaled weight's colour; the hole in the grid stays white; the
// colour legend stands at the right.
TEST(SlideHeatmap, ColoursEachPatchByItsRescaledWeight) {
  const std::vector<SlidePatch> patches = grid_patches();
  const HeatmapLayout l = abmil::patches_layout(patches, 256);
  const cv::Mat out = abmil::slide_heatmap(patches, 256, l, cv::Mat(), 0.5);
  ASSERT_EQ(out.type(), CV_8UC3);
  ASSERT_EQ(out.rows, l.height);
  ASSERT_GE(out.cols, l.width + 70);
  EXPECT_EQ(at_level0(out, l, 1512 + 128, 2256 + 128), weight_colour(1.0));        // 0.5, the highest
  EXPECT_EQ(at_level0(out, l, 1000 + 128, 2000 + 128), weight_colour(0.0));        // 0.1, the lowest
  EXPECT_EQ(at_level0(out, l, 1256 + 128, 2256 + 128), weight_colour(0.75));       // 0.4 -> (0.4 - 0.1) / 0.4
  EXPECT_EQ(at_level0(out, l, 1256 + 128, 2000 + 128), cv::Vec3b(255, 255, 255));  // no patch there
  // The patch's square reaches its last level-0 pixel and no further.
  EXPECT_EQ(at_level0(out, l, 1000 + 255, 2000 + 255), weight_colour(0.0));
  EXPECT_EQ(at_level0(out, l, 1000 + 257, 2000 + 10), cv::Vec3b(255, 255, 255));
  EXPECT_THROW(abmil::slide_heatmap({}, 256, l, cv::Mat(), 0.5), std::invalid_argument);
  EXPECT_THROW(abmil::slide_heatmap(patches, 256, l, cv::Mat(5, 5, CV_8UC3), 0.5), std::invalid_argument);
}

// Over a background: patches blended with alpha, the background unchanged where there is no patch.
TEST(SlideHeatmap, BlendsOverTheBackgroundAndLeavesTheRestAlone) {
  const std::vector<SlidePatch> patches = grid_patches();
  const HeatmapLayout l = abmil::patches_layout(patches, 256);
  const cv::Vec3b bg(30, 200, 90);
  const cv::Mat out =
      abmil::slide_heatmap(patches, 256, l, cv::Mat(l.height, l.width, CV_8UC3, cv::Scalar(30, 200, 90)), 0.25);
  const cv::Vec3b top = weight_colour(1.0), in = at_level0(out, l, 1512 + 128, 2256 + 128);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(in[c], 0.25 * top[c] + 0.75 * bg[c], 1.0) << c;
  EXPECT_EQ(at_level0(out, l, 1256 + 128, 2000 + 128), bg);
}

TEST(SlideHeatmap, ReadsAttentionCsvsOldAndWithCoordinatesAndBranches) {
  TempDir tmp("slide_csv");
  const std::vector<SlidePatch> patches = grid_patches();
  write_text(tmp.path / "old.csv", attention_csv("S1", patches, false));
  const abmil::AttentionRecords old = abmil::read_attention_records(tmp.path / "old.csv");
  ASSERT_EQ(old.bags.size(), 1u);
  EXPECT_EQ(old.bags.at(0).name, "S1");
  EXPECT_FALSE(old.has_xy);
  EXPECT_FALSE(old.bags.at(0).instances[0].has_xy);
  EXPECT_TRUE(old.branches.empty());
  EXPECT_DOUBLE_EQ(old.bags.at(0).instances[4].weight, 0.5);

  write_text(tmp.path / "xy.csv", attention_csv("S1", patches, true, {"normal", "tumor"}));
  const abmil::AttentionRecords xy = abmil::read_attention_records(tmp.path / "xy.csv");
  EXPECT_TRUE(xy.has_xy);
  EXPECT_EQ(xy.branches, (std::vector<std::string>{"normal", "tumor"}));
  const abmil::InstanceRecord& r = xy.bags.at(0).instances[4];
  EXPECT_TRUE(r.has_xy);
  EXPECT_EQ(r.x, 1512);
  EXPECT_EQ(r.y, 2256);
  ASSERT_EQ(r.branch_weights.size(), 2u);
  EXPECT_DOUBLE_EQ(r.branch_weights[1], 1.0);
  EXPECT_DOUBLE_EQ(xy.bags.at(0).probability, 0.9);

  // x,y empty: unknown; one of them empty: an error naming file and line.
  write_text(tmp.path / "empty.csv", kHeader + ",x,y\n0,S1,0,0,,0.5,,,1,0.9,,\n");
  EXPECT_FALSE(abmil::read_attention_records(tmp.path / "empty.csv").bags.at(0).instances[0].has_xy);
  const fs::path half = tmp.path / "half.csv";
  write_text(half, kHeader + ",x,y\n0,S1,0,0,,0.5,,,1,0.9,12,\n");
  EXPECT_EQ(error_of<std::runtime_error>([&] { abmil::read_attention_records(half); }),
            half.string() + ":2: x and y must be both given or both empty");
  write_text(half, kHeader + ",x,y\n0,S1,0,0,,0.5,,,1,0.9,1.5,2\n");
  EXPECT_EQ(error_of<std::runtime_error>([&] { abmil::read_attention_records(half); }),
            half.string() + ":2: '1.5' is not an integer (column 'x')");
  // Anything else after the ten columns is another format.
  for (const std::string extra : {",x", ",y,x", ",x,y,z", ",attention_", ",foo"}) {
    write_text(half, kHeader + extra + "\n");
    EXPECT_EQ(error_of<std::runtime_error>([&] { abmil::read_attention_records(half); }),
              half.string() + ":1: unexpected header (written by another abmil version?)")
        << extra;
  }
}

// `abmil visualize` on a feature_files run whose attention CSV has x,y: one heatmap per slide, the
// pixels of the highest and lowest patches with viridis' ends, --all-branches adds one per branch,
// --patch-size draws smaller squares.
TEST(SlideHeatmap, VisualizeDrawsEverySlideFromTheCsvCoordinates) {
  TempDir tmp("slide_viz");
  const fs::path run = tmp.path / "run";
  const std::vector<SlidePatch> patches = grid_patches();
  std::string csv = attention_csv("S1", patches, true, {"normal", "tumor"});
  const std::string second = attention_csv("S/2", {{0, 0, 0.7}, {512, 0, 0.3}}, true, {"normal", "tumor"}, 1, 0.2);
  csv += second.substr(second.find('\n') + 1);
  write_run(run, "{kind: feature_files, bag_list: labels.csv, features: features}", csv);
  write_text(run / "labels.csv", "case_id,slide_id,label\nc1,S1,normal\nc2,S/2,tumor\n");

  std::ostringstream log;
  abmil::VisualizeOptions o;
  o.all_branches = true;
  const auto written = abmil::visualize_run(run, o, log);
  EXPECT_EQ(written.size(), 6u) << log.str();  // 2 slides x (1 + 2 branches)
  const cv::Mat s1 = cv::imread((run / "visualize" / "S1_heatmap.png").string());
  ASSERT_FALSE(s1.empty()) << log.str();
  const HeatmapLayout l = abmil::patches_layout(patches, 256);
  EXPECT_EQ(at_level0(s1, l, 1512 + 128, 2256 + 128, kHeadingRows), weight_colour(1.0));
  EXPECT_EQ(at_level0(s1, l, 1000 + 128, 2000 + 128, kHeadingRows), weight_colour(0.0));
  EXPECT_EQ(at_level0(s1, l, 1256 + 128, 2000 + 128, kHeadingRows), cv::Vec3b(255, 255, 255));
  // the slide id "S/2" becomes a file name; its two patches 512 apart infer a patch of 512
  EXPECT_TRUE(fs::is_regular_file(run / "visualize" / "S_2_heatmap.png"));
  EXPECT_TRUE(fs::is_regular_file(run / "visualize" / "S1_heatmap_normal.png"));
  EXPECT_TRUE(fs::is_regular_file(run / "visualize" / "S_2_heatmap_tumor.png"));
  EXPECT_NE(log.str().find("S/2: 2 patches of 512 px"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("S1: 5 patches of 256 px"), std::string::npos) << log.str();

  // --patch-size 128: squares of 128 at the same corners; the rest of each 256 grid cell is white.
  o.all_branches = false;
  o.patch_size = 128;
  abmil::visualize_run(run, o, log);
  const cv::Mat small = cv::imread((run / "visualize" / "S1_heatmap.png").string());
  const HeatmapLayout ls = abmil::patches_layout(patches, 128);
  EXPECT_EQ(at_level0(small, ls, 1512 + 64, 2256 + 64, kHeadingRows), weight_colour(1.0));
  EXPECT_EQ(at_level0(small, ls, 1000 + 200, 2000 + 64, kHeadingRows), cv::Vec3b(255, 255, 255));
}

// An attention CSV without x,y (written before they existed): the coordinates come from the `coords`
// of the slide's CLAM .h5 file, found through data.features; a .pt file has none, which is an error.
TEST(SlideHeatmap, VisualizeTakesCoordinatesFromTheFeatureFile) {
  TempDir tmp("slide_coords");
  const fs::path run = tmp.path / "run";
  const std::vector<SlidePatch> patches = grid_patches();
  fs::create_directories(run / "features" / "h5_files");
  {
    H5::H5File file((run / "features" / "h5_files" / "S1.h5").string(), H5F_ACC_TRUNC);
    const hsize_t fdims[2] = {patches.size(), 2}, cdims[2] = {patches.size(), 2};
    std::vector<float> features(patches.size() * 2, 1.0f);
    std::vector<int32_t> coords;
    for (const auto& p : patches) coords.insert(coords.end(), {static_cast<int32_t>(p.x), static_cast<int32_t>(p.y)});
    file.createDataSet("features", H5::PredType::IEEE_F32LE, H5::DataSpace(2, fdims))
        .write(features.data(), H5::PredType::NATIVE_FLOAT);
    file.createDataSet("coords", H5::PredType::STD_I32LE, H5::DataSpace(2, cdims))
        .write(coords.data(), H5::PredType::NATIVE_INT32);
  }
  write_run(run, "{kind: feature_files, features: features}", attention_csv("S1", patches, false));
  std::ostringstream log;
  abmil::visualize_run(run, {}, log);
  const cv::Mat out = cv::imread((run / "visualize" / "S1_heatmap.png").string());
  ASSERT_FALSE(out.empty()) << log.str();
  const HeatmapLayout l = abmil::patches_layout(patches, 256);
  EXPECT_EQ(at_level0(out, l, 1512 + 128, 2256 + 128, kHeadingRows), weight_colour(1.0));
  EXPECT_EQ(at_level0(out, l, 1000 + 128, 2000 + 128, kHeadingRows), weight_colour(0.0));

  // .pt features: no coords anywhere
  fs::remove_all(run / "features" / "h5_files");
  const std::vector<char> pt = torch::pickle_save(torch::ones({static_cast<int64_t>(patches.size()), 2}));
  write_text(run / "features" / "pt_files" / "S1.pt", std::string(pt.begin(), pt.end()));
  const std::string msg = error_of<std::runtime_error>([&] { abmil::visualize_run(run, {}, log); });
  EXPECT_EQ(msg, (run / "attention" / "test.csv").string() + ": slide S1 has no x,y, and " +
                     (run / "features" / "pt_files" / "S1.pt").string() + " has no coords (a .pt file holds none)");
}

// A patch without a weight (empty attention_weight and instance_probability) is not drawn: the rest are
// rescaled among themselves.
TEST(SlideHeatmap, PatchesWithoutAWeightStayTransparent) {
  TempDir tmp("slide_unweighted");
  const fs::path run = tmp.path / "run";
  std::vector<SlidePatch> patches = grid_patches();
  patches[4].weight = -1;  // the 0.5 patch at (1512, 2256)
  std::string csv = attention_csv("S1", patches, true);
  csv.replace(csv.find(",-1,"), 4, ",,");
  write_run(run, "{kind: feature_files}", csv);
  std::ostringstream log;
  abmil::visualize_run(run, {}, log);
  const cv::Mat out = cv::imread((run / "visualize" / "S1_heatmap.png").string());
  ASSERT_FALSE(out.empty()) << log.str();
  const HeatmapLayout l = abmil::patches_layout(patches, 256);  // the box of every patch, weighted or not
  EXPECT_EQ(at_level0(out, l, 1512 + 128, 2256 + 128, kHeadingRows), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(at_level0(out, l, 1256 + 128, 2256 + 128, kHeadingRows), weight_colour(1.0));  // 0.4, now the top
  EXPECT_EQ(at_level0(out, l, 1000 + 128, 2000 + 128, kHeadingRows), weight_colour(0.0));
}

// A slide image OpenSlide cannot read stops visualize before any picture is written, with one line
// naming the file.
TEST(SlideHeatmap, CorruptSlideImageIsOneLineNamingTheFile) {
  TempDir tmp("slide_corrupt");
  const fs::path run = tmp.path / "run";
  write_run(run, "{kind: feature_files, slide_dir: slides}", attention_csv("S1", grid_patches(), true));
  write_text(run / "slides" / "S1.svs", std::string("II*\0", 4) + std::string(200, 'x'));
  write_text(run / "slides" / "notes.txt", "not a slide, ignored");
  std::ostringstream log;
  const std::string msg = error_of<std::runtime_error>([&] { abmil::visualize_run(run, {}, log); });
  EXPECT_EQ(msg.rfind((run / "slides" / "S1.svs").string() + ": ", 0), 0u) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(run / "visualize"));
  // No image of the slide in slide_dir: the heatmap is drawn on white.
  fs::remove(run / "slides" / "S1.svs");
  abmil::visualize_run(run, {}, log);
  EXPECT_TRUE(fs::is_regular_file(run / "visualize" / "S1_heatmap.png"));
  EXPECT_NE(log.str().find("S1: 5 patches of 256 px, 1024x683 px (no image of it in data.slide_dir)"),
            std::string::npos)
      << log.str();
  // A slide_dir that is not a folder
  write_run(run, "{kind: feature_files, slide_dir: nowhere}", attention_csv("S1", grid_patches(), true));
  EXPECT_EQ(error_of<std::runtime_error>([&] { abmil::visualize_run(run, {}, log); }),
            (run / "nowhere").string() + ": no such folder (data.slide_dir)");
}

// A tiled pyramidal TIFF made with vips from a UCSB image: OpenSlide opens it with its size, reads the
// image's own pixels, and visualize blends the heatmap over it, the slide's pixels showing where no
// patch is.
TEST(SlideHeatmap, HeatmapOverAPyramidalTiffOfAUcsbImage) {
  const fs::path image = ucsb_image();
  if (image.empty())
    GTEST_SKIP() << "ABMIL_DATA not set or $ABMIL_DATA/ucsb_breast/images/ytma10_010704_benign1_ccd.png missing: "
                    "set ABMIL_DATA to the data-set root to make the pyramidal TIFF";
  TempDir tmp("slide_tiff");
  const fs::path run = tmp.path / "run";
  const fs::path tif = run / "slides" / "ucsb1.tif";
  fs::create_directories(tif.parent_path());
  if (!make_pyramidal_tiff(image, tif))
    GTEST_SKIP() << "no `vips` on PATH (Debian: libvips-tools, scripts/setup.sh), or it failed: cannot make the "
                    "pyramidal TIFF";
  const abmil::SlideImageInfo info = abmil::read_slide_image_info(tif);
  EXPECT_EQ(info.width, 896);
  EXPECT_EQ(info.height, 768);
  EXPECT_GE(info.levels, 2) << "a pyramid";
  EXPECT_EQ(info.vendor, "generic-tiff");
  EXPECT_EQ(abmil::find_slide_images(tif.parent_path()).at("ucsb1"), tif);

  // At level 0, 1:1: the PNG's pixels (vips stores them losslessly).
  const cv::Mat png = cv::imread(image.string(), cv::IMREAD_COLOR);
  const cv::Mat full = abmil::read_slide_thumbnail(tif, 1.0, 896, 768);
  ASSERT_EQ(full.size(), png.size());
  EXPECT_EQ(cv::norm(full, png, cv::NORM_INF), 0.0);
  // At downsample 4 (level 2 of the pyramid is 224 x 192, smaller than a tile, so level 1 is read and
  // shrunk): close to the PNG shrunk by area averaging.
  cv::Mat shrunk;
  cv::resize(png, shrunk, {224, 192}, 0, 0, cv::INTER_AREA);
  const cv::Mat quarter = abmil::read_slide_thumbnail(tif, 4.0, 224, 192);
  EXPECT_LT(cv::norm(quarter, shrunk, cv::NORM_L1) / (224.0 * 192 * 3), 3.0) << "mean absolute difference";

  // Patches of 128 px over the left 384 px of the image, weights rising to the right; none on the right.
  std::vector<SlidePatch> patches;
  for (int64_t y = 0; y + 128 <= 768; y += 128)
    for (int64_t x = 0; x < 384; x += 128) patches.push_back({x, y, 0.01 * (1 + x / 128) + 0.001 * (y / 128)});
  write_run(run, "{kind: feature_files, slide_dir: slides}", attention_csv("ucsb1", patches, true));
  std::ostringstream log;
  abmil::VisualizeOptions o;
  o.alpha = 0.5;
  abmil::visualize_run(run, o, log);
  EXPECT_NE(log.str().find("over ucsb1.tif"), std::string::npos) << log.str();
  const cv::Mat out = cv::imread((run / "visualize" / "ucsb1_heatmap.png").string());
  ASSERT_FALSE(out.empty()) << log.str();
  const HeatmapLayout l = abmil::heatmap_layout(0, 0, 896, 768);  // the whole slide, 1024 x 878
  ASSERT_GE(out.rows, kHeadingRows + l.height);
  const cv::Mat thumb = abmil::read_slide_thumbnail(tif, l.downsample, l.width, l.height);
  // Right of the patches: the slide's own pixels, unchanged.
  for (const auto& [x, y] : std::vector<std::pair<double, double>>{{600, 100}, {850, 700}, {400, 400}})
    EXPECT_EQ(at_level0(out, l, x, y, kHeadingRows), at_level0(thumb, l, x, y)) << x << "," << y;
  // Inside the highest patch (x 256, y 640) and the lowest (x 0, y 0): half colour, half slide.
  for (const auto& [x, y, w] : std::vector<std::tuple<double, double, double>>{{256 + 64, 640 + 64, 1}, {64, 64, 0}}) {
    const cv::Vec3b got = at_level0(out, l, x, y, kHeadingRows), slide = at_level0(thumb, l, x, y);
    const cv::Vec3b colour = weight_colour(w);
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(got[c], 0.5 * colour[c] + 0.5 * slide[c], 1.0) << x << "," << y;
  }
}
