// Inline SVG charts of the run report: linear axes with "nice" ticks, polylines, a legend row,
// the loss/AUC-per-epoch chart, the ROC chart and the attention-weight histogram. Each chart is
// one `<svg class="chart">` element (styled by the report's CSS classes title, label, grid, tick,
// frame, diagonal, best). Lengths are SVG user units (= CSS pixels at scale 1); data values are
// in the units of the caller's data. No LibTorch here.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace abmil {

/// A linear axis: the range [lo, hi] in data units, the tick positions (data units, ascending,
/// lo and hi included) and how many decimals a tick label gets.
struct Axis {
  double lo = 0, hi = 1;
  std::vector<double> ticks;
  int decimals = 1;
};

/// About five "nice" ticks (steps of 1, 2 or 5 x 10^k, at least `min_step`) covering [lo, hi]
/// (data units); e.g. (0, 1) gives ticks 0, 0.2, ..., 1 with 1 decimal, and (1, 7, 1) gives
/// 1, 2, ..., 7 with 0 decimals. A non-finite bound gives [0, 1]; hi <= lo widens the range by
/// 0.5 on each side. Never throws.
Axis nice_axis(double lo, double hi, double min_step = 0);

/// Smallest and largest finite value of `values`; (NaN, NaN) when there is none.
std::pair<double, double> finite_range(const std::vector<double>& values);

/// The drawing area of one chart: its size and margins (SVG user units) and its two axes;
/// px() and py() map data values to SVG coordinates (y grows downwards).
struct Plot {
  double width = 470, height = 320;
  double left = 60, right = 16, top = 56, bottom = 48;
  Axis x, y;

  /// SVG x coordinate of the data value `v` on the x axis.
  double px(double v) const { return left + (v - x.lo) / (x.hi - x.lo) * (width - left - right); }
  /// SVG y coordinate of the data value `v` on the y axis.
  double py(double v) const { return height - bottom - (v - y.lo) / (y.hi - y.lo) * (height - top - bottom); }
};

/// The opening `<svg>` element of `p` (width x height user units) with the title (plain text,
/// escaped here) at the top left, horizontal grid lines and labels at the y ticks, tick marks and
/// labels at the x ticks, the plot frame and both axis labels (plain text). The caller appends the
/// data and closes the element with `</svg>`.
std::string svg_open(const Plot& p, const std::string& title, const std::string& x_label, const std::string& y_label);

/// Polylines (stroke `color`, a CSS color, width 2) through `points` (data units, in the order
/// given), broken wherever x or y is not finite; with `markers`, a dot (radius 2.2) at each point.
std::string svg_line(const Plot& p, const std::vector<std::pair<double, double>>& points, const std::string& color,
                     bool markers);

/// One legend entry: label (plain text) and line color, dashed for reference lines.
struct LegendEntry {
  std::string label, color;
  bool dashed = false;
};

/// The legend as one row between the title and the plot area (never over the data): a line swatch
/// and a label per entry, left to right from the plot's left edge.
std::string svg_legend(const Plot& p, const std::vector<LegendEntry>& entries);

/// One value of a per-epoch series: epoch number (1-based), split name ("train", "validation";
/// other splits are ignored by epoch_chart) and the value (NaN = no value).
struct EpochPoint {
  double epoch = 0;
  std::string split;
  double value = 0;
};

/// Line chart (470 x 320) of `points` against the epoch, one polyline per split train (blue) and
/// validation (orange), sorted by epoch, with dot markers up to 60 points; a dashed vertical line
/// at `best_epoch` when it lies inside the x axis. `unit_range` fixes the y axis to [0, 1] (for
/// AUC); otherwise it covers 0 and the largest finite value. `title` and `y_label` are plain text.
std::string epoch_chart(const std::vector<EpochPoint>& points, const std::string& title, const std::string& y_label,
                        bool unit_range, std::optional<double> best_epoch);

/// A point of a ROC curve: false and true positive rate, both in [0, 1].
struct RocPoint {
  double fpr = 0, tpr = 0;
};

/// ROC curve of the bag `scores` (probabilities) against their 0/1 `labels` (same size; pairs with
/// a NaN score are ignored): from (0, 0), one point per group of equal scores in decreasing score
/// order, to (1, 1). Empty when either class is missing. The area is metrics' roc_auc, not here.
std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<int>& labels);

/// Square ROC chart (380 x 380) of `points` with the dashed chance diagonal; the title reads
/// "ROC of BAGS test bags (AUC A)", `auc` printed with 4 decimals (n/a for NaN).
std::string roc_chart(const std::vector<RocPoint>& points, double auc, size_t bags);

/// Fraction of `values` in each of `bins` (>= 1) equal bins over [0, hi]: values outside go to the
/// first or last bin (the last bin is closed); all 0 when `values` is empty.
std::vector<double> histogram(const std::vector<double>& values, size_t bins, double hi);

/// Histogram chart (620 x 320, 20 bins over [0, largest weight]) of the attention weights of
/// label-1 instances (`positive`, red) against label-0 instances (`negative`, grey), bars side by
/// side per bin, each class as fractions of its own instances.
std::string weight_histogram(const std::vector<double>& positive, const std::vector<double>& negative);

}  // namespace abmil
