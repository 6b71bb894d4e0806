// Image bags (histopathology): each image is a bag, its P x P patches are the
// instances (paper Sec. 4.4: UCSB breast cancer, 32 x 32 patches, patches of
// >= 75 % white background dropped). Images are decoded with OpenCV once;
// patches stay uint8 in memory (BagSplit::pixel_mean/pixel_std turn them into
// model input).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "abmil/data/bag.h"

namespace cv {
class Mat;
}

namespace abmil {

struct DataConfig;
struct MilData;

/// How an image is cut into patches.
struct PatchTiling {
  int64_t patch_size = 32;           ///< P, pixels
  int64_t stride = 0;                ///< step between patch origins, pixels; 0 = P (no overlap)
  int64_t white_level = 220;         ///< a pixel is white when R, G and B are all >= this (0..255)
  double max_white_fraction = 0.75;  ///< a patch whose white share is >= this is background and dropped; 1 keeps all
};

/// Top-left corner of a patch in its image, pixels (x right, y down).
struct PatchOrigin {
  int32_t x = 0, y = 0;
};

/// The kept patches of one image.
struct TiledImage {
  torch::Tensor patches;             ///< [K, 3, P, P] uint8, channels R, G, B
  std::vector<PatchOrigin> origins;  ///< K top-left corners, row-major order of the grid
  int64_t grid_patches = 0;          ///< patches of the full grid, before the background filter
};

/// Cuts `image` (8-bit, 3 channels BGR as cv::imread gives, or 1 channel
/// grey) into the patches of a regular grid: origins (x, y) = (i * stride,
/// j * stride) for every patch that fits whole (a border narrower than P is
/// not covered), rows top to bottom, left to right; patches whose share of
/// white pixels (all channels >= white_level) is >= max_white_fraction are
/// dropped (none when max_white_fraction is 1).
/// Throws std::invalid_argument for another pixel type, patch_size < 1,
/// stride < 0 or an image smaller than one patch.
TiledImage tile_image(const cv::Mat& image, const PatchTiling& tiling);

/// The images of an image-bag list.
struct ImageList {
  std::vector<std::string> paths;  ///< resolved image paths
  std::vector<std::string> names;  ///< the path cell as listed (a folder: the file name), the bag's name
  std::vector<int> labels;         ///< bag labels 0/1, -1 when unknown
  std::vector<std::string> where;  ///< "CSV:LINE" of each image, for error messages
};

/// Reads a CSV list of images: a header with a `path` (or `file`) column and
/// a `label` column (0/1; optional, and a cell may be empty: unknown, for
/// `abmil predict`), other columns ignored; one image per row. Image
/// paths are taken relative to `image_root`, or to the CSV's folder when
/// `image_root` is empty (absolute paths stay as they are).
/// `csv_path` may also be a folder: its image files (png, jpg, jpeg, tif,
/// tiff, bmp), sorted by name, unlabelled.
/// Throws DataError "CSV:LINE: message" for a missing file (naming its
/// absolute path), a missing path column, a label other than 0/1, no rows, an
/// image listed twice, or a folder without images.
ImageList read_image_list(const std::string& csv_path, const std::string& image_root = "");

/// Every image of a list, tiled: one bag per image.
struct ImagePatchBags {
  /// Split "all": bag b = image b of the list (id b), instances [N, 3, P, P]
  /// uint8, source_indices = the patch's index in `origins` (0..N-1),
  /// instance labels unknown (-1), pixel_mean/pixel_std from the config.
  BagSplit all;
  std::vector<std::string> image_paths;  ///< per bag
  std::vector<PatchOrigin> origins;      ///< per patch (source index)
  int64_t grid_patches = 0;              ///< patches before the background filter, all images
  std::string summary;                   ///< one line for the log
};

/// Reads `data.path` (read_image_list with data.image_root), decodes each
/// image with OpenCV (cv::IMREAD_COLOR) and tiles it with data.patch_size,
/// data.patch_stride, data.white_level and data.max_white_fraction.
/// Throws DataError naming the image and the list line for a missing or undecodable image,
/// an image smaller than one patch, or one left with no patch after the
/// background filter; DataError from read_image_list.
ImagePatchBags load_image_patch_bags(const DataConfig& data);

/// `abmil train` on image bags: load_image_patch_bags, then a stratified
/// `data.test_fraction` of the images held out for testing and
/// `data.validation_fraction` of the rest for early stopping (deterministic
/// from `seed`, as for feature bags). Throws as load_image_patch_bags, and
/// DataError when too few images are left to hold out test bags.
MilData load_image_patches(const DataConfig& data, uint64_t seed);

}  // namespace abmil
