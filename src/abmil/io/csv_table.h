// Reading the CSV files of a run directory (metrics.csv, predictions/*.csv,
// attention/*.csv; see run_dir.h). abmil writes them without quoting, so a
// cell is just the text between commas, trimmed of spaces and tabs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace abmil {

/// A CSV file read whole: its header cells, its data rows (each with the
/// header's cell count) and the 1-based file line of each row. Cell accessors
/// take a row index < rows.size() and a column index < header.size().
struct CsvTable {
  std::filesystem::path path;                  ///< the file read
  std::vector<std::string> header;             ///< column names, trimmed
  std::vector<std::vector<std::string>> rows;  ///< data rows, cells trimmed
  std::vector<size_t> lines;                   ///< 1-based file line of each row

  /// A std::runtime_error "PATH:LINE: what" for data row `row` (to be thrown by the caller).
  std::runtime_error error(size_t row, const std::string& what) const;

  /// Index of the column named `name`, or nullopt when the header lacks it.
  std::optional<size_t> find_column(const std::string& name) const;

  /// Index of the column named `name`; throws std::runtime_error
  /// "PATH:1: no column 'NAME' in the header" when the header lacks it.
  size_t column(const std::string& name) const;

  /// Cell (row, col) as a double (strtod syntax); NaN for an empty cell. Throws
  /// std::runtime_error "PATH:LINE: 'CELL' is not a number (column 'NAME')" otherwise.
  double number(size_t row, size_t col) const;

  /// Cell (row, col) as a base-10 integer. Throws std::runtime_error
  /// "PATH:LINE: 'CELL' is not an integer (column 'NAME')" for anything else, an empty cell included.
  int64_t integer(size_t row, size_t col) const;

  /// Cell (row, col) as a 0/1 label; -1 for an empty cell. Throws std::runtime_error
  /// naming file, line and column for any other value (see number()).
  int label(size_t row, size_t col) const;

  /// Cell (row, col) as a bag's class index (0/1 for binary runs, 0..C-1 for
  /// C-class runs); -1 for an empty cell. Throws std::runtime_error
  /// "PATH:LINE: 'CELL' is not a class index (column 'NAME')" for anything else.
  int class_label(size_t row, size_t col) const;
};

/// Reads the CSV file `path`: "\n" or "\r\n" line ends, no quoting; the first
/// non-blank line is the header; blank lines are skipped; every cell is trimmed.
/// With `quoted` (text_bags' document lists; off for every other caller), a
/// cell may also be "double-quoted" on one line: inside the quotes a comma is
/// text and "" stands for one ", the text is kept as it is (not trimmed), and
/// only spaces or tabs may stand between the quotes and the commas; a '"'
/// inside an unquoted cell is an ordinary character.
/// Throws std::runtime_error "PATH: cannot open" / "PATH: read error",
/// "PATH:1: empty file, no header" when it has no non-blank line, and
/// "PATH:LINE: expected N cells, found M" for a row unlike the header; with
/// `quoted`, "PATH:LINE: quoted cell not closed on its line" and
/// "PATH:LINE: text after the closing quote of a cell".
CsvTable read_csv(const std::filesystem::path& path, bool quoted = false);

}  // namespace abmil
