#include "abmil/viz/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "abmil/config/config.h"
#include "abmil/io/csv_table.h"
#include "abmil/io/run_files_read.h"
#include "abmil/metrics/metrics.h"
#include "abmil/viz/html.h"
#include "abmil/viz/slide_visualize.h"
#include "abmil/viz/svg_chart.h"

namespace abmil {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

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

// Display names of the test metrics the report knows, in display order: the bag metrics, then
// the instance-level figures and bookkeeping of metrics.json's "test" object.
const std::vector<std::pair<std::string, std::string>>& metric_names() {
  static const std::vector<std::pair<std::string, std::string>> names = [] {
    std::vector<std::pair<std::string, std::string>> n;
    for (const BagMetricName& m : kBagMetricNames) n.emplace_back(m.key, m.label);
    n.insert(n.end(), {{"instance_auc", "Instance AUC (attention weights)"},
                       {"instance_auc_per_bag", "Instance AUC within each bag (mean)"},
                       {"instance_precision_at_k", "Instance precision@k"},
                       {"instance_recall_at_k", "Instance recall@k"},
                       {"k", "k"},
                       {"bags", "Test bags"},
                       {"seconds", "Evaluation seconds"}});
    return n;
  }();
  return names;
}

// A JSON scalar for display: integers as is, other numbers with 4 decimals, null as n/a.
std::string format_json(const json& v) {
  if (v.is_null()) return "n/a";
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number()) return format_metric(v.get<double>());
  if (v.is_string()) return html_escape(v.get<std::string>());
  return html_escape(v.dump());
}

// `threshold` as config.yaml spells it (config_to_yaml: shortest round-trip text, ".0" added
// to a whole number), e.g. "0.5", "1.0".
std::string threshold_text(double threshold) {
  std::string s = fmt::format("{}", threshold);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
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

struct RunData;
std::vector<std::string> class_names(const RunData& d);

// All inputs of a report, read and validated.
struct RunData {
  fs::path dir;
  std::string name;
  std::optional<std::string> config;        // config.yaml verbatim
  std::optional<std::string> config_error;  // why config.yaml did not load, when it did not
  std::optional<double> threshold;          // eval.threshold of a loaded config.yaml
  json metrics;
  const json* test = nullptr;
  const json* training = nullptr;
  std::optional<std::vector<MetricsCsvRow>> epochs;
  std::optional<std::vector<BagScore>> bags;
  std::string bags_source;
  std::optional<InstanceWeights> weights;
  std::vector<fs::path> pictures;
  // feature_files runs: slide heatmaps (visualize/<slide>_heatmap.png) of the most and least confident
  // test slides, embedded; every other heatmap (other slides, branches) only linked.
  std::vector<std::pair<fs::path, double>> most_confident, least_confident;  // picture, bag probability
  std::vector<fs::path> linked_heatmaps;
};

constexpr size_t kSlideHeatmapsShown = 3;  // of the most and of the least confident test slides each

// Whether `png` is a slide heatmap of abmil visualize (<slide>_heatmap.png, <slide>_heatmap_<class>.png).
bool is_slide_heatmap(const fs::path& png) {
  const std::string name = png.filename().string();
  return name.size() > 12 && (name.compare(name.size() - 12, 12, "_heatmap.png") == 0 ||
                              name.find("_heatmap_") != std::string::npos);
}

// Splits the slide heatmaps among d.pictures into the embedded most / least confident test slides of the
// attention CSV `attention` (binary: |p - 0.5|; C classes: the predicted class's probability) and the
// linked rest; the other pictures stay in d.pictures.
void pick_slide_heatmaps(const CsvTable& attention, bool multiclass, RunData& d) {
  std::vector<fs::path> heatmaps, others;
  for (const fs::path& p : d.pictures) (is_slide_heatmap(p) ? heatmaps : others).push_back(p);
  if (heatmaps.empty()) return;
  const auto name = attention.find_column("bag_name"), prob = attention.find_column("bag_probability");
  std::vector<std::pair<fs::path, double>> slides;  // one per test slide with its heatmap, first-row order
  if (name && prob) {
    std::map<std::string, bool> seen;
    for (size_t r = 0; r < attention.rows.size(); ++r) {
      const std::string& slide = attention.rows[r][*name];
      if (!seen.emplace(slide, true).second) continue;
      const fs::path png = d.dir / "visualize" / (file_name_part(slide) + "_heatmap.png");
      const auto it = std::find(heatmaps.begin(), heatmaps.end(), png);
      const double p = attention.number(r, *prob);
      if (it != heatmaps.end() && !std::isnan(p)) slides.emplace_back(png, p);
    }
  }
  const auto confidence = [&](double p) { return multiclass ? p : std::abs(p - 0.5); };
  std::stable_sort(slides.begin(), slides.end(),
                   [&](const auto& a, const auto& b) { return confidence(a.second) > confidence(b.second); });
  const size_t most = std::min(kSlideHeatmapsShown, slides.size());
  const size_t least = std::min(kSlideHeatmapsShown, slides.size() - most);
  d.most_confident.assign(slides.begin(), slides.begin() + static_cast<std::ptrdiff_t>(most));
  d.least_confident.assign(slides.rbegin(), slides.rbegin() + static_cast<std::ptrdiff_t>(least));
  for (const fs::path& h : heatmaps) {
    const auto shown = [&](const auto& v) {
      return std::any_of(v.begin(), v.end(), [&](const auto& x) { return x.first == h; });
    };
    if (!shown(d.most_confident) && !shown(d.least_confident)) d.linked_heatmaps.push_back(h);
  }
  d.pictures = others;
}

// config.yaml at `path`, when present: its text for the config section, and the run name (when
// not empty) and eval.threshold through the config loader (the file is the resolved config that
// config_to_yaml wrote; abmil visualize and predict load it the same way). A config.yaml the
// loader rejects (hand-edited, or written by another abmil version) does not stop the report:
// the folder name and the default threshold stand in, and the config section says why.
void read_config(const fs::path& path, RunData& d) {
  if (!fs::is_regular_file(path)) return;
  d.config = read_run_file(path);
  try {
    const Config cfg = parse_config(*d.config, path.string());
    if (!cfg.experiment.name.empty()) d.name = cfg.experiment.name;
    d.threshold = cfg.eval.threshold;
  } catch (const ConfigError& e) {
    d.config_error = e.what();
  }
}

// Reads every input of `dir`; throws as render_report documents.
RunData read_run(const fs::path& dir) {
  RunData d;
  d.dir = dir;
  const fs::path metrics_json = dir / "metrics.json";
  if (!fs::is_regular_file(metrics_json))
    throw std::runtime_error(dir.string() + ": not a finished run (no metrics.json)");
  d.metrics = read_metrics_json(metrics_json);
  d.test = json_object_member(d.metrics, "test", metrics_json);
  d.training = json_object_member(d.metrics, "training", metrics_json);

  d.name = folder_name(dir);
  read_config(dir / "config.yaml", d);
  if (fs::is_regular_file(dir / "metrics.csv")) d.epochs = read_metrics_csv(dir / "metrics.csv");

  std::optional<CsvTable> attention;
  if (fs::is_regular_file(dir / "attention" / "test.csv")) {
    attention = read_csv(dir / "attention" / "test.csv", /*quoted=*/true);
    d.weights = attention_weights_by_label(*attention);
  }
  if (fs::is_regular_file(dir / "predictions" / "test.csv")) {
    d.bags = read_predictions_csv(dir / "predictions" / "test.csv");
    d.bags_source = "predictions/test.csv";
  } else if (attention) {
    d.bags = attention_bag_scores(*attention);
    d.bags_source = "attention/test.csv";
  }

  const fs::path pictures = dir / "visualize";
  if (fs::is_directory(pictures))
    for (const auto& entry : fs::directory_iterator(pictures))
      if (entry.is_regular_file() && entry.path().extension() == ".png") d.pictures.push_back(entry.path());
  std::sort(d.pictures.begin(), d.pictures.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  if (attention) pick_slide_heatmaps(*attention, !class_names(d).empty(), d);
  return d;
}

// Summary: run name, best epoch, epochs run, times, headline test figures.
std::string summary_section(const RunData& d) {
  const fs::path mj = d.dir / "metrics.json";
  std::string cards = card("Run", html_escape(d.name));
  if (auto v = json_number_member(d.training, "best_epoch", mj)) cards += card("Best epoch", fmt::format("{}", *v));
  if (auto v = json_number_member(d.training, "epochs_run", mj)) {
    std::string run = fmt::format("{}", *v);
    if (d.training->contains("stopped_early") && (*d.training)["stopped_early"].is_boolean())
      run += (*d.training)["stopped_early"].get<bool>() ? " (stopped early)" : "";
    cards += card("Epochs run", run);
  }
  if (auto v = json_number_member(d.training, "seconds", mj)) cards += card("Training seconds", format_metric(*v));
  if (auto v = json_number_member(&d.metrics, "seconds_total", mj)) cards += card("Total seconds", format_metric(*v));
  if (auto v = json_number_member(d.training, "threads", mj)) cards += card("Threads", fmt::format("{}", *v));
  if (d.test && d.test->contains("bags")) cards += card("Test bags", format_json((*d.test)["bags"]));
  if (d.test && d.test->contains("auc")) cards += card("Test AUC", format_json((*d.test)["auc"]));
  if (d.test && d.test->contains("accuracy")) cards += card("Test accuracy", format_json((*d.test)["accuracy"]));
  return section("summary", "Summary", "<dl class=\"cards\">\n" + cards + "</dl>\n");
}

// Table of every scalar in metrics.json's "test" object, known metrics first.
std::string metrics_section(const RunData& d) {
  if (d.test == nullptr || d.test->empty())
    return section("metrics", "Test metrics", "<p class=\"note\">metrics.json has no test metrics.</p>\n");
  std::string rows, unknown;
  std::vector<std::string> shown;
  for (const auto& [key, label] : metric_names())
    if (d.test->contains(key)) {
      shown.push_back(key);
      if ((*d.test)[key].is_null()) {  // not known (no labels for it): left out, named below
        unknown += (unknown.empty() ? "" : ", ") + html_escape(label);
        continue;
      }
      rows += fmt::format("<tr><th>{}</th><td class=\"num\">{}</td></tr>\n", html_escape(label),
                          format_json((*d.test)[key]));
    }
  for (const auto& [key, value] : d.test->items())
    if (key != "confusion" && std::find(shown.begin(), shown.end(), key) == shown.end() && !value.is_object() &&
        !value.is_array() && !value.is_null())
      rows += fmt::format("<tr><th>{}</th><td class=\"num\">{}</td></tr>\n", html_escape(key), format_json(value));
  return section("metrics", "Test metrics",
                 "<p class=\"note\">The test bags, scored with the weights of the best epoch.</p>\n"
                 "<table>\n" +
                     rows + "</table>\n" +
                     (unknown.empty() ? std::string()
                                      : "<p class=\"note\">Not known for this run (the labels they need are "
                                        "missing): " +
                                            unknown + ".</p>\n"));
}

// The column `value` of every metrics.csv row, as points of an epoch chart.
std::vector<EpochPoint> epoch_points(const std::vector<MetricsCsvRow>& rows, double MetricsCsvRow::*value) {
  std::vector<EpochPoint> points;
  for (const MetricsCsvRow& r : rows) points.push_back({r.epoch, r.split, r.*value});
  return points;
}

// Loss and AUC per epoch, train and validation.
std::string curves_section(const RunData& d) {
  if (!d.epochs || d.epochs->empty())
    return section("curves", "Training curves", "<p class=\"note\">No metrics.csv rows to plot.</p>\n");
  const auto best = json_number_member(d.training, "best_epoch", d.dir / "metrics.json");
  return section("curves", "Training curves",
                 "<div class=\"charts\">\n" +
                     epoch_chart(epoch_points(*d.epochs, &MetricsCsvRow::loss), "Loss per epoch", "loss", false, best) +
                     epoch_chart(epoch_points(*d.epochs, &MetricsCsvRow::auc), "AUC per epoch", "ROC AUC", true, best) +
                     "</div>\n");
}

// The class names of a multi-class run's test object ("classes"); empty for a binary run.
std::vector<std::string> class_names(const RunData& d) {
  std::vector<std::string> names;
  if (d.test && d.test->contains("classes") && (*d.test)["classes"].is_array())
    for (const json& n : (*d.test)["classes"])
      if (n.is_string()) names.push_back(n.get<std::string>());
  return names;
}

// Multi-class runs: one-vs-rest figures per class (metrics.json "per_class").
std::string class_section(const RunData& d) {
  const std::vector<std::string> names = class_names(d);
  const json* per = d.test && d.test->contains("per_class") ? &(*d.test)["per_class"] : nullptr;
  std::string rows;
  for (const std::string& n : names) {
    const json* c = per && per->contains(n) ? &(*per)[n] : nullptr;
    auto cell = [&](const char* key) {
      return c && c->contains(key) && (*c)[key].is_number() ? format_json((*c)[key]) : std::string("n/a");
    };
    rows += fmt::format("<tr><th>{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                        "<td class=\"num\">{}</td></tr>\n",
                        html_escape(n), cell("auc"), cell("precision"), cell("recall"), cell("f1"));
  }
  return section("roc", "Per-class figures",
                 "<table>\n<tr><th>class</th><th>AUC (one vs rest)</th><th>precision</th><th>recall</th><th>F1</th>"
                 "</tr>\n" +
                     rows +
                     "</table>\n<p class=\"note\">Each class against all others, from metrics.json; the bag "
                     "probability in the tables below is that of the predicted class.</p>\n");
}

// ROC curve of the test bags.
std::string roc_section(const RunData& d) {
  if (!class_names(d).empty()) return class_section(d);
  if (!d.bags)
    return section("roc", "ROC curve",
                   "<p class=\"note\">No per-bag test scores (neither predictions/test.csv nor "
                   "attention/test.csv).</p>\n");
  // Bags without a probability (NaN) have no place on the curve, nor in the area.
  std::vector<double> scores;
  std::vector<int> labels;
  for (const BagScore& b : *d.bags)
    if (!std::isnan(b.probability)) {
      scores.push_back(b.probability);
      labels.push_back(b.label);
    }
  const std::vector<RocPoint> points = roc_curve(scores, labels);
  if (points.empty())
    return section("roc", "ROC curve", "<p class=\"note\">The test bags hold only one class: no ROC curve.</p>\n");
  return section("roc", "ROC curve",
                 roc_chart(points, roc_auc(scores, labels), d.bags->size()) +
                     fmt::format("<p class=\"note\">From the bag scores in {}; equal scores form "
                                 "one step.</p>\n",
                                 html_escape(d.bags_source)));
}

// 2x2 confusion table at the threshold: from metrics.json, or counted from the bag scores.
std::string confusion_section(const RunData& d) {
  const std::vector<std::string> names = class_names(d);
  if (!names.empty() && d.test->contains("confusion_matrix") && (*d.test)["confusion_matrix"].is_array()) {
    const json& m = (*d.test)["confusion_matrix"];
    std::string body = "<table class=\"confusion\">\n<tr><th>actual \\ predicted</th>";
    for (const std::string& n : names) body += "<th>" + html_escape(n) + "</th>";
    body += "</tr>\n";
    for (size_t r = 0; r < names.size() && r < m.size(); ++r) {
      body += "<tr><th>" + html_escape(names[r]) + "</th>";
      for (size_t c = 0; c < names.size() && c < m[r].size(); ++c)
        body += fmt::format("<td class=\"{}\">{}</td>", r == c ? "ok" : "bad", format_json(m[r][c]));
      body += "</tr>\n";
    }
    body += "</table>\n<p class=\"note\">Counts of test bags from metrics.json; a bag is predicted as its most "
            "probable class.</p>\n";
    return section("confusion", "Confusion matrix", body);
  }
  const fs::path mj = d.dir / "metrics.json";
  const json* c = d.test ? json_object_member(*d.test, "confusion", mj) : nullptr;
  std::optional<double> tp = json_number_member(c, "tp", mj), fp = json_number_member(c, "fp", mj),
                        tn = json_number_member(c, "tn", mj), fn = json_number_member(c, "fn", mj);
  std::string source = "metrics.json";
  const double threshold = d.threshold.value_or(0.5);
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
      d.threshold ? html_escape(threshold_text(*d.threshold)) : "0.5 (the default)");
  return section("confusion", "Confusion matrix", body);
}

// Instance-level figures and the attention weight histogram.
std::string attention_section(const RunData& d) {
  std::string rows;
  const bool top_k_known =
      d.test && d.test->contains("instance_precision_at_k") && !(*d.test)["instance_precision_at_k"].is_null();
  for (const char* key : {"instance_auc", "instance_auc_per_bag", "instance_precision_at_k", "instance_recall_at_k", "k"})
    if (d.test && d.test->contains(key) && !(*d.test)[key].is_null() && (top_k_known || std::string(key) != "k")) {
      const auto it =
          std::find_if(metric_names().begin(), metric_names().end(), [&](const auto& n) { return n.first == key; });
      rows += fmt::format("<tr><th>{}</th><td class=\"num\">{}</td></tr>\n", html_escape(it->second),
                          format_json((*d.test)[key]));
    }
  std::string body = rows.empty() ? "<p class=\"note\">No instance-level figures: the test bags have no instance "
                                    "labels.</p>\n"
                                  : "<table>\n" + rows + "</table>\n";
  if (d.weights && !(d.weights->positive.empty() && d.weights->negative.empty())) {
    const auto mean = [](const std::vector<double>& v) {
      double s = 0;
      for (double x : v) s += x;
      return v.empty() ? kNaN : s / static_cast<double>(v.size());
    };
    body += "<div class=\"charts\">" + weight_histogram(d.weights->positive, d.weights->negative) + "</div>\n" +
            fmt::format(
                "<p class=\"note\">All test instances of attention/test.csv; bars are "
                "fractions of each label's instances. Mean weight: label 1 {}, label 0 "
                "{}.</p>\n",
                format_metric(mean(d.weights->positive)), format_metric(mean(d.weights->negative)));
  } else {
    body += "<p class=\"note\">No attention weights with instance labels in attention/test.csv.</p>\n";
  }
  return section("attention", "Attention", body);
}

// One embedded picture with its caption (both escaped here).
std::string figure(const fs::path& png, const std::string& caption) {
  return fmt::format(
      "<figure><img src=\"data:image/png;base64,{}\" alt=\"{}\"><figcaption>{}</figcaption>"
      "</figure>\n",
      base64_encode(read_run_file(png)), html_escape(png.filename().string()), html_escape(caption));
}

constexpr int kSlideHeatmapWidth = 1024;  // px: embedded slide heatmaps at most this wide (the page is 1040)

// A slide heatmap embedded small: a full one over a slide's picture is a PNG of several MB, so it goes in
// as a JPEG (quality 90) at most kSlideHeatmapWidth wide, the caption linking the PNG itself. Throws
// "PNG: cannot decode the image" for a file OpenCV cannot read.
std::string slide_figure(const fs::path& png, double probability) {
  cv::Mat image = cv::imread(png.string(), cv::IMREAD_COLOR);
  if (image.empty()) throw std::runtime_error(png.string() + ": cannot decode the image");
  if (image.cols > kSlideHeatmapWidth) {
    cv::Mat small;
    const double f = static_cast<double>(kSlideHeatmapWidth) / image.cols;
    cv::resize(image, small, {kSlideHeatmapWidth, std::max(1, static_cast<int>(std::lround(image.rows * f)))}, 0, 0,
               cv::INTER_AREA);
    image = small;
  }
  std::vector<uint8_t> jpeg;
  cv::imencode(".jpg", image, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
  const std::string name = html_escape(png.filename().string());
  return fmt::format(
      "<figure><img src=\"data:image/jpeg;base64,{}\" alt=\"{}\"><figcaption><a href=\"visualize/{}\">{}</a> "
      "(bag probability {:.3f})</figcaption></figure>\n",
      base64_encode(std::string(jpeg.begin(), jpeg.end())), name, name, name, probability);
}

// The slide heatmaps of a feature_files run: the most and least confident test slides embedded
// (slide_figure), the others linked (relative to report.html, in RUN_DIR).
std::string slide_heatmaps_html(const RunData& d) {
  if (d.most_confident.empty() && d.linked_heatmaps.empty()) return "";
  std::string body;
  auto group = [&](const std::vector<std::pair<fs::path, double>>& v, const char* heading) {
    if (v.empty()) return;
    body += fmt::format("<h3>{}</h3>\n", heading);
    for (const auto& [png, p] : v) body += slide_figure(png, p);
  };
  group(d.most_confident, "Slide heatmaps: most confident test slides");
  group(d.least_confident, "Slide heatmaps: least confident test slides");
  if (!d.linked_heatmaps.empty()) {
    body += "<p class=\"note\">Other heatmaps (files beside this page, not embedded): ";
    for (size_t i = 0; i < d.linked_heatmaps.size(); ++i) {
      const std::string name = html_escape(d.linked_heatmaps[i].filename().string());
      body += fmt::format("{}<a href=\"visualize/{}\">{}</a>", i ? ", " : "", name, name);
    }
    body += ".</p>\n";
  }
  return body;
}

// The PNGs of visualize/, embedded as data: URIs (slide heatmaps as slide_heatmaps_html says).
std::string pictures_section(const RunData& d) {
  const std::string slides = slide_heatmaps_html(d);
  if (d.pictures.empty() && slides.empty())
    return section("pictures", "Pictures",
                   "<p class=\"note\">No pictures: <code>abmil visualize RUN_DIR</code> makes "
                   "them.</p>\n");
  std::string body = slides;
  for (const fs::path& png : d.pictures) body += figure(png, png.filename().string());
  return section("pictures", "Pictures", body);
}

// The resolved config, verbatim (after a note when the config loader rejected it).
std::string config_section(const RunData& d) {
  if (!d.config) return section("config", "Config", "<p class=\"note\">No config.yaml in the run.</p>\n");
  const std::string note = d.config_error ? fmt::format(
                                                "<p class=\"note\">config.yaml does not load ({}); the report "
                                                "uses the folder name and the default threshold.</p>\n",
                                                html_escape(*d.config_error))
                                          : "";
  return section("config", "Config", note + "<pre>" + html_escape(*d.config) + "</pre>\n");
}

}  // namespace

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
  // The one script, inline: once the page has loaded it records on <body> how many of its
  // pictures decoded (data-images-loaded="N/M"). No test reads it any more (the browser test
  // checks the DOM Chromium dumps and the PNG bytes instead); it stays only so that report.html
  // keeps its bytes across the viz split. Drop it with the next change that alters the page.
  return page +
         "</main>\n<script>window.addEventListener('load',function(){var im=document.images,n=0;"
         "for(var i=0;i<im.length;i++)if(im[i].complete&&im[i].naturalWidth>0)n++;"
         "document.body.setAttribute('data-images-loaded',n+'/'+im.length);});</script>\n</body>\n</html>\n";
}

}  // namespace abmil
