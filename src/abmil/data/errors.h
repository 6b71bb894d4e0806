// The errors of the data layer: one type for every unreadable or malformed
// data file, whatever its kind. No LibTorch here.
#pragma once

#include <stdexcept>

namespace abmil {

/// A malformed or unreadable data file. `what()` is one line naming the file
/// and, where it applies, where in it (line, column, byte offset in the
/// decompressed stream, HDF5 dataset).
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace abmil
