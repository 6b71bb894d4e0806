// Nucleus coordinates of the Colon cancer set (CRCHistoPhenotypes,
// Sirinukunwattana et al., IEEE TMI 2016) and the nucleus-centred patches
// that Ilse, Tomczak & Welling (ICML 2018, Sec. 5.3) use as instances.
// datasets/colon_crchistophenotypes.md describes the set and the bags.
//
// The set's coordinate files are MATLAB .mat files holding one variable
// `detection`: an N x 2 double matrix, one row per nucleus, columns (x, y)
// in pixels, 1-based (MATLAB convention: the top-left pixel is (1, 1)).
// Read with matio (Debian libmatio-dev); no matio type appears here.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

#include "abmil/data/errors.h"

namespace cv {
class Mat;
}

namespace abmil {

/// One nucleus centre as stored in the .mat file: 1-based pixel coordinates,
/// x the column and y the row, fractional values allowed.
struct NucleusCentre {
  double x = 0;  ///< column, 1-based (1 = leftmost pixel)
  double y = 0;  ///< row, 1-based (1 = top pixel)
};

/// Reads the variable `detection` of a MATLAB .mat file (v4, v5/v7 plain or
/// zlib-compressed, v7.3 where matio was built with HDF5, as Debian's is):
/// an N x 2 real double matrix, row i = nucleus i, columns x then y (1-based
/// pixels), e.g. `Classification/img1/img1_epithelial.mat` of
/// CRCHistoPhenotypes. Returns the N centres in file order; an empty matrix
/// (0 x 2, or MATLAB's `[]` = 0 x 0: an image without nuclei of that class)
/// gives an empty vector. Values are not checked against an image size
/// (cut_nucleus_patches does that).
/// Throws DataError, one line `PATH: message`, on: a missing or unreadable
/// file, a directory or an empty file; a file matio cannot read as a MAT file;
/// data that ends early or is corrupt (matio's own message quoted); no
/// variable `detection` (the variables found are listed); a class other
/// than double (e.g. int32, single, cell, sparse) or complex values; a shape
/// other than N x 2 or 0 x 0, or more than 10,000,000 rows; a NaN or infinite
/// value, named as `detection(ROW,COL)` with MATLAB's 1-based indices.
/// Installs (once per process) a matio log handler that keeps matio's
/// messages off stderr so they can be quoted in these errors.
std::vector<NucleusCentre> read_nucleus_mat(const std::string& path);

/// Cuts one `patch_size` x `patch_size` patch per centre out of an 8-bit,
/// 3-channel image (CV_8UC3, e.g. a 500 x 500 H&E image converted to RGB
/// with cv::cvtColor(..., cv::COLOR_BGR2RGB); channels are copied in the
/// order they have in `image_rgb8`). Centre i lies at pixel (column, row) =
/// (round(x_i) - 1, round(y_i) - 1), 0-based, round half away from zero as
/// MATLAB's round; the patch spans patch_size / 2 pixels on each side of it.
/// Pixels beyond the image border are mirrored without repeating the edge
/// (OpenCV BORDER_REFLECT_101: ... 2 1 | 0 1 2 ... w-2 w-1 | w-2 w-3 ...),
/// also when the patch is larger than the image.
/// Returns uint8 [K, 3, patch_size, patch_size] (K = centres.size(); channel,
/// row, column), a fresh contiguous CPU tensor; K = 0 gives [0, 3, P, P].
/// Throws std::invalid_argument for a patch_size that is not odd and positive,
/// an image that is empty or not CV_8UC3, or a centre whose rounded pixel lies
/// outside the image (the message names its index i, 0-based, and its x, y).
torch::Tensor cut_nucleus_patches(const cv::Mat& image_rgb8, const std::vector<NucleusCentre>& centres, int patch_size);

}  // namespace abmil
