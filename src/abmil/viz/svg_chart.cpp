#include "abmil/viz/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <tuple>

#include "abmil/viz/html.h"

namespace abmil {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kTrainColor = "#2563eb";
constexpr const char* kValidationColor = "#ea580c";
constexpr const char* kPositiveColor = "#dc2626";
constexpr const char* kNegativeColor = "#64748b";

// Axis [0, 1] with ticks every 0.2.
Axis unit_axis() { return nice_axis(0, 1); }

// The points of `split` in `points`, sorted by epoch.
std::vector<std::pair<double, double>> split_series(const std::vector<EpochPoint>& points, const std::string& split) {
  std::vector<std::pair<double, double>> xy;
  for (const EpochPoint& e : points)
    if (e.split == split) xy.emplace_back(e.epoch, e.value);
  std::sort(xy.begin(), xy.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return xy;
}

}  // namespace

Axis nice_axis(double lo, double hi, double min_step) {
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

std::pair<double, double> finite_range(const std::vector<double>& values) {
  double lo = kNaN, hi = kNaN;
  for (double v : values)
    if (std::isfinite(v)) {
      lo = std::isnan(lo) ? v : std::min(lo, v);
      hi = std::isnan(hi) ? v : std::max(hi, v);
    }
  return {lo, hi};
}

std::string svg_open(const Plot& p, const std::string& title, const std::string& x_label, const std::string& y_label) {
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
      x0, y1, x1 - x0, y0 - y1, (x0 + x1) / 2, p.height - 8, html_escape(x_label), (y0 + y1) / 2, html_escape(y_label));
  return s;
}

std::string svg_line(const Plot& p, const std::vector<std::pair<double, double>>& points, const std::string& color,
                     bool markers) {
  std::string s, run;
  const auto flush = [&] {
    if (!run.empty())
      s += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", run, color);
    run.clear();
  };
  for (const auto& [x, y] : points) {
    if (!std::isfinite(x) || !std::isfinite(y)) {
      flush();
      continue;
    }
    run += fmt::format("{}{:.1f},{:.1f}", run.empty() ? "" : " ", p.px(x), p.py(y));
    if (markers)
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.2\" fill=\"{}\"/>\n", p.px(x), p.py(y), color);
  }
  flush();
  return s;
}

std::string svg_legend(const Plot& p, const std::vector<LegendEntry>& entries) {
  std::string s;
  double x = p.left;
  for (const LegendEntry& e : entries) {
    s += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"{3}\" "
        "stroke-width=\"{4}\"{5}/><text x=\"{6:.1f}\" y=\"{7:.1f}\">{8}</text>\n",
        x, p.top - 14, x + 18, e.color, e.dashed ? 1.5 : 3, e.dashed ? " stroke-dasharray=\"3 3\"" : "", x + 24,
        p.top - 10, html_escape(e.label));
    x += 24 + 6.6 * static_cast<double>(e.label.size()) + 20;
  }
  return s;
}

std::string epoch_chart(const std::vector<EpochPoint>& points, const std::string& title, const std::string& y_label,
                        bool unit_range, std::optional<double> best_epoch) {
  std::vector<double> epochs, values;
  for (const EpochPoint& e : points)
    if (e.split == "train" || e.split == "validation") {
      epochs.push_back(e.epoch);
      values.push_back(e.value);
    }
  Plot p;
  const auto [e_lo, e_hi] = finite_range(epochs);
  p.x = nice_axis(e_lo, e_hi, 1);
  const auto [v_lo, v_hi] = finite_range(values);
  p.y = unit_range ? unit_axis() : nice_axis(std::min(0.0, v_lo), v_hi);
  std::string s = svg_open(p, title, "epoch", y_label);
  const bool show_best = best_epoch && *best_epoch >= p.x.lo && *best_epoch <= p.x.hi;
  if (show_best)
    s += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" class=\"best\"/>\n",
                     p.px(*best_epoch), p.py(p.y.lo), p.py(p.y.hi));
  std::vector<LegendEntry> legend;
  for (const auto& [split, color] : {std::pair<std::string, std::string>{"train", kTrainColor},
                                     std::pair<std::string, std::string>{"validation", kValidationColor}}) {
    const std::vector<std::pair<double, double>> xy = split_series(points, split);
    if (xy.empty()) continue;
    s += svg_line(p, xy, color, xy.size() <= 60);
    legend.push_back({split, color});
  }
  if (show_best) legend.push_back({fmt::format("best epoch {}", *best_epoch), "#9aa4b2", true});
  return s + svg_legend(p, legend) + "</svg>\n";
}

std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<int>& labels) {
  std::vector<std::pair<double, int>> bags;
  for (size_t i = 0; i < scores.size() && i < labels.size(); ++i)
    if (!std::isnan(scores[i])) bags.emplace_back(scores[i], labels[i]);
  const auto pos = std::count_if(bags.begin(), bags.end(), [](const auto& b) { return b.second == 1; });
  const auto neg = static_cast<std::ptrdiff_t>(bags.size()) - pos;
  if (pos == 0 || neg == 0) return {};
  std::sort(bags.begin(), bags.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<RocPoint> points{{0, 0}};
  double tp = 0, fp = 0;
  for (size_t i = 0; i < bags.size();) {
    const double score = bags[i].first;
    for (; i < bags.size() && bags[i].first == score; ++i) (bags[i].second == 1 ? tp : fp) += 1;
    points.push_back({fp / static_cast<double>(neg), tp / static_cast<double>(pos)});
  }
  return points;
}

std::string roc_chart(const std::vector<RocPoint>& points, double auc, size_t bags) {
  Plot p;
  p.width = 380;
  p.height = 380;
  p.top = 34;
  p.x = unit_axis();
  p.y = unit_axis();
  std::string s = svg_open(p, fmt::format("ROC of {} test bags (AUC {})", bags, format_metric(auc)),
                           "false positive rate", "true positive rate");
  s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" class=\"diagonal\"/>\n", p.px(0),
                   p.py(0), p.px(1), p.py(1));
  std::vector<std::pair<double, double>> xy;
  for (const RocPoint& r : points) xy.emplace_back(r.fpr, r.tpr);
  s += svg_line(p, xy, kTrainColor, false);
  return s + "</svg>\n";
}

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

std::string weight_histogram(const std::vector<double>& positive, const std::vector<double>& negative) {
  constexpr size_t kBins = 20;
  std::vector<double> all = positive;
  all.insert(all.end(), negative.begin(), negative.end());
  Plot p;
  p.width = 620;
  p.x = nice_axis(0, finite_range(all).second);
  const double bin_width = (p.x.hi - p.x.lo) / kBins;
  const std::vector<double> pos = histogram(positive, kBins, p.x.hi);
  const std::vector<double> neg = histogram(negative, kBins, p.x.hi);
  p.y = nice_axis(0, std::max(*std::max_element(pos.begin(), pos.end()), *std::max_element(neg.begin(), neg.end())));
  std::string s =
      svg_open(p, "Attention weights of test instances by instance label", "attention weight", "fraction of instances");
  for (size_t b = 0; b < kBins; ++b) {
    const double x0 = p.px(bin_width * static_cast<double>(b));
    const double half = (p.px(bin_width * static_cast<double>(b + 1)) - x0) / 2;
    for (const auto& [frac, offset, color] : {std::tuple<double, double, const char*>{pos[b], 0.0, kPositiveColor},
                                              std::tuple<double, double, const char*>{neg[b], half, kNegativeColor}}) {
      if (frac <= 0) continue;
      s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/>\n",
                       x0 + offset + 0.5, p.py(frac), std::max(0.5, half - 1), p.py(0) - p.py(frac), color);
    }
  }
  s += svg_legend(p, {{fmt::format("label 1 ({} instances)", positive.size()), kPositiveColor},
                      {fmt::format("label 0 ({} instances)", negative.size()), kNegativeColor}});
  return s + "</svg>\n";
}

}  // namespace abmil
