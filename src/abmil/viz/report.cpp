#include "abmil/viz/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

#include "abmil/io/csv_table.h"

namespace abmil {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kTrainColor = "#2563eb";
constexpr const char* kValidationColor = "#ea580c";
constexpr const char* kPositiveColor = "#dc2626";
constexpr const char* kNegativeColor = "#64748b";

// ---------------------------------------------------------------------------------------------
// Text and files

// `text` without leading and trailing spaces, tabs, CR and LF.
std::string trim(std::string_view text) {
  const char* ws = " \t\r\n";
  const auto b = text.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  const auto e = text.find_last_not_of(ws);
  return std::string(text.substr(b, e - b + 1));
}

// The whole file `path` as bytes; throws naming the file when it cannot be read.
std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) throw std::runtime_error(path.string() + ": read error");
  return out.str();
}

// Lines of `text`, "\n" or "\r\n" terminated (the last one may lack its terminator).
std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

// Number with 4 decimals, or "n/a" for NaN.
std::string format_number(double v) {
  if (std::isnan(v)) return "n/a";
  return fmt::format("{:.4f}", v);
}

// ---------------------------------------------------------------------------------------------
// Run directory contents

// One row of metrics.csv (only what the charts need; every numeric cell is validated).
struct EpochRow {
  double epoch = 0;
  std::string split;
  double loss = kNaN, auc = kNaN;
};

// Rows of metrics.csv; throws naming file and line for a malformed row.
std::vector<EpochRow> read_metrics_csv(const fs::path& path) {
  const CsvTable t = read_csv(path);
  const size_t epoch = t.column("epoch"), split = t.column("split"), loss = t.column("loss"),
               auc = t.column("auc");
  std::vector<EpochRow> rows;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    for (size_t c = 0; c < t.header.size(); ++c)
      if (c != split) t.number(r, c);  // validates every numeric cell
    EpochRow row;
    row.epoch = t.number(r, epoch);
    if (std::isnan(row.epoch)) throw t.error(r, "empty epoch");
    row.split = t.rows[r][split];
    row.loss = t.number(r, loss);
    row.auc = t.number(r, auc);
    rows.push_back(std::move(row));
  }
  return rows;
}

// Label and predicted probability of one test bag.
struct BagScore {
  int label = 0;
  double probability = 0;
};

// Attention weights of test instances, split by instance label.
struct InstanceWeights {
  std::vector<double> positive, negative;
};

// Per-bag scores from predictions/test.csv (one row per bag).
std::vector<BagScore> read_predictions(const fs::path& path) {
  const CsvTable t = read_csv(path);
  const size_t label = t.column("bag_label"), prob = t.column("bag_probability");
  std::vector<BagScore> bags;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const int y = t.label(r, label);
    if (y < 0) throw t.error(r, "empty bag_label");
    bags.push_back({y, t.number(r, prob)});
  }
  return bags;
}

// Per-bag scores from attention/test.csv: the bag columns of each bag's first instance row,
// in order of first appearance.
std::vector<BagScore> bags_from_attention(const CsvTable& t) {
  const size_t id = t.column("bag_id"), label = t.column("bag_label"),
               prob = t.column("bag_probability");
  std::vector<BagScore> bags;
  std::map<std::string, size_t> seen;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    if (!seen.emplace(t.rows[r][id], bags.size()).second) continue;
    const int y = t.label(r, label);
    if (y < 0) throw t.error(r, "empty bag_label");
    bags.push_back({y, t.number(r, prob)});
  }
  return bags;
}

// Attention weights by instance label from attention/test.csv; rows without a weight or a
// label are skipped.
InstanceWeights weights_from_attention(const CsvTable& t) {
  InstanceWeights w;
  const auto weight = t.find_column("attention_weight"), label = t.find_column("instance_label");
  if (!weight || !label) return w;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const double a = t.number(r, *weight);
    const int y = t.label(r, *label);
    if (std::isnan(a) || y < 0) continue;
    (y == 1 ? w.positive : w.negative).push_back(a);
  }
  return w;
}

// Value of `key` directly under the top-level `section` of a YAML text, by a simple line scan
// (quotes and trailing comments removed); nullopt if not found.
std::optional<std::string> yaml_value(const std::string& yaml, const std::string& section,
                                      const std::string& key) {
  bool inside = false;
  size_t child_indent = std::string::npos;
  for (const std::string& line : split_lines(yaml)) {
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const size_t indent = line.find_first_not_of(" \t");
    if (indent == 0) {
      inside = t.rfind(section + ":", 0) == 0 && trim(t.substr(section.size() + 1)).empty();
      child_indent = std::string::npos;
      continue;
    }
    if (!inside) continue;
    if (child_indent == std::string::npos) child_indent = indent;
    if (indent != child_indent || t.rfind(key + ":", 0) != 0) continue;
    std::string v = t.substr(key.size() + 1);
    if (const size_t hash = v.find(" #"); hash != std::string::npos) v = v.substr(0, hash);
    v = trim(v);
    if (v.size() >= 2 && (v[0] == '"' || v[0] == '\'') && v.back() == v[0])
      v = v.substr(1, v.size() - 2);
    return v;
  }
  return std::nullopt;
}

// metrics.json parsed; throws naming the file (nlohmann's message gives line and column).
json read_metrics_json(const fs::path& path) {
  json j;
  try {
    j = json::parse(read_file(path));
  } catch (const json::exception& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
  if (!j.is_object()) throw std::runtime_error(path.string() + ": expected a JSON object");
  return j;
}

// Member `key` of `obj` if it is an object; nullptr if absent or null; throws if another type.
const json* object_member(const json& obj, const char* key, const fs::path& file) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  if (!it->is_object())
    throw std::runtime_error(file.string() + ": '" + key + "' is not an object");
  return &*it;
}

// Member `key` of `obj` as a number; nullopt if absent or null; throws if another type.
std::optional<double> number_member(const json* obj, const char* key, const fs::path& file) {
  if (obj == nullptr) return std::nullopt;
  const auto it = obj->find(key);
  if (it == obj->end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) throw std::runtime_error(file.string() + ": '" + key + "' is not a number");
  return it->get<double>();
}

// A JSON scalar for display: integers as is, other numbers with 4 decimals, null as n/a.
std::string format_json(const json& v) {
  if (v.is_null()) return "n/a";
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number()) return format_number(v.get<double>());
  if (v.is_string()) return html_escape(v.get<std::string>());
  return html_escape(v.dump());
}

// ---------------------------------------------------------------------------------------------
// ROC

// A point of the ROC curve.
struct RocPoint {
  double fpr = 0, tpr = 0;
};

// ROC curve of `bags` (bags with NaN probability ignored): from (0,0), one point per group of
// equal scores in decreasing order, to (1,1). Empty when a class is missing.
std::vector<RocPoint> roc_curve(std::vector<BagScore> bags) {
  bags.erase(std::remove_if(bags.begin(), bags.end(),
                            [](const BagScore& b) { return std::isnan(b.probability); }),
             bags.end());
  const auto pos =
      std::count_if(bags.begin(), bags.end(), [](const BagScore& b) { return b.label == 1; });
  const auto neg = static_cast<std::ptrdiff_t>(bags.size()) - pos;
  if (pos == 0 || neg == 0) return {};
  std::sort(bags.begin(), bags.end(),
            [](const BagScore& a, const BagScore& b) { return a.probability > b.probability; });
  std::vector<RocPoint> points{{0, 0}};
  double tp = 0, fp = 0;
  for (size_t i = 0; i < bags.size();) {
    const double score = bags[i].probability;
    for (; i < bags.size() && bags[i].probability == score; ++i)
      (bags[i].label == 1 ? tp : fp) += 1;
    points.push_back({fp / static_cast<double>(neg), tp / static_cast<double>(pos)});
  }
  return points;
}

// Trapezoidal area under `points` (equals the Mann-Whitney AUC with ties counted one half).
double roc_area(const std::vector<RocPoint>& points) {
  double area = 0;
  for (size_t i = 1; i < points.size(); ++i)
    area += (points[i].fpr - points[i - 1].fpr) * (points[i].tpr + points[i - 1].tpr) / 2;
  return area;
}

// ---------------------------------------------------------------------------------------------
// SVG charts

// A linear axis: range and tick positions, tick labels with `decimals` decimals.
struct Axis {
  double lo = 0, hi = 1;
  std::vector<double> ticks;
  int decimals = 1;
};

// About five "nice" ticks (steps 1, 2, 5 x 10^k, at least `min_step`) covering [lo, hi].
Axis nice_axis(double lo, double hi, double min_step = 0) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (!(hi > lo)) lo -= 0.5, hi += 0.5;
  const double raw = (hi - lo) / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = std::max(min_step, (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag);
  Axis a;
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  a.lo = first * step;
  a.hi = last * step;
  for (double k = first; k <= last + 1e-9; k += 1) a.ticks.push_back(k * step);
  a.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  return a;
}

// Axis [0, 1] with ticks every 0.2.
Axis unit_axis() { return nice_axis(0, 1); }

// Smallest and largest finite value of `values` (NaN, NaN when there is none).
std::pair<double, double> finite_range(const std::vector<double>& values) {
  double lo = kNaN, hi = kNaN;
  for (double v : values)
    if (std::isfinite(v)) {
      lo = std::isnan(lo) ? v : std::min(lo, v);
      hi = std::isnan(hi) ? v : std::max(hi, v);
    }
  return {lo, hi};
}

// The drawing area of one chart: its size, margins and axes; maps data to pixels.
struct Plot {
  double width = 470, height = 320;
  double left = 60, right = 16, top = 56, bottom = 48;
  Axis x, y;

  double px(double v) const { return left + (v - x.lo) / (x.hi - x.lo) * (width - left - right); }
  double py(double v) const {
    return height - bottom - (v - y.lo) / (y.hi - y.lo) * (height - top - bottom);
  }
};

// Opening <svg> of `plot` with title, grid, tick labels and axis labels (caller closes it).
std::string svg_open(const Plot& p, const std::string& title, const std::string& x_label,
                     const std::string& y_label) {
  std::string s = fmt::format(
      "<svg class=\"chart\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" role=\"img\" "
      "aria-label=\"{2}\">\n<text x=\"{3}\" y=\"20\" class=\"title\">{2}</text>\n",
      p.width, p.height, html_escape(title), p.left);
  const double x0 = p.px(p.x.lo), x1 = p.px(p.x.hi), y0 = p.py(p.y.lo), y1 = p.py(p.y.hi);
  for (double t : p.y.ticks)
    s += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" class=\"grid\"/>"
        "<text x=\"{3:.1f}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:.{6}f}</text>\n",
        x0, p.py(t), x1, x0 - 6, p.py(t) + 4, t, p.y.decimals);
  for (double t : p.x.ticks)
    s += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" class=\"tick\"/>"
        "<text x=\"{0:.1f}\" y=\"{3:.1f}\" text-anchor=\"middle\">{4:.{5}f}</text>\n",
        p.px(t), y0, y0 + 5, y0 + 18, t, p.x.decimals);
  s += fmt::format(
      "<rect x=\"{0:.1f}\" y=\"{1:.1f}\" width=\"{2:.1f}\" height=\"{3:.1f}\" class=\"frame\"/>\n"
      "<text x=\"{4:.1f}\" y=\"{5:.1f}\" text-anchor=\"middle\" class=\"label\">{6}</text>\n"
      "<text transform=\"translate(16 {7:.1f}) rotate(-90)\" text-anchor=\"middle\" "
      "class=\"label\">{8}</text>\n",
      x0, y1, x1 - x0, y0 - y1, (x0 + x1) / 2, p.height - 8, html_escape(x_label), (y0 + y1) / 2,
      html_escape(y_label));
  return s;
}

// Polylines through `points` in `color` (broken at non-finite values), with dot markers.
std::string svg_line(const Plot& p, const std::vector<std::pair<double, double>>& points,
                     const std::string& color, bool markers) {
  std::string s, run;
  const auto flush = [&] {
    if (!run.empty())
      s += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n",
                       run, color);
    run.clear();
  };
  for (const auto& [x, y] : points) {
    if (!std::isfinite(x) || !std::isfinite(y)) {
      flush();
      continue;
    }
    run += fmt::format("{}{:.1f},{:.1f}", run.empty() ? "" : " ", p.px(x), p.py(y));
    if (markers)
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.2\" fill=\"{}\"/>\n", p.px(x),
                       p.py(y), color);
  }
  flush();
  return s;
}

// One legend entry: label and line color, dashed for reference lines.
struct LegendEntry {
  std::string label, color;
  bool dashed = false;
};

// Legend as one row between the title and the plot area (never over the data): a line swatch
// and a label per entry.
std::string svg_legend(const Plot& p, const std::vector<LegendEntry>& entries) {
  std::string s;
  double x = p.left;
  for (const LegendEntry& e : entries) {
    s += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"{3}\" "
        "stroke-width=\"{4}\"{5}/><text x=\"{6:.1f}\" y=\"{7:.1f}\">{8}</text>\n",
        x, p.top - 14, x + 18, e.color, e.dashed ? 1.5 : 3,
        e.dashed ? " stroke-dasharray=\"3 3\"" : "", x + 24, p.top - 10, html_escape(e.label));
    x += 24 + 6.6 * static_cast<double>(e.label.size()) + 20;
  }
  return s;
}

// Line chart of `value(row)` per epoch, one polyline per split train/validation, a dashed
// marker at `best_epoch` (if known). `unit_range` fixes the y axis to [0, 1].
template <typename Value>
std::string epoch_chart(const std::vector<EpochRow>& rows, const std::string& title,
                        const std::string& y_label, Value value, bool unit_range,
                        std::optional<double> best_epoch) {
  std::vector<double> epochs, values;
  for (const EpochRow& r : rows)
    if (r.split == "train" || r.split == "validation") {
      epochs.push_back(r.epoch);
      values.push_back(value(r));
    }
  Plot p;
  const auto [e_lo, e_hi] = finite_range(epochs);
  p.x = nice_axis(e_lo, e_hi, 1);
  const auto [v_lo, v_hi] = finite_range(values);
  p.y = unit_range ? unit_axis() : nice_axis(std::min(0.0, v_lo), v_hi);
  std::string s = svg_open(p, title, "epoch", y_label);
  if (best_epoch && *best_epoch >= p.x.lo && *best_epoch <= p.x.hi)
    s += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" class=\"best\"/>\n",
        p.px(*best_epoch), p.py(p.y.lo), p.py(p.y.hi));
  std::vector<LegendEntry> legend;
  for (const auto& [split, color] :
       {std::pair<std::string, std::string>{"train", kTrainColor},
        std::pair<std::string, std::string>{"validation", kValidationColor}}) {
    std::vector<std::pair<double, double>> points;
    for (const EpochRow& r : rows)
      if (r.split == split) points.emplace_back(r.epoch, value(r));
    if (points.empty()) continue;
    std::sort(points.begin(), points.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    s += svg_line(p, points, color, points.size() <= 60);
    legend.push_back({split, color});
  }
  if (best_epoch && *best_epoch >= p.x.lo && *best_epoch <= p.x.hi)
    legend.push_back({fmt::format("best epoch {}", *best_epoch), "#9aa4b2", true});
  return s + svg_legend(p, legend) + "</svg>\n";
}

// Square ROC chart of `points` with the chance diagonal; `auc` goes into the title.
std::string roc_chart(const std::vector<RocPoint>& points, double auc, size_t bags) {
  Plot p;
  p.width = 380;
  p.height = 380;
  p.top = 34;
  p.x = unit_axis();
  p.y = unit_axis();
  std::string s = svg_open(p, fmt::format("ROC of {} test bags (AUC {})", bags, format_number(auc)),
                           "false positive rate", "true positive rate");
  s += fmt::format(
      "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" class=\"diagonal\"/>\n",
      p.px(0), p.py(0), p.px(1), p.py(1));
  std::vector<std::pair<double, double>> xy;
  for (const RocPoint& r : points) xy.emplace_back(r.fpr, r.tpr);
  s += svg_line(p, xy, kTrainColor, false);
  return s + "</svg>\n";
}

// Fraction of `values` in each of `bins` equal bins over [0, hi] (the last bin is closed).
std::vector<double> histogram(const std::vector<double>& values, size_t bins, double hi) {
  std::vector<double> counts(bins, 0.0);
  for (double v : values) {
    const double pos = hi > 0 ? v / hi * static_cast<double>(bins) : 0.0;
    const size_t b = std::min(bins - 1, static_cast<size_t>(std::max(0.0, pos)));
    counts[b] += 1;
  }
  for (double& c : counts) c /= std::max<double>(1, static_cast<double>(values.size()));
  return counts;
}

// Histogram chart of the attention weights of label-1 against label-0 instances, bars side by
// side per bin, each class normalized to fractions of its own instances.
std::string weight_histogram(const InstanceWeights& w) {
  constexpr size_t kBins = 20;
  std::vector<double> all = w.positive;
  all.insert(all.end(), w.negative.begin(), w.negative.end());
  Plot p;
  p.width = 620;
  p.x = nice_axis(0, finite_range(all).second);
  const double bin_width = (p.x.hi - p.x.lo) / kBins;
  const std::vector<double> pos = histogram(w.positive, kBins, p.x.hi);
  const std::vector<double> neg = histogram(w.negative, kBins, p.x.hi);
  p.y = nice_axis(0, std::max(*std::max_element(pos.begin(), pos.end()),
                              *std::max_element(neg.begin(), neg.end())));
  std::string s = svg_open(p, "Attention weights of test instances by instance label",
                           "attention weight", "fraction of instances");
  for (size_t b = 0; b < kBins; ++b) {
    const double x0 = p.px(bin_width * static_cast<double>(b));
    const double half = (p.px(bin_width * static_cast<double>(b + 1)) - x0) / 2;
    for (const auto& [frac, offset, color] :
         {std::tuple<double, double, const char*>{pos[b], 0.0, kPositiveColor},
          std::tuple<double, double, const char*>{neg[b], half, kNegativeColor}}) {
      if (frac <= 0) continue;
      s += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/>\n",
          x0 + offset + 0.5, p.py(frac), std::max(0.5, half - 1), p.py(0) - p.py(frac), color);
    }
  }
  s += svg_legend(p, {{fmt::format("label 1 ({} instances)", w.positive.size()), kPositiveColor},
                      {fmt::format("label 0 ({} instances)", w.negative.size()), kNegativeColor}});
  return s + "</svg>\n";
}

// ---------------------------------------------------------------------------------------------
// Page sections

constexpr const char* kStyle = R"css(
:root{--fg:#1e2430;--muted:#5f6b7a;--line:#dde2ea;--bg:#f5f6f8;--card:#fff;--accent:#2563eb}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1040px;margin:0 auto;padding:28px 20px 48px}
h1{font-size:1.6rem;margin:0 0 2px}
.sub{color:var(--muted);margin:0 0 14px;word-break:break-all}
nav{display:flex;flex-wrap:wrap;gap:4px 16px;margin:0 0 20px}
nav a{color:var(--accent);text-decoration:none}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 22px 18px;margin:0 0 18px}
h2{font-size:1.15rem;margin:0 0 12px}
p{margin:0 0 10px}
.note{color:var(--muted)}
dl.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:10px;margin:0}
dl.cards div{border:1px solid var(--line);border-radius:6px;padding:8px 12px}
dl.cards dt{color:var(--muted);font-size:.8rem}
dl.cards dd{margin:0;font-size:1.15rem;font-weight:600;font-variant-numeric:tabular-nums;word-break:break-word}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid var(--line);padding:5px 18px 5px 0;text-align:left}
th{font-weight:600}
td.num{text-align:right;padding-right:4px}
table.confusion td,table.confusion th{border:1px solid var(--line);padding:8px 16px;text-align:center}
table.confusion td.ok{background:#ecfdf3}
table.confusion td.bad{background:#fef2f2}
.charts{display:flex;flex-wrap:wrap;gap:18px;margin:12px 0 8px}
svg.chart{max-width:100%;height:auto}
svg text{font-family:inherit;font-size:12px;fill:var(--fg)}
svg text.title{font-size:13px;font-weight:600}
svg text.label{fill:var(--muted)}
svg text.note{fill:var(--muted);font-size:11px}
svg .grid{stroke:#eceff4}
svg .tick{stroke:#9aa4b2}
svg .frame{fill:none;stroke:#9aa4b2}
svg .diagonal{stroke:#9aa4b2;stroke-dasharray:5 4}
svg .best{stroke:#9aa4b2;stroke-dasharray:3 3}
figure{margin:0 0 18px}
figure img{max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px}
figcaption{color:var(--muted);font-size:.85rem}
pre{background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:12px 14px;overflow:auto;margin:0;font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
)css";

// Display names of known test metrics, in display order.
const std::vector<std::pair<std::string, std::string>>& metric_names() {
  static const std::vector<std::pair<std::string, std::string>> names{
      {"loss", "Loss (mean negative log-likelihood)"},
      {"accuracy", "Accuracy"},
      {"error", "Error"},
      {"precision", "Precision"},
      {"recall", "Recall"},
      {"f1", "F1"},
      {"auc", "ROC AUC"},
      {"instance_auc", "Instance AUC (attention weights)"},
      {"instance_precision_at_k", "Instance precision@k"},
      {"instance_recall_at_k", "Instance recall@k"},
      {"k", "k"},
      {"bags", "Test bags"},
      {"seconds", "Evaluation seconds"}};
  return names;
}

// `<section id=ID><h2>HEADING</h2>BODY</section>`.
std::string section(const char* id, const char* heading, const std::string& body) {
  return fmt::format("<section id=\"{}\">\n<h2>{}</h2>\n{}</section>\n", id, heading, body);
}

// One summary card: label over an (already escaped) value.
std::string card(const std::string& label, const std::string& value) {
  return fmt::format("<div><dt>{}</dt><dd>{}</dd></div>\n", html_escape(label), value);
}

// Name of the run folder (the last non-empty component of `run_dir`).
std::string folder_name(const fs::path& run_dir) {
  fs::path p = run_dir.lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().empty() ? run_dir.string() : p.filename().string();
}

// All inputs of a report, read and validated.
struct RunData {
  fs::path dir;
  std::string name;
  std::optional<std::string> config;
  std::optional<std::string> threshold;
  json metrics;
  const json* test = nullptr;
  const json* training = nullptr;
  std::optional<std::vector<EpochRow>> epochs;
  std::optional<std::vector<BagScore>> bags;
  std::string bags_source;
  std::optional<InstanceWeights> weights;
  std::vector<fs::path> pictures;
};

// Reads every input of `dir`; throws as render_report documents.
RunData read_run(const fs::path& dir) {
  RunData d;
  d.dir = dir;
  const fs::path metrics_json = dir / "metrics.json";
  if (!fs::is_regular_file(metrics_json))
    throw std::runtime_error(dir.string() + ": not a finished run (no metrics.json)");
  d.metrics = read_metrics_json(metrics_json);
  d.test = object_member(d.metrics, "test", metrics_json);
  d.training = object_member(d.metrics, "training", metrics_json);

  d.name = folder_name(dir);
  if (fs::is_regular_file(dir / "config.yaml")) {
    d.config = read_file(dir / "config.yaml");
    if (auto n = yaml_value(*d.config, "experiment", "name"); n && !n->empty()) d.name = *n;
    d.threshold = yaml_value(*d.config, "eval", "threshold");
  }
  if (fs::is_regular_file(dir / "metrics.csv")) d.epochs = read_metrics_csv(dir / "metrics.csv");

  std::optional<CsvTable> attention;
  if (fs::is_regular_file(dir / "attention" / "test.csv")) {
    attention = read_csv(dir / "attention" / "test.csv");
    d.weights = weights_from_attention(*attention);
  }
  if (fs::is_regular_file(dir / "predictions" / "test.csv")) {
    d.bags = read_predictions(dir / "predictions" / "test.csv");
    d.bags_source = "predictions/test.csv";
  } else if (attention) {
    d.bags = bags_from_attention(*attention);
    d.bags_source = "attention/test.csv";
  }

  const fs::path pictures = dir / "visualize";
  if (fs::is_directory(pictures))
    for (const auto& entry : fs::directory_iterator(pictures))
      if (entry.is_regular_file() && entry.path().extension() == ".png")
        d.pictures.push_back(entry.path());
  std::sort(d.pictures.begin(), d.pictures.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  return d;
}

// Summary: run name, best epoch, epochs run, times, headline test figures.
std::string summary_section(const RunData& d) {
  const fs::path mj = d.dir / "metrics.json";
  std::string cards = card("Run", html_escape(d.name));
  if (auto v = number_member(d.training, "best_epoch", mj))
    cards += card("Best epoch", fmt::format("{}", *v));
  if (auto v = number_member(d.training, "epochs_run", mj)) {
    std::string run = fmt::format("{}", *v);
    if (d.training->contains("stopped_early") && (*d.training)["stopped_early"].is_boolean())
      run += (*d.training)["stopped_early"].get<bool>() ? " (stopped early)" : "";
    cards += card("Epochs run", run);
  }
  if (auto v = number_member(d.training, "seconds", mj))
    cards += card("Training seconds", format_number(*v));
  if (auto v = number_member(&d.metrics, "seconds_total", mj))
    cards += card("Total seconds", format_number(*v));
  if (auto v = number_member(d.training, "threads", mj))
    cards += card("Threads", fmt::format("{}", *v));
  if (d.test && d.test->contains("bags"))
    cards += card("Test bags", format_json((*d.test)["bags"]));
  if (d.test && d.test->contains("auc")) cards += card("Test AUC", format_json((*d.test)["auc"]));
  if (d.test && d.test->contains("accuracy"))
    cards += card("Test accuracy", format_json((*d.test)["accuracy"]));
  return section("summary", "Summary", "<dl class=\"cards\">\n" + cards + "</dl>\n");
}

// Table of every scalar in metrics.json's "test" object, known metrics first.
std::string metrics_section(const RunData& d) {
  if (d.test == nullptr || d.test->empty())
    return section("metrics", "Test metrics",
                   "<p class=\"note\">metrics.json has no test metrics.</p>\n");
  std::string rows;
  std::vector<std::string> shown;
  for (const auto& [key, label] : metric_names())
    if (d.test->contains(key)) {
      rows += fmt::format("<tr><th>{}</th><td class=\"num\">{}</td></tr>\n", html_escape(label),
                          format_json((*d.test)[key]));
      shown.push_back(key);
    }
  for (const auto& [key, value] : d.test->items())
    if (key != "confusion" && std::find(shown.begin(), shown.end(), key) == shown.end() &&
        !value.is_object() && !value.is_array())
      rows += fmt::format("<tr><th>{}</th><td class=\"num\">{}</td></tr>\n", html_escape(key),
                          format_json(value));
  return section("metrics", "Test metrics",
                 "<p class=\"note\">The test bags, scored with the weights of the best epoch.</p>\n"
                 "<table>\n" +
                     rows + "</table>\n");
}

// Loss and AUC per epoch, train and validation.
std::string curves_section(const RunData& d) {
  if (!d.epochs || d.epochs->empty())
    return section("curves", "Training curves",
                   "<p class=\"note\">No metrics.csv rows to plot.</p>\n");
  const auto best = number_member(d.training, "best_epoch", d.dir / "metrics.json");
  return section("curves", "Training curves",
                 "<div class=\"charts\">\n" +
                     epoch_chart(
                         *d.epochs, "Loss per epoch", "loss",
                         [](const EpochRow& r) { return r.loss; }, false, best) +
                     epoch_chart(
                         *d.epochs, "AUC per epoch", "ROC AUC",
                         [](const EpochRow& r) { return r.auc; }, true, best) +
                     "</div>\n");
}

// ROC curve of the test bags.
std::string roc_section(const RunData& d) {
  if (!d.bags)
    return section("roc", "ROC curve",
                   "<p class=\"note\">No per-bag test scores (neither predictions/test.csv nor "
                   "attention/test.csv).</p>\n");
  const std::vector<RocPoint> points = roc_curve(*d.bags);
  if (points.empty())
    return section("roc", "ROC curve",
                   "<p class=\"note\">The test bags hold only one class: no ROC curve.</p>\n");
  return section("roc", "ROC curve",
                 roc_chart(points, roc_area(points), d.bags->size()) +
                     fmt::format("<p class=\"note\">From the bag scores in {}; equal scores form "
                                 "one step.</p>\n",
                                 html_escape(d.bags_source)));
}

// 2x2 confusion table at the threshold: from metrics.json, or counted from the bag scores.
std::string confusion_section(const RunData& d) {
  const fs::path mj = d.dir / "metrics.json";
  const json* c = d.test ? object_member(*d.test, "confusion", mj) : nullptr;
  std::optional<double> tp = number_member(c, "tp", mj), fp = number_member(c, "fp", mj),
                        tn = number_member(c, "tn", mj), fn = number_member(c, "fn", mj);
  std::string source = "metrics.json";
  const double threshold = d.threshold ? std::strtod(d.threshold->c_str(), nullptr) : 0.5;
  if (!(tp && fp && tn && fn) && d.bags) {
    tp = fp = tn = fn = 0.0;
    for (const BagScore& b : *d.bags)
      *(b.probability >= threshold ? (b.label == 1 ? tp : fp) : (b.label == 1 ? fn : tn)) += 1;
    source = d.bags_source;
  }
  if (!(tp && fp && tn && fn))
    return section("confusion", "Confusion matrix", "<p class=\"note\">No confusion counts.</p>\n");
  const std::string body = fmt::format(
      "<table class=\"confusion\">\n"
      "<tr><th></th><th>predicted positive</th><th>predicted negative</th></tr>\n"
      "<tr><th>actual positive</th><td class=\"ok\">TP {}</td><td class=\"bad\">FN {}</td></tr>\n"
      "<tr><th>actual negative</th><td class=\"bad\">FP {}</td><td class=\"ok\">TN {}</td></tr>\n"
      "</table>\n<p class=\"note\">Counts of test bags from {}; a bag is predicted positive when "
      "its probability is at least the threshold {}.</p>\n",
      *tp, *fn, *fp, *tn, html_escape(source),
      d.threshold ? html_escape(*d.threshold) : "0.5 (the default)");
  return section("confusion", "Confusion matrix", body);
}

// Instance-level figures and the attention weight histogram.
std::string attention_section(const RunData& d) {
  std::string rows;
  for (const char* key : {"instance_auc", "instance_precision_at_k", "instance_recall_at_k", "k"})
    if (d.test && d.test->contains(key)) {
      const auto it = std::find_if(metric_names().begin(), metric_names().end(),
                                   [&](const auto& n) { return n.first == key; });
      rows += fmt::format("<tr><th>{}</th><td class=\"num\">{}</td></tr>\n",
                          html_escape(it->second), format_json((*d.test)[key]));
    }
  std::string body = rows.empty()
                         ? "<p class=\"note\">metrics.json has no instance-level figures.</p>\n"
                         : "<table>\n" + rows + "</table>\n";
  if (d.weights && !(d.weights->positive.empty() && d.weights->negative.empty())) {
    const auto mean = [](const std::vector<double>& v) {
      double s = 0;
      for (double x : v) s += x;
      return v.empty() ? kNaN : s / static_cast<double>(v.size());
    };
    body += "<div class=\"charts\">" + weight_histogram(*d.weights) + "</div>\n" +
            fmt::format(
                "<p class=\"note\">All test instances of attention/test.csv; bars are "
                "fractions of each label's instances. Mean weight: label 1 {}, label 0 "
                "{}.</p>\n",
                format_number(mean(d.weights->positive)), format_number(mean(d.weights->negative)));
  } else {
    body +=
        "<p class=\"note\">No attention weights with instance labels in attention/test.csv.</p>\n";
  }
  return section("attention", "Attention", body);
}

// The PNGs of visualize/, embedded as data: URIs.
std::string pictures_section(const RunData& d) {
  if (d.pictures.empty())
    return section("pictures", "Pictures",
                   "<p class=\"note\">No pictures: <code>abmil visualize RUN_DIR</code> makes "
                   "them.</p>\n");
  std::string body;
  for (const fs::path& png : d.pictures) {
    const std::string name = html_escape(png.filename().string());
    body += fmt::format(
        "<figure><img src=\"data:image/png;base64,{}\" alt=\"{}\"><figcaption>{}</figcaption>"
        "</figure>\n",
        base64_encode(read_file(png)), name, name);
  }
  return section("pictures", "Pictures", body);
}

// The resolved config, verbatim.
std::string config_section(const RunData& d) {
  if (!d.config)
    return section("config", "Config", "<p class=\"note\">No config.yaml in the run.</p>\n");
  return section("config", "Config", "<pre>" + html_escape(*d.config) + "</pre>\n");
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t v = 0;
    for (size_t k = 0; k < 3; ++k)
      v = (v << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out += k <= n ? kAlphabet[(v >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_report(const std::filesystem::path& run_dir) {
  const RunData d = read_run(run_dir);
  std::string page = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>abmil report: {0}</title>\n<style>{1}</style>\n</head>\n<body>\n<main>\n"
      "<h1>abmil report: {0}</h1>\n<p class=\"sub\">{2}</p>\n<nav>"
      "<a href=\"#summary\">Summary</a><a href=\"#metrics\">Test metrics</a>"
      "<a href=\"#curves\">Training curves</a><a href=\"#roc\">ROC</a>"
      "<a href=\"#confusion\">Confusion</a><a href=\"#attention\">Attention</a>"
      "<a href=\"#pictures\">Pictures</a><a href=\"#config\">Config</a></nav>\n",
      html_escape(d.name), kStyle, html_escape(run_dir.string()));
  page += summary_section(d);
  page += metrics_section(d);
  page += curves_section(d);
  page += roc_section(d);
  page += confusion_section(d);
  page += attention_section(d);
  page += pictures_section(d);
  page += config_section(d);
  // The one script, inline: once the page has loaded it records on <body> how
  // many of its pictures decoded (data-images-loaded="N/M"), which the
  // headless-browser test reads.
  return page +
         "</main>\n<script>window.addEventListener('load',function(){var im=document.images,n=0;"
         "for(var i=0;i<im.length;i++)if(im[i].complete&&im[i].naturalWidth>0)n++;"
         "document.body.setAttribute('data-images-loaded',n+'/'+im.length);});</script>\n</body>\n</html>\n";
}

}  // namespace abmil
