// Reader for bags of feature vectors stored as CSV (the Musk, Fox, Tiger and
// Elephant MIL benchmarks). No LibTorch here.
//
// Format: plain CSV without quoting. The first line is a header
// `bag_id,label,f1,...,fD` (the first two names exactly `bag_id` and `label`,
// feature names free), then one line per instance. The rows of a bag are
// contiguous and carry the bag label (0 or 1, or empty when unknown) on every
// row. Bags to score with `abmil predict` may come without labels: empty
// label cells, or a header `bag_id,f1,...,fD` without the label column.
// LF or CRLF line endings; empty lines are allowed only at the end of the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "abmil/data/errors.h"

namespace abmil {

/// Instances of feature-vector bags read from a CSV file.
struct FeatureTable {
  std::vector<std::string> bag_ids;        ///< per bag, in file order (cell text, spaces trimmed)
  std::vector<int> bag_labels;             ///< per bag, 0 or 1, or -1 when unknown (empty cell, no label column)
  std::vector<int64_t> offsets;            ///< size num_bags()+1; bag b = rows [offsets[b], offsets[b+1])
  std::vector<float> features;             ///< row-major, num_rows() x dim
  std::vector<int64_t> line_numbers;       ///< per row: 1-based line number in the file
  std::vector<std::string> feature_names;  ///< size dim, header names of the feature columns
  int64_t dim = 0;                         ///< number of feature columns
  bool has_labels = true;                  ///< the header has the `label` column

  /// Column index of f1: 2, or 1 without a label column.
  size_t first_feature_column() const { return has_labels ? 2 : 1; }

  /// Number of bags (bag_ids.size()).
  int64_t num_bags() const { return static_cast<int64_t>(bag_ids.size()); }
  /// Number of instance rows (line_numbers.size()).
  int64_t num_rows() const { return static_cast<int64_t>(line_numbers.size()); }
};

/// Reads a feature-bag CSV file (format above) into a FeatureTable. Numbers
/// are parsed locale-independently (std::from_chars) as 32-bit floats;
/// spaces around a cell are ignored; a value too small for a float becomes 0.
/// Throws DataError, one line `PATH:LINE: message` (LINE 1-based, left out
/// when the message is about the whole file), on: a missing, unreadable file
/// or a directory; an empty file; a header not starting with bag_id or
/// with no feature column; no data rows; a row with the wrong number of cells;
/// an empty bag_id; a label other than 0, 1 or empty; an empty, non-numeric, non-finite
/// (nan, inf) or out-of-float-range feature value; a bag with mixed labels;
/// the rows of a bag not contiguous; an empty line before the last data row.
FeatureTable read_feature_csv(const std::string& path);

}  // namespace abmil
