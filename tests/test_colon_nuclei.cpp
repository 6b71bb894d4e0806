// Tests of abmil/data/nucleus_coords: reading the nucleus coordinate .mat
// files of the Colon cancer set (CRCHistoPhenotypes) and cutting the
// nucleus-centred patches. The small .mat files in tests/data/colon/ are
// written by tests/data/colon/make_mat.py (scipy.io.savemat).
#include "abmil/data/nucleus_coords.h"

#include <gtest/gtest.h>
#include <matio.h>  // only to write a MAT v7.3 file

#include <cmath>
#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <vector>

#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using abmil::DataError;
using abmil::NucleusCentre;

const fs::path kData = fs::path(ABMIL_SOURCE_DIR) / "tests" / "data" / "colon";

std::string mat(const std::string& name) { return (kData / name).string(); }

// The what() of the DataError thrown by reading `path`.
std::string read_error(const std::string& path) {
  return abmil_test::error_of<DataError>([&] { abmil::read_nucleus_mat(path); });
}

// Writes the first `bytes` bytes of `from` to `to`.
void write_prefix(const fs::path& from, const fs::path& to, size_t bytes) {
  const std::string all = abmil_test::read_text(from);
  ASSERT_LT(bytes, all.size());
  std::ofstream(to, std::ios::binary).write(all.data(), static_cast<std::streamsize>(bytes));
}

// ---- read_nucleus_mat ---------------------------------------------------------

TEST(ColonNucleiMat, ReadsTheCoordinatesExactlyFromEveryFormat) {
  // make_mat.py: detection = [10 20; 1 500; 250.5 33.25], columns x, y.
  for (const char* name : {"detection_3x2.mat", "detection_3x2_zlib.mat", "detection_3x2_v4.mat"}) {
    SCOPED_TRACE(name);
    const std::vector<NucleusCentre> c = abmil::read_nucleus_mat(mat(name));
    ASSERT_EQ(c.size(), 3u);
    EXPECT_EQ(c[0].x, 10.0);
    EXPECT_EQ(c[0].y, 20.0);
    EXPECT_EQ(c[1].x, 1.0);
    EXPECT_EQ(c[1].y, 500.0);
    EXPECT_EQ(c[2].x, 250.5);
    EXPECT_EQ(c[2].y, 33.25);
  }
}

TEST(ColonNucleiMat, ReadsMatV73) {
  // MATLAB's -v7.3 format is HDF5, which scipy cannot write: write one with
  // matio itself (so this checks the reader's use of matio, not MATLAB files).
  abmil_test::TempDir tmp("colon");
  const std::string path = (tmp.path / "v73.mat").string();
  mat_t* out = Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT73);
  if (!out) GTEST_SKIP() << "this matio cannot write MAT v7.3 (built without HDF5)";
  double xy[6] = {10, 1, 250.5, 20, 500, 33.25};  // column-major: x column, then y
  size_t dims[2] = {3, 2};
  matvar_t* var = Mat_VarCreate("detection", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, xy, 0);
  ASSERT_NE(var, nullptr);
  EXPECT_EQ(Mat_VarWrite(out, var, MAT_COMPRESSION_NONE), 0);
  Mat_VarFree(var);
  ASSERT_EQ(Mat_Close(out), 0);
  const std::vector<NucleusCentre> c = abmil::read_nucleus_mat(path);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].x, 10.0);
  EXPECT_EQ(c[0].y, 20.0);
  EXPECT_EQ(c[2].x, 250.5);
  EXPECT_EQ(c[2].y, 33.25);
}

TEST(ColonNucleiMat, EmptyDetectionGivesNoCentres) {
  EXPECT_TRUE(abmil::read_nucleus_mat(mat("empty_0x0.mat")).empty());  // MATLAB's []
  EXPECT_TRUE(abmil::read_nucleus_mat(mat("empty_0x2.mat")).empty());  // zeros(0, 2)
}

TEST(ColonNucleiMat, MissingFileDirectoryAndEmptyFile) {
  abmil_test::TempDir tmp("colon");
  const std::string missing = (tmp.path / "img1_epithelial.mat").string();
  EXPECT_EQ(read_error(missing), missing + ": cannot open MAT file: No such file or directory");
  EXPECT_EQ(read_error(tmp.path.string()), tmp.path.string() + ": cannot open MAT file: Is a directory");
  const std::string empty = (tmp.path / "empty.mat").string();
  std::ofstream(empty, std::ios::binary).close();
  EXPECT_EQ(read_error(empty), empty + ": empty file, not a MAT file");
}

TEST(ColonNucleiMat, TextFileIsNotAMatFile) {
  abmil_test::TempDir tmp("colon");
  const std::string path = (tmp.path / "img1_detection.mat").string();
  std::ofstream(path) << "x,y\n10,20\n";
  EXPECT_EQ(read_error(path), path + ": not a MAT file (matio: file does not seem to be a valid MAT file)");
}

TEST(ColonNucleiMat, OtherVariableNameIsNamed) {
  EXPECT_EQ(read_error(mat("wrong_name.mat")),
            mat("wrong_name.mat") + ": no variable 'detection' (variables: centroids)");
}

TEST(ColonNucleiMat, WrongClassOrComplexValues) {
  EXPECT_EQ(read_error(mat("int32.mat")),
            mat("int32.mat") + ": variable 'detection' is of class int32, expected double");
  EXPECT_EQ(read_error(mat("complex.mat")),
            mat("complex.mat") + ": variable 'detection' is complex, expected real double");
}

TEST(ColonNucleiMat, WrongShape) {
  EXPECT_EQ(read_error(mat("shape_3x3.mat")),
            mat("shape_3x3.mat") + ": variable 'detection' is 3 x 3, expected N x 2 (columns x, y)");
}

TEST(ColonNucleiMat, NonFiniteValueIsNamedByMatlabIndex) {
  EXPECT_EQ(read_error(mat("nan.mat")), mat("nan.mat") + ": detection(2,1) = nan is not finite");
  EXPECT_EQ(read_error(mat("inf.mat")), mat("inf.mat") + ": detection(3,2) = -inf is not finite");
}

TEST(ColonNucleiMat, TruncatedFiles) {
  abmil_test::TempDir tmp("colon");
  // Uncompressed, 248 bytes: the 6 doubles are the last 48, x column first.
  // Cut inside the 4th, detection(1,2): matio reads without a word.
  const fs::path plain = tmp.path / "plain.mat";
  write_prefix(kData / "detection_3x2.mat", plain, 248 - 20);
  EXPECT_EQ(read_error(plain.string()),
            plain.string() + ": variable 'detection' ends at detection(1,2) (truncated file?)");
  // Cut inside the variable's header.
  const fs::path header = tmp.path / "header.mat";
  write_prefix(kData / "detection_3x2.mat", header, 170);
  std::string err = read_error(header.string());
  EXPECT_EQ(err.rfind(header.string() + ": corrupt or truncated MAT file (matio: ", 0), 0u) << err;
  // zlib-compressed, cut near the end: matio warns and gives zeros.
  const fs::path zlib = tmp.path / "zlib.mat";
  write_prefix(kData / "detection_3x2_zlib.mat", zlib, fs::file_size(kData / "detection_3x2_zlib.mat") - 6);
  err = read_error(zlib.string());
  EXPECT_EQ(err.rfind(zlib.string() + ": corrupt or truncated data of variable 'detection' (matio: ", 0), 0u) << err;
}

// ---- cut_nucleus_patches ------------------------------------------------------

// A cols x rows RGB image whose pixel at 0-based (x, y) is (x % 256, y % 256, 77).
cv::Mat position_image(int cols, int rows) {
  cv::Mat im(rows, cols, CV_8UC3);
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) im.at<cv::Vec3b>(y, x) = cv::Vec3b(x % 256, y % 256, 77);
  return im;
}

// Checks that patch k of `patches` shows, at patch row r and column c, the
// image pixel (xs[c], ys[r]) of position_image: R = x, G = y, B = 77.
void expect_patch(const torch::Tensor& patches, int64_t k, const std::vector<int>& xs, const std::vector<int>& ys) {
  const auto a = patches.accessor<uint8_t, 4>();
  ASSERT_EQ(patches.size(2), static_cast<int64_t>(ys.size()));
  ASSERT_EQ(patches.size(3), static_cast<int64_t>(xs.size()));
  for (size_t r = 0; r < ys.size(); ++r)
    for (size_t c = 0; c < xs.size(); ++c) {
      SCOPED_TRACE("patch " + std::to_string(k) + ", row " + std::to_string(r) + ", column " + std::to_string(c));
      EXPECT_EQ(a[k][0][r][c], xs[c] % 256);
      EXPECT_EQ(a[k][1][r][c], ys[r] % 256);
      EXPECT_EQ(a[k][2][r][c], 77);
    }
}

TEST(ColonNucleiPatches, ShapeTypeAndInteriorPatch) {
  const cv::Mat im = position_image(7, 5);
  // 1-based (4, 3) is 0-based column 3, row 2.
  const torch::Tensor p = abmil::cut_nucleus_patches(im, {{4, 3}}, 3);
  EXPECT_EQ(p.sizes(), (std::vector<int64_t>{1, 3, 3, 3}));
  EXPECT_EQ(p.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(p.is_contiguous());
  expect_patch(p, 0, {2, 3, 4}, {1, 2, 3});
  EXPECT_EQ(abmil::cut_nucleus_patches(im, {}, 27).sizes(), (std::vector<int64_t>{0, 3, 27, 27}));
}

TEST(ColonNucleiPatches, CentresRoundHalfAwayFromZero) {
  const cv::Mat im = position_image(7, 5);
  // 2.5 -> 3 (not 2 as round-half-to-even), 3.5 -> 4, 1.5 -> 2, 3.49 -> 3,
  // 4.51 -> 5; then minus 1 for 0-based pixels.
  const torch::Tensor p = abmil::cut_nucleus_patches(im, {{2.5, 2.5}, {3.5, 1.5}, {3.49, 4.51}}, 1);
  expect_patch(p, 0, {2}, {2});
  expect_patch(p, 1, {3}, {1});
  expect_patch(p, 2, {2}, {4});
}

TEST(ColonNucleiPatches, BorderPixelsAreReflected101) {
  const cv::Mat im = position_image(7, 5);
  // Top-left corner (1, 1) -> (0, 0): columns and rows -2..2 mirror to 2 1 0 1 2.
  // Bottom-right corner (7, 5) -> (6, 4): columns 4..8 -> 4 5 6 5 4, rows 2..6 -> 2 3 4 3 2.
  const torch::Tensor p = abmil::cut_nucleus_patches(im, {{1, 1}, {7, 5}}, 5);
  expect_patch(p, 0, {2, 1, 0, 1, 2}, {2, 1, 0, 1, 2});
  expect_patch(p, 1, {4, 5, 6, 5, 4}, {2, 3, 4, 3, 2});
}

TEST(ColonNucleiPatches, PatchLargerThanTheImageReflectsAgain) {
  const cv::Mat im = position_image(3, 2);
  // Centre (2, 1) -> column 1, row 0; 7 x 7 patch. Reflect-101 of columns
  // 0 1 2 repeats ... 2 1 0 1 2 1 0 ...: columns -2..4 -> 2 1 0 1 2 1 0.
  // Rows 0 1 repeat with period 2: rows -3..3 -> 1 0 1 0 1 0 1.
  const torch::Tensor p = abmil::cut_nucleus_patches(im, {{2, 1}}, 7);
  expect_patch(p, 0, {2, 1, 0, 1, 2, 1, 0}, {1, 0, 1, 0, 1, 0, 1});
}

TEST(ColonNucleiPatches, PatchesAtTheCentresOfAFile) {
  // 500 x 500 like the set's images; 27 x 27 patches like Ilse et al.
  const cv::Mat im = position_image(500, 500);
  const auto centres = abmil::read_nucleus_mat(mat("detection_3x2.mat"));
  const torch::Tensor p = abmil::cut_nucleus_patches(im, centres, 27);
  ASSERT_EQ(p.sizes(), (std::vector<int64_t>{3, 3, 27, 27}));
  auto span = [](int centre) {  // 27 indices centre-13..centre+13, reflected in 0..499
    std::vector<int> v;
    for (int i = centre - 13; i <= centre + 13; ++i) v.push_back(i < 0 ? -i : i > 499 ? 998 - i : i);
    return v;
  };
  expect_patch(p, 0, span(9), span(19));    // (10, 20)
  expect_patch(p, 1, span(0), span(499));   // (1, 500): bottom-left corner
  expect_patch(p, 2, span(250), span(32));  // (250.5, 33.25) -> (251, 33)
}

TEST(ColonNucleiPatches, BadArguments) {
  const cv::Mat im = position_image(7, 5);
  auto error = [&](const cv::Mat& image, std::vector<NucleusCentre> centres, int size) {
    return abmil_test::error_of<std::invalid_argument>([&] { abmil::cut_nucleus_patches(image, centres, size); });
  };
  EXPECT_EQ(error(im, {{4, 3}}, 4), "cut_nucleus_patches: patch size 4 is not odd and positive");
  EXPECT_EQ(error(im, {{4, 3}}, -1), "cut_nucleus_patches: patch size -1 is not odd and positive");
  const std::string bad_image = "cut_nucleus_patches: image must be a non-empty CV_8UC3 (8-bit, 3-channel) image";
  EXPECT_EQ(error(cv::Mat(5, 7, CV_8UC1, cv::Scalar(0)), {{4, 3}}, 3), bad_image);
  EXPECT_EQ(error(cv::Mat(5, 7, CV_32FC3, cv::Scalar(0)), {{4, 3}}, 3), bad_image);
  EXPECT_EQ(error(cv::Mat(), {}, 3), bad_image);
  // x 0.4 rounds to 0, left of pixel 1; x 7.5 rounds to 8, right of pixel 7.
  EXPECT_EQ(error(im, {{4, 3}, {0.4, 3}}, 3),
            "cut_nucleus_patches: centre 1 (x = 0.4, y = 3, 1-based) lies outside the 7 x 5 image");
  EXPECT_EQ(error(im, {{7.5, 3}}, 3),
            "cut_nucleus_patches: centre 0 (x = 7.5, y = 3, 1-based) lies outside the 7 x 5 image");
  EXPECT_EQ(error(im, {{4, 5.5}}, 3),
            "cut_nucleus_patches: centre 0 (x = 4, y = 5.5, 1-based) lies outside the 7 x 5 image");
  EXPECT_EQ(error(im, {{std::nan(""), 3}}, 3),
            "cut_nucleus_patches: centre 0 (x = nan, y = 3, 1-based) lies outside the 7 x 5 image");
  EXPECT_EQ(error(im, {{1e300, 3}}, 3),
            "cut_nucleus_patches: centre 0 (x = 1e+300, y = 3, 1-based) lies outside the 7 x 5 image");
}

}  // namespace
