// Image bags: patch tiling and the background filter on synthetic images of
// known content, the image list and its errors, colour deconvolution, patch
// augmentation, the real UCSB set, and a cv + visualize run on synthetic
// images through the CLI.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdlib>
#include <fstream>
#include <set>

#include "abmil/config/config.h"
#include "abmil/data/augment.h"
#include "abmil/data/idx_reader.h"
#include "abmil/data/image_patches.h"
#include "abmil/data/mnist_bags.h"
#include "test_util.h"

namespace fs = std::filesystem;
using abmil_test::error_of;
using abmil_test::TempDir;

namespace {

/// A 96 x 64 BGR image, white, as a 3 x 2 grid of 32 x 32 patches:
///  (0,0) all blue-ish (B=200,G=10,R=20)      -> kept, 0 white pixels
///  (1,0) 800 white pixels of 1024 (78 %)      -> dropped (>= 75 %)
///  (2,0) exactly 768 white (75 %)             -> dropped (>= is background)
///  (0,1) 767 white (74.9 %)                   -> kept
///  (1,1) all white                            -> dropped
///  (2,1) all (R,G,B) = (219,255,255)          -> kept: 219 is below the white level 220
cv::Mat grid_image() {
  cv::Mat im(64, 96, CV_8UC3, cv::Scalar(255, 255, 255));
  im(cv::Rect(0, 0, 32, 32)).setTo(cv::Scalar(200, 10, 20));
  auto colour_first = [&](int px, int py, int n) {  // first n pixels (row-major) of patch (px,py) non-white
    for (int i = 0; i < n; ++i) im.at<cv::Vec3b>(py * 32 + i / 32, px * 32 + i % 32) = cv::Vec3b(90, 60, 30);
  };
  colour_first(1, 0, 1024 - 800);
  colour_first(2, 0, 1024 - 768);
  colour_first(0, 1, 1024 - 767);
  im(cv::Rect(64, 32, 32, 32)).setTo(cv::Scalar(255, 255, 219));  // R = 219: just below the white level
  return im;
}

}  // namespace

TEST(ImagePatches, TilingKeepsGridOrderAndDropsBackground) {
  const abmil::TiledImage t = abmil::tile_image(grid_image(), {});
  EXPECT_EQ(t.grid_patches, 6);
  ASSERT_EQ(t.origins.size(), 3u);
  EXPECT_EQ(t.origins[0].x, 0);
  EXPECT_EQ(t.origins[0].y, 0);
  EXPECT_EQ(t.origins[1].x, 0);
  EXPECT_EQ(t.origins[1].y, 32);
  EXPECT_EQ(t.origins[2].x, 64);
  EXPECT_EQ(t.origins[2].y, 32);
  ASSERT_EQ(t.patches.sizes(), (std::vector<int64_t>{3, 3, 32, 32}));
  EXPECT_EQ(t.patches.scalar_type(), torch::kUInt8);
  // Patch 0 is uniform BGR (200,10,20), stored as RGB.
  EXPECT_EQ(t.patches[0][0].eq(20).all().item<bool>(), true);
  EXPECT_EQ(t.patches[0][1].eq(10).all().item<bool>(), true);
  EXPECT_EQ(t.patches[0][2].eq(200).all().item<bool>(), true);
  // Patch 1 (origin 0,32): its first 257 pixels row-major are (R,G,B) = (30,60,90), the rest white.
  const torch::Tensor r = t.patches[1][0].flatten();
  EXPECT_EQ(r.narrow(0, 0, 257).eq(30).all().item<bool>(), true);
  EXPECT_EQ(r.narrow(0, 257, 1024 - 257).eq(255).all().item<bool>(), true);
  EXPECT_EQ(t.patches[2][0].eq(219).all().item<bool>(), true);
}

TEST(ImagePatches, FilterThresholdsAndStride) {
  abmil::PatchTiling keep_all;
  keep_all.max_white_fraction = 1.0;
  EXPECT_EQ(abmil::tile_image(grid_image(), keep_all).origins.size(), 6u);
  abmil::PatchTiling low_level;
  low_level.white_level = 219;  // now patch (2,1) is white too
  EXPECT_EQ(abmil::tile_image(grid_image(), low_level).origins.size(), 2u);
  abmil::PatchTiling half;
  half.max_white_fraction = 0.5;  // (0,1) with 74.9 % white goes as well
  EXPECT_EQ(abmil::tile_image(grid_image(), half).origins.size(), 2u);
  // Stride 16 on 96 x 64: origins x in {0,16,...,64} (5), y in {0,16,32} (3).
  abmil::PatchTiling overlap;
  overlap.stride = 16;
  overlap.max_white_fraction = 1.0;
  const abmil::TiledImage t = abmil::tile_image(grid_image(), overlap);
  EXPECT_EQ(t.grid_patches, 15);
  EXPECT_EQ(t.origins.back().x, 64);
  EXPECT_EQ(t.origins.back().y, 32);
  // A border narrower than a patch is not covered: 70 x 40 holds 2 x 1 patches.
  EXPECT_EQ(abmil::tile_image(cv::Mat(40, 70, CV_8UC3, cv::Scalar(0, 0, 0)), {}).grid_patches, 2);
  // Grey images become RGB with three equal channels.
  const abmil::TiledImage g = abmil::tile_image(cv::Mat(32, 32, CV_8UC1, cv::Scalar(7)), {});
  EXPECT_EQ(g.patches.eq(7).all().item<bool>(), true);
  EXPECT_EQ(error_of<std::invalid_argument>([] { abmil::tile_image(cv::Mat(20, 20, CV_8UC3), {}); }),
            "tile_image: a 20x20 image holds no 32x32 patch");
  EXPECT_EQ(error_of<std::invalid_argument>([] { abmil::tile_image(cv::Mat(40, 40, CV_32FC3), {}); }),
            "tile_image: needs an 8-bit image with 1 or 3 channels");
}

TEST(ColourDeconvolution, RoundTripAndPureStains) {
  torch::manual_seed(3);
  const torch::Tensor rgb = torch::rand({4, 3, 5, 5}, torch::kDouble) * (1.0 - 1.0 / 255) + 1.0 / 255;
  const torch::Tensor hed = abmil::rgb_to_hed(rgb);
  EXPECT_TRUE(torch::allclose(abmil::hed_to_rgb(hed), rgb, 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(abmil::rgb_to_hed(abmil::hed_to_rgb(hed)), hed, 1e-9, 1e-9));
  // Rows of the stain matrix have unit length (Ruifrok & Johnston's normalisation).
  const torch::Tensor m = abmil::he_stain_matrix();
  EXPECT_TRUE(torch::allclose(m.norm(2, 1), torch::ones({3}, torch::kDouble)));
  // A pixel of 0.8 OD of pure haematoxylin: I_c = 10^(-0.8 h_c) -> (0.8, 0, 0).
  const torch::Tensor pure = torch::pow(10.0, -0.8 * m[0]).view({3, 1, 1});
  const torch::Tensor s = abmil::rgb_to_hed(pure).flatten();
  EXPECT_NEAR(s[0].item<double>(), 0.8, 1e-12);
  EXPECT_NEAR(s[1].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(s[2].item<double>(), 0.0, 1e-12);
  // White is zero stain; black is clamped to 1/255, finite.
  EXPECT_TRUE(abmil::rgb_to_hed(torch::ones({3, 1, 1}, torch::kDouble)).abs().max().item<double>() < 1e-15);
  EXPECT_TRUE(abmil::rgb_to_hed(torch::zeros({3, 1, 1}, torch::kDouble)).isfinite().all().item<bool>());
  EXPECT_EQ(error_of<std::invalid_argument>([] {
              abmil::rgb_to_hed(torch::ones({4, 2, 2}));
            }),
            "rgb_to_hed: needs a tensor [..., 3, H, W], got 3 dimensions");
}

TEST(PatchAugmentation, ReproducibleShapeKeepingSymmetries) {
  torch::manual_seed(11);
  const torch::Tensor x = torch::randint(0, 256, {64, 3, 8, 8}, torch::kLong).to(torch::kUInt8);
  abmil::PatchAugmentation aug;
  aug.rotate_flip = true;
  aug.he_jitter_std = 0.1;
  torch::manual_seed(5);
  const torch::Tensor a = abmil::augment_patches(x, aug);
  torch::manual_seed(5);
  const torch::Tensor b = abmil::augment_patches(x, aug);
  torch::manual_seed(6);
  const torch::Tensor c = abmil::augment_patches(x, aug);
  EXPECT_EQ(a.sizes(), x.sizes());
  EXPECT_EQ(a.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));

  // Rotations and mirroring only: every patch is one of the 8 symmetries of
  // its input, and with 64 patches more than one symmetry occurs.
  abmil::PatchAugmentation geometric;
  geometric.rotate_flip = true;
  torch::manual_seed(7);
  const torch::Tensor g = abmil::augment_patches(x, geometric);
  std::set<int> used;
  for (int64_t i = 0; i < x.size(0); ++i) {
    int found = -1;
    for (int code = 0; code < 8 && found < 0; ++code) {
      torch::Tensor s = x[i];
      if (code >= 4) s = s.flip({2});
      s = torch::rot90(s, code % 4, {1, 2});
      if (torch::equal(s, g[i])) found = code;
    }
    ASSERT_GE(found, 0) << "patch " << i << " is no symmetry of its input";
    used.insert(found);
  }
  EXPECT_GT(used.size(), 4u);

  // Nothing asked: a copy. Jitter alone keeps white pixels white (zero stain
  // times any factor) and changes stained ones.
  EXPECT_TRUE(torch::equal(abmil::augment_patches(x, {}), x));
  abmil::PatchAugmentation jitter;
  jitter.he_jitter_std = 0.2;
  const torch::Tensor white = torch::full({2, 3, 4, 4}, 255, torch::kUInt8);
  EXPECT_TRUE(torch::equal(abmil::augment_patches(white, jitter), white));
  torch::manual_seed(8);
  EXPECT_FALSE(torch::equal(abmil::augment_patches(x, jitter), x));
  EXPECT_EQ(error_of<std::invalid_argument>([] {
              abmil::augment_patches(torch::zeros({2, 3, 4, 4}), {});
            }),
            "augment_patches: needs uint8 RGB patches [N, 3, P, P], got Float of 4 dimensions");
}

namespace {

/// Writes `count` 64 x 64 PNG images under `dir` and a list.csv (path,label):
/// image i is positive for odd i and then holds one red 16 x 16 square;
/// the rest is a grey-pink texture, one white 16 x 16 corner.
void write_synthetic_images(const fs::path& dir, int count) {
  fs::create_directories(dir / "img");
  std::ofstream list(dir / "list.csv");
  list << "path,label,note\n";
  cv::RNG rng(4);
  for (int i = 0; i < count; ++i) {
    cv::Mat im(64, 64, CV_8UC3);
    rng.fill(im, cv::RNG::UNIFORM, cv::Scalar(150, 110, 170), cv::Scalar(200, 150, 210));
    im(cv::Rect(48, 48, 16, 16)).setTo(cv::Scalar(255, 255, 255));
    if (i % 2) im(cv::Rect(16 * (i % 3), 16 * (i % 2), 16, 16)).setTo(cv::Scalar(0, 0, 230));
    cv::imwrite((dir / "img" / ("im" + std::to_string(i) + ".png")).string(), im);
    list << "img/im" << i << ".png," << i % 2 << ",x\n";
  }
}

}  // namespace

TEST(ImagePatches, LoadsAListOfImagesAsBags) {
  TempDir tmp("imgbags");
  write_synthetic_images(tmp.path, 6);
  abmil::DataConfig d;
  d.kind = "image_patches";
  d.path = (tmp.path / "list.csv").string();
  d.patch_size = 16;
  d.pixel_mean = 0.5;
  d.pixel_std = 0.25;
  const abmil::ImagePatchBags bags = abmil::load_image_patch_bags(d);
  ASSERT_EQ(bags.all.num_bags(), 6);
  EXPECT_EQ(bags.grid_patches, 6 * 16);
  EXPECT_EQ(bags.all.num_instances(), 6 * 15);  // the white corner patch is dropped
  EXPECT_EQ(bags.all.instances.sizes(), (std::vector<int64_t>{90, 3, 16, 16}));
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(bags.all.bags[i].id, i);
    EXPECT_EQ(bags.all.bags[i].label, i % 2);
    EXPECT_EQ(bags.all.bags[i].source_indices.front(), 15 * i);
    EXPECT_EQ(fs::path(bags.image_paths[i]).filename(), "im" + std::to_string(i) + ".png");
  }
  EXPECT_EQ(bags.origins[14].x, 32);  // last kept patch of image 0: (32, 48)
  EXPECT_EQ(bags.origins[14].y, 48);
  // model_input scales uint8 pixels: (x/255 - 0.5) / 0.25.
  const torch::Tensor px = torch::tensor({0, 255}, torch::kUInt8);
  EXPECT_TRUE(torch::allclose(abmil::model_input(bags.all, px), torch::tensor({-2.0f, 2.0f})));

  // `abmil train` splits: stratified test and validation images.
  d.test_fraction = 0.34;
  d.validation_fraction = 0.25;
  const abmil::MilData m = abmil::load_image_patches(d, 1);
  EXPECT_EQ(m.test.num_bags(), 2);
  EXPECT_EQ(m.train.num_bags() + m.validation.num_bags(), 4);
  EXPECT_EQ(m.instance_shape, (std::vector<int64_t>{3, 16, 16}));
  EXPECT_EQ(m.test.pixel_std, 0.25);
}

TEST(ImagePatches, ListAndImageErrorsNameTheFile) {
  TempDir tmp("imgerr");
  const fs::path dir = tmp.path;
  write_synthetic_images(dir, 2);
  auto load = [&](const std::string& csv_text, const std::string& name = "l.csv") {
    std::ofstream(dir / name) << csv_text;
    abmil::DataConfig d;
    d.kind = "image_patches";
    d.path = (dir / name).string();
    d.patch_size = 16;
    return error_of<abmil::DataError>([&] { abmil::load_image_patch_bags(d); });
  };
  const std::string l = (dir / "l.csv").string();
  EXPECT_EQ(load("name,label\nimg/im0.png,0\n"), l + ":1: no column 'path' (or 'file') in the header");
  EXPECT_EQ(load("path,label\n"), l + ": no images listed");
  EXPECT_EQ(error_of<abmil::DataError>([&] { abmil::read_image_list((dir / "none.csv").string()); }),
            (dir / "none.csv").string() + ": no such image list or folder (data.path)");
  EXPECT_EQ(load("path,label\nimg/im0.png,2\n"), l + ":2: '2' is not a 0/1 label (column 'label')");
  EXPECT_EQ(load("path,label\nimg/im0.png,0\n./img/im0.png,1\n"), l + ":3: image './img/im0.png' is listed twice");
  EXPECT_EQ(load("path,label\nimg/nope.png,0\n"),
            (dir / "img/nope.png").string() + ": no such image file (listed at " + l + ":2)");
  std::ofstream(dir / "img" / "text.png") << "not a picture";
  EXPECT_EQ(load("path,label\nimg/text.png,0\n"),
            (dir / "img/text.png").string() +
                ": cannot decode the image (not a format OpenCV reads, or damaged; listed at " + l + ":2)");
  cv::imwrite((dir / "img" / "small.png").string(), cv::Mat(8, 12, CV_8UC3, cv::Scalar(1, 2, 3)));
  EXPECT_EQ(load("path,label\nimg/small.png,0\n"),
            (dir / "img/small.png").string() + ": 12x8 pixels, smaller than one 16x16 patch (data.patch_size)");
  cv::imwrite((dir / "img" / "white.png").string(), cv::Mat(32, 32, CV_8UC3, cv::Scalar(250, 250, 250)));
  EXPECT_EQ(load("path,label\nimg/white.png,0\n"),
            (dir / "img/white.png").string() +
                ": all 4 patches are background (white share >= 0.75); raise data.white_level or "
                "data.max_white_fraction");
  // image_root: paths relative to another folder.
  std::ofstream(dir / "rooted.csv") << "path,label\nim1.png,1\n";
  abmil::DataConfig d;
  d.path = (dir / "rooted.csv").string();
  d.image_root = (dir / "img").string();
  d.patch_size = 16;
  EXPECT_EQ(abmil::load_image_patch_bags(d).all.num_bags(), 1);
}

TEST(ImagePatches, UcsbBreastCancerTiling) {
  const char* root = std::getenv("ABMIL_DATA");
  const fs::path dir = root ? fs::path(root) / "ucsb_breast" : fs::path();
  if (!root || !fs::is_regular_file(dir / "labels.csv"))
    GTEST_SKIP() << "ABMIL_DATA not set or $ABMIL_DATA/ucsb_breast/labels.csv missing: set ABMIL_DATA to the "
                    "data-set root to tile the real images";
  abmil::DataConfig d;
  d.kind = "image_patches";
  d.path = (dir / "labels.csv").string();
  d.image_root = (dir / "images").string();
  const abmil::ImagePatchBags bags = abmil::load_image_patch_bags(d);
  ASSERT_EQ(bags.all.num_bags(), 58);
  int positives = 0;
  for (const auto& b : bags.all.bags) positives += b.label;
  EXPECT_EQ(positives, 26);
  EXPECT_EQ(bags.grid_patches, 58 * 672);  // 896 x 768 in 32 x 32 patches: 28 x 24 each (paper Sec. 4.4)
  // Our filter (white = R,G,B >= 220, drop at >= 75 %) keeps 29386 of them.
  EXPECT_EQ(bags.all.num_instances(), 29386);
}

TEST(ImagePatches, CrossValidationAndVisualizeThroughTheCli) {
  TempDir tmp("imgcv");
  write_synthetic_images(tmp.path, 8);
  const fs::path config = tmp.path / "cv.yaml";
  std::ofstream(config) << "experiment: {name: imgcv, seed: 2}\n"
                           "data: {kind: image_patches, path: "
                        << (tmp.path / "list.csv").string()
                        << ", patch_size: 16, augment: {rotate_flip: true, he_jitter_std: 0.05}}\n"
                           "model: {encoder: histo_cnn, embedding_dim: 16, dropout: 0.5, pooling: gated_attention, "
                           "attention_dim: 8}\n"
                           "train: {epochs: 2}\n"
                           "cv: {folds: 2, repeats: 1, validation_fraction: 0.25}\n"
                           "runtime: {threads: 1, progress: never}\n";
  const fs::path run = tmp.path / "run";
  using abmil_test::shell_quote;
  const auto cv = abmil_test::run_abmil("cv " + shell_quote(config.string()) + " --output " + shell_quote(run.string()),
                                        tmp.path, tmp.path / "log.txt");
  ASSERT_EQ(cv.code, 0) << cv.output;
  EXPECT_TRUE(fs::is_regular_file(run / "attention" / "r0_f0.csv"));
  EXPECT_TRUE(fs::is_regular_file(run / "predictions" / "r0_f1.csv"));
  const auto viz = abmil_test::run_abmil("visualize " + shell_quote(run.string()) + " --top-patches 3", tmp.path,
                                         tmp.path / "viz.txt");
  ASSERT_EQ(viz.code, 0) << viz.output;
  for (int i = 0; i < 8; ++i) {
    const cv::Mat overlay = cv::imread((run / "visualize" / ("im" + std::to_string(i) + "_overlay.png")).string());
    ASSERT_FALSE(overlay.empty()) << "image " << i;
    EXPECT_GE(overlay.rows, 64 + 36);  // the image under a heading
    EXPECT_FALSE(cv::imread((run / "visualize" / ("im" + std::to_string(i) + "_top3.png")).string()).empty());
  }
  EXPECT_NE(viz.output.find("wrote 16 pictures (8 images)"), std::string::npos) << viz.output;
}
