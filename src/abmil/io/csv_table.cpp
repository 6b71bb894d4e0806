#include "abmil/io/csv_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string_view>

namespace abmil {

namespace {

// `text` without leading and trailing spaces, tabs, CR and LF.
std::string_view trimmed(std::string_view text) {
  const char* ws = " \t\r\n";
  const size_t b = text.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return text.substr(b, text.find_last_not_of(ws) - b + 1);
}

// Comma-separated cells of one line (no quoting), each trimmed.
std::vector<std::string> split_cells(std::string_view line) {
  std::vector<std::string> cells;
  for (size_t start = 0;;) {
    const size_t comma = line.find(',', start);
    cells.emplace_back(trimmed(line.substr(start, comma - start)));
    if (comma == std::string_view::npos) return cells;
    start = comma + 1;
  }
}

// Cells of one line where a cell may be double-quoted (see read_csv);
// returns the problem ("" when none).
std::string split_quoted_cells(std::string_view line, std::vector<std::string>& cells) {
  const auto skip_blanks = [&](size_t i) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    return i;
  };
  for (size_t i = 0;;) {
    i = skip_blanks(i);
    if (i < line.size() && line[i] == '"') {
      std::string cell;
      for (++i;; ++i) {
        if (i >= line.size()) return "quoted cell not closed on its line";
        if (line[i] != '"') {
          cell += line[i];
        } else if (i + 1 < line.size() && line[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          break;
        }
      }
      i = skip_blanks(i + 1);
      cells.push_back(std::move(cell));
      if (i == line.size()) return "";
      if (line[i] != ',') return "text after the closing quote of a cell";
      ++i;
      continue;
    }
    const size_t comma = line.find(',', i);
    cells.emplace_back(trimmed(line.substr(i, comma - i)));
    if (comma == std::string_view::npos) return "";
    i = comma + 1;
  }
}

}  // namespace

std::runtime_error CsvTable::error(size_t row, const std::string& what) const {
  return std::runtime_error(fmt::format("{}:{}: {}", path.string(), lines[row], what));
}

std::optional<size_t> CsvTable::find_column(const std::string& name) const {
  const auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end()) return std::nullopt;
  return static_cast<size_t>(it - header.begin());
}

size_t CsvTable::column(const std::string& name) const {
  if (auto c = find_column(name)) return *c;
  throw std::runtime_error(fmt::format("{}:1: no column '{}' in the header", path.string(), name));
}

double CsvTable::number(size_t row, size_t col) const {
  const std::string& cell = rows[row][col];
  if (cell.empty()) return std::numeric_limits<double>::quiet_NaN();
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(cell.c_str(), &end);
  if (end != cell.c_str() + cell.size() || (errno == ERANGE && std::isinf(v)))
    throw error(row, fmt::format("'{}' is not a number (column '{}')", cell, header[col]));
  return v;
}

int64_t CsvTable::integer(size_t row, size_t col) const {
  const std::string& cell = rows[row][col];
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(cell.c_str(), &end, 10);
  if (cell.empty() || end != cell.c_str() + cell.size() || errno == ERANGE)
    throw error(row, fmt::format("'{}' is not an integer (column '{}')", cell, header[col]));
  return static_cast<int64_t>(v);
}

int CsvTable::label(size_t row, size_t col) const {
  const double v = number(row, col);
  if (std::isnan(v)) return -1;
  if (v != 0 && v != 1)
    throw error(row, fmt::format("'{}' is not a 0/1 label (column '{}')", rows[row][col], header[col]));
  return static_cast<int>(v);
}

int CsvTable::class_label(size_t row, size_t col) const {
  const double v = number(row, col);
  if (std::isnan(v)) return -1;
  if (v < 0 || v != std::floor(v) || v > 1e6)
    throw error(row, fmt::format("'{}' is not a class index (column '{}')", rows[row][col], header[col]));
  return static_cast<int>(v);
}

CsvTable read_csv(const std::filesystem::path& path, bool quoted) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  CsvTable table;
  table.path = path;
  bool have_header = false;
  std::string line;
  for (size_t line_no = 1; std::getline(in, line); ++line_no) {
    if (trimmed(line).empty()) continue;
    std::vector<std::string> cells;
    if (!quoted) {
      cells = split_cells(line);
    } else if (const std::string problem = split_quoted_cells(line, cells); !problem.empty()) {
      throw std::runtime_error(fmt::format("{}:{}: {}", path.string(), line_no, problem));
    }
    if (!have_header) {
      table.header = std::move(cells);
      have_header = true;
      continue;
    }
    if (cells.size() != table.header.size())
      throw std::runtime_error(
          fmt::format("{}:{}: expected {} cells, found {}", path.string(), line_no, table.header.size(), cells.size()));
    table.rows.push_back(std::move(cells));
    table.lines.push_back(line_no);
  }
  if (in.bad()) throw std::runtime_error(path.string() + ": read error");
  if (!have_header) throw std::runtime_error(path.string() + ":1: empty file, no header");
  return table;
}

}  // namespace abmil
