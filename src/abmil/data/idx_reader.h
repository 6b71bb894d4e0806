// Reader for the IDX format of MNIST-like data sets, gzip-compressed or plain.
// No LibTorch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "abmil/data/errors.h"

namespace abmil {

/// Images of an IDX3 file (magic 0x00000803): `count` images of `rows` x
/// `cols` uint8 pixels, row-major, image after image.
struct IdxImages {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  ///< size count*rows*cols
};

/// Reads an IDX3 image file, gzip or plain (detected by content, via zlib).
/// Throws DataError naming the file (and byte offset) on: missing/unreadable
/// file, wrong magic, zero or absurd dimensions, truncated data, trailing bytes.
IdxImages read_idx_images(const std::string& path);

/// Reads an IDX1 label file (magic 0x00000801), gzip or plain.
/// Throws DataError as read_idx_images does.
std::vector<uint8_t> read_idx_labels(const std::string& path);

/// Reads an image file and its label file and checks that their counts agree.
/// Throws DataError naming both files on a count mismatch.
IdxImages read_idx_pair(const std::string& images_path, const std::string& labels_path,
                        std::vector<uint8_t>& labels_out);

}  // namespace abmil
