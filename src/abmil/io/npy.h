// NumPy .npy files (format version 1.0), as numpy.load reads them.
#pragma once

#include <cstdint>
#include <string>

namespace abmil {

/// The bytes of a .npy file (NumPy format 1.0: magic "\x93NUMPY", version
/// 1.0, a little-endian uint16 header length, the header dict
/// {'descr': '<f4', 'fortran_order': False, 'shape': (rows, cols), } padded
/// with spaces and a newline to a multiple of 64 bytes, then the data) of a
/// C-order float32 matrix `data` [rows, cols]. Source: numpy's
/// "A Simple File Format for NumPy Arrays" (NEP 1). Assumes a little-endian
/// host, as every machine abmil builds on.
std::string npy_float32(const float* data, int64_t rows, int64_t cols);

}  // namespace abmil
