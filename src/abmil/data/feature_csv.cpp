#include "abmil/data/feature_csv.h"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <system_error>
#include <unordered_map>

namespace abmil {
namespace {

using std::string_view;

constexpr size_t kMaxQuoted = 40;  // longest cell text echoed in a message

[[noreturn]] void fail(const std::string& path, const std::string& msg) { throw DataError(path + ": " + msg); }

[[noreturn]] void fail_at(const std::string& path, int64_t line, const std::string& msg) {
  throw DataError(path + ":" + std::to_string(line) + ": " + msg);
}

// Cell text for a message: control characters escaped (so the message stays
// one line), cut to kMaxQuoted characters.
std::string printable(string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMaxQuoted; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMaxQuoted) out += "...";
  return out;
}

std::string quote_cell(string_view s) { return "'" + printable(s) + "'"; }

string_view trim(string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits `line` at every comma (no quoting) into `cells`.
void split(string_view line, std::vector<string_view>& cells) {
  cells.clear();
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    if (comma == string_view::npos) {
      cells.push_back(line.substr(start));
      return;
    }
    cells.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

enum class Parse { kOk, kNotNumber, kNotFinite, kTooLarge };

// Parses a whole trimmed cell as a float, locale-independently. A leading '+'
// is accepted; a value below the float range becomes a (signed) zero.
Parse parse_float(string_view s, float& out) {
  if (s.size() >= 2 && s[0] == '+' && s[1] != '+' && s[1] != '-') s.remove_prefix(1);
  const char* first = s.data();
  const char* last = s.data() + s.size();
  float f = 0;
  const auto r = std::from_chars(first, last, f);
  if (r.ptr != last || s.empty()) return Parse::kNotNumber;
  if (r.ec == std::errc()) {
    if (!std::isfinite(f)) return Parse::kNotFinite;
    out = f;
    return Parse::kOk;
  }
  if (r.ec != std::errc::result_out_of_range) return Parse::kNotNumber;
  // Out of the float range: too large, or too small (underflow to zero)?
  double d = 0;
  const auto rd = std::from_chars(first, last, d);
  bool tiny;
  if (rd.ec == std::errc()) {
    tiny = std::fabs(d) < 1.0;
  } else {  // out of the double range too: a negative exponent or 0.000... means tiny
    const string_view digits = (s[0] == '-') ? s.substr(1) : s;
    tiny = s.find("e-") != string_view::npos || s.find("E-") != string_view::npos || digits.substr(0, 2) == "0." ||
           digits.substr(0, 1) == ".";
  }
  if (!tiny) return Parse::kTooLarge;
  out = s[0] == '-' ? -0.0f : 0.0f;
  return Parse::kOk;
}

// The label cell as 0 or 1 (any number equal to 0 or 1, e.g. "1" or "1.0"); -1 otherwise.
int parse_label(string_view s) {
  float v = 0;
  if (parse_float(s, v) != Parse::kOk) return -1;
  if (v == 0.0f) return 0;
  if (v == 1.0f) return 1;
  return -1;
}

// A bag label for messages: "0", "1" or "(none)".
std::string label_text(int label) { return label < 0 ? "(none)" : std::to_string(label); }

// The whole file as bytes. Throws DataError when it cannot be opened or read.
std::string read_all(const std::string& path) {
  const auto cannot_open = [&](int err) {
    fail(path, std::string("cannot open feature CSV (data.path): ") + std::strerror(err));
  };
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) cannot_open(errno);
  if (S_ISDIR(st.st_mode)) cannot_open(EISDIR);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) cannot_open(errno);
  std::string data;
  if (st.st_size > 0) data.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, got);
  const bool error = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (error) fail(path, std::string("read error: ") + std::strerror(err));
  return data;
}

// Iterates over the lines of a buffer: LF or CRLF endings, 1-based numbers.
class Lines {
 public:
  explicit Lines(string_view data) : data_(data) {}
  /// Sets `line` (without its ending) and `number`; false after the last line.
  /// A final line ending does not start another (empty) line.
  bool next(string_view& line, int64_t& number) {
    if (pos_ >= data_.size()) return false;
    size_t end = data_.find('\n', pos_);
    if (end == string_view::npos) end = data_.size();
    line = data_.substr(pos_, end - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ = end + 1;
    number = ++number_;
    return true;
  }

 private:
  string_view data_;
  size_t pos_ = 0;
  int64_t number_ = 0;
};

// Reads the header line into `t` (dim, feature_names, has_labels) and returns
// the feature columns' names for messages. Throws DataError naming the line.
std::vector<std::string> read_header(Lines& lines, const std::string& path, FeatureTable& t) {
  string_view line;
  int64_t number = 0;
  std::vector<string_view> cells;
  lines.next(line, number);
  split(line, cells);
  for (auto& c : cells) c = trim(c);
  if (cells[0] != "bag_id") {
    std::string got(cells[0]);
    if (cells.size() >= 2) got += "," + std::string(cells[1]);
    fail_at(path, number, "header must start with bag_id,label (got " + quote_cell(got) + ")");
  }
  t.has_labels = cells.size() >= 2 && cells[1] == "label";
  const size_t first = t.first_feature_column();
  if (cells.size() == first) fail_at(path, number, "header has no feature column (expected bag_id,label,f1,...)");
  t.dim = static_cast<int64_t>(cells.size() - first);
  std::vector<std::string> column_names;
  for (size_t c = first; c < cells.size(); ++c) {
    t.feature_names.emplace_back(cells[c]);
    column_names.push_back(cells[c].empty() ? "#" + std::to_string(c + 1) : printable(cells[c]));
  }
  return column_names;
}

// Appends the feature cells (cells[first_feature_column()...]) of line
// `number` to t.features. Throws DataError naming line and column for a cell
// that is not a finite float32.
void append_features(const std::vector<string_view>& cells, const std::vector<std::string>& column_names,
                     const std::string& path, int64_t number, FeatureTable& t) {
  const size_t first = t.first_feature_column();
  for (size_t c = first; c < cells.size(); ++c) {
    float v = 0;
    switch (parse_float(cells[c], v)) {
      case Parse::kOk:
        break;
      case Parse::kNotNumber:
        fail_at(path, number, "column " + column_names[c - first] + ": " + quote_cell(cells[c]) + " is not a number");
      case Parse::kNotFinite:
        fail_at(path, number,
                "column " + column_names[c - first] + ": " + quote_cell(cells[c]) + " is not a finite number");
      case Parse::kTooLarge:
        fail_at(path, number,
                "column " + column_names[c - first] + ": " + quote_cell(cells[c]) +
                    " is outside the range of a 32-bit float");
    }
    t.features.push_back(v);
  }
}

}  // namespace

FeatureTable read_feature_csv(const std::string& path) {
  const std::string bytes = read_all(path);
  string_view data(bytes);
  if (data.substr(0, 3) == "\xEF\xBB\xBF") data.remove_prefix(3);  // UTF-8 byte-order mark
  if (data.find_first_not_of(" \t\r\n") == string_view::npos)
    fail(path, "empty file, expected a header bag_id,label,f1,...");

  Lines lines(data);
  FeatureTable t;
  const std::vector<std::string> column_names = read_header(lines, path, t);
  const size_t ncols = static_cast<size_t>(t.dim) + t.first_feature_column();
  string_view line;
  int64_t number = 1;
  std::vector<string_view> cells;

  std::unordered_map<std::string, int64_t> seen;  // bag id -> index
  std::vector<int64_t> bag_first_line;
  int64_t first_empty = 0;  // first empty line after the header, 0: none so far
  std::string id;
  t.offsets.push_back(0);

  while (lines.next(line, number)) {
    if (trim(line).empty()) {
      if (first_empty == 0) first_empty = number;
      continue;
    }
    if (first_empty != 0) fail_at(path, first_empty, "empty line");

    split(line, cells);
    if (cells.size() != ncols)
      fail_at(path, number, std::to_string(cells.size()) + " cells, the header has " + std::to_string(ncols));
    for (auto& c : cells) c = trim(c);

    id.assign(cells[0]);
    if (id.empty()) fail_at(path, number, "empty bag_id");
    int label = -1;  // unknown: no label column, or an empty cell
    if (t.has_labels && !cells[1].empty()) {
      label = parse_label(cells[1]);
      if (label < 0) fail_at(path, number, "label must be 0 or 1 (got " + quote_cell(cells[1]) + ")");
    }

    const bool same_bag = !t.bag_ids.empty() && t.bag_ids.back() == id;
    if (!same_bag) {
      if (seen.count(id))
        fail_at(path, number,
                "bag " + quote_cell(id) + " appears again after other bags (rows of a bag must be together)");
      if (!t.bag_ids.empty()) t.offsets.push_back(t.num_rows());
      seen.emplace(id, t.num_bags());
      t.bag_ids.push_back(id);
      t.bag_labels.push_back(label);
      bag_first_line.push_back(number);
    } else if (t.bag_labels.back() != label) {
      fail_at(path, number,
              "bag " + quote_cell(id) + " has label " + label_text(label) + " here but " +
                  label_text(t.bag_labels.back()) + " on line " + std::to_string(bag_first_line.back()));
    }

    append_features(cells, column_names, path, number, t);
    t.line_numbers.push_back(number);
  }

  if (t.line_numbers.empty()) fail(path, "no data rows");
  t.offsets.push_back(t.num_rows());
  return t;
}

}  // namespace abmil
