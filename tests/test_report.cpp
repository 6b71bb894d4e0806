// Tests of abmil/viz/report: the self-contained HTML page of a run directory.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "abmil/io/run_files_read.h"
#include "abmil/viz/html.h"
#include "abmil/viz/report.h"
#include "abmil/viz/svg_chart.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using abmil::base64_encode;
using abmil::html_escape;
using abmil::render_report;

// A valid 1x1 RGBA PNG (transparent pixel), 67 bytes.
const unsigned char kPng[] = {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48,
                              0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
                              0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78,
                              0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00,
                              0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82};

// Writes `text` to `path`, creating parent folders.
void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// Decodes standard padded base64 (test helper; throws on a bad character).
std::string base64_decode(const std::string& in) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned value = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const size_t d = alphabet.find(c);
    if (d == std::string::npos) throw std::runtime_error("bad base64 character");
    value = (value << 6) | static_cast<unsigned>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((value >> bits) & 0xFF);
    }
  }
  return out;
}

// One predictions/test.csv row, the probability with 17 significant digits (reads back exactly).
std::string fmt_row(int bag, int label, double probability) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%d,%d,%.17g,1\n", bag, label, probability);
  return buf;
}

// A fake finished run in a fresh temp folder, removed at the end of the test.
class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("abmil_report_test_" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "_" +
            std::to_string(counter++));
    fs::create_directories(dir_);
    write(dir_ / "config.yaml",
          "experiment:\n  name: demo <b> & co\n  seed: 1\ndata:\n  kind: mnist_bags\n"
          "eval:\n  threshold: 0.5\n");
    write(dir_ / "metrics.csv",
          "epoch,split,loss,accuracy,error,precision,recall,f1,auc,seconds\r\n"
          "1,train,0.70,0.50,0.50,0.50,0.60,0.55,0.47,0.39\r\n"
          "1,validation,0.69,0.50,0.50,0.50,1.00,0.67,,0.01\r\n"
          "2,train,0.50,0.70,0.30,0.70,0.70,0.70,0.80,0.40\r\n"
          "2,validation,0.55,0.80,0.20,0.80,0.80,0.80,0.88,0.01\r\n"
          "3,train,0.30,0.90,0.10,0.90,0.90,0.90,0.95,0.41\r\n"
          "3,validation,0.60,0.80,0.20,0.80,0.80,0.80,0.90,0.01\r\n"
          "2,test,0.31,0.86,0.14,0.81,0.94,0.87,0.9617,0.20\r\n");
    write(dir_ / "metrics.json",
          R"({"seconds_total": 11.2, "test": {"accuracy": 0.865, "auc": 0.961712, "bags": 4,
              "confusion": {"fn": 1, "fp": 0, "tn": 2, "tp": 1}, "instance_auc": 0.98439,
              "loss": 0.3151, "seconds": 0.2},
              "training": {"best_epoch": 2, "epochs_run": 3, "seconds": 10.8,
                           "stopped_early": true, "threads": 2}})");
    write(dir_ / "predictions" / "test.csv",
          "bag_id,bag_label,bag_probability,instances\n"
          "0,1,0.9,3\n1,0,0.2,2\n2,1,0.4,2\n3,0,0.4,1\n");
    write(dir_ / "attention" / "test.csv",
          "bag_id,instance_index,source_index,instance_label,attention_weight,attention_logit,"
          "instance_probability,bag_label,bag_probability\n"
          "0,0,10,1,0.8,1.0,,1,0.9\n0,1,11,0,0.1,-1.0,,1,0.9\n0,2,12,0,0.1,-1.0,,1,0.9\n"
          "1,0,13,0,0.5,0.0,,0,0.2\n1,1,14,0,0.5,0.0,,0,0.2\n"
          "2,0,15,1,0.6,0.5,,1,0.4\n2,1,16,0,0.4,0.1,,1,0.4\n"
          "3,0,17,0,1.0,0.0,,0,0.4\n");
    write(dir_ / "visualize" / "bag_0.png", std::string(reinterpret_cast<const char*>(kPng), sizeof kPng));
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

TEST(ReportBase64, EncodesRfcExamples) {
  EXPECT_EQ(base64_encode("Man"), "TWFu");
  EXPECT_EQ(base64_encode("Ma"), "TWE=");
  EXPECT_EQ(base64_encode("M"), "TQ==");
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(ReportEscape, EscapesMarkup) {
  EXPECT_EQ(html_escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
}

TEST_F(ReportTest, HasEverySection) {
  const std::string page = render_report(dir_);
  for (const char* id : {"summary", "metrics", "curves", "roc", "confusion", "attention", "pictures", "config"})
    EXPECT_NE(page.find(std::string("<section id=\"") + id + "\">"), std::string::npos) << id;
}

TEST_F(ReportTest, EmbedsThePngAsDataUri) {
  const std::string page = render_report(dir_);
  const std::string prefix = "src=\"data:image/png;base64,";
  const size_t at = page.find(prefix);
  ASSERT_NE(at, std::string::npos);
  const size_t begin = at + prefix.size();
  const std::string encoded = page.substr(begin, page.find('"', begin) - begin);
  EXPECT_EQ(base64_decode(encoded), std::string(reinterpret_cast<const char*>(kPng), sizeof kPng));
  EXPECT_NE(page.find("bag_0.png"), std::string::npos);
}

TEST_F(ReportTest, IsSelfContained) {
  const std::string page = render_report(dir_);
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_EQ(page.find("<script src"), std::string::npos);  // at most one inline script (see render_report)
  EXPECT_EQ(page.find("<script"), page.rfind("<script"));
  EXPECT_EQ(page.find("<link"), std::string::npos);
}

TEST_F(ReportTest, RocSectionHasAPolyline) {
  const std::string page = render_report(dir_);
  const size_t roc = page.find("<section id=\"roc\">");
  ASSERT_NE(roc, std::string::npos);
  const std::string body = page.substr(roc, page.find("</section>", roc) - roc);
  EXPECT_NE(body.find("<svg"), std::string::npos);
  EXPECT_NE(body.find("<polyline"), std::string::npos);
  // Scores 0.9(+), 0.4(+), 0.4(-), 0.2(-): the tie at 0.4 is one step, AUC = 0.875.
  EXPECT_NE(body.find("AUC 0.8750"), std::string::npos);
}

TEST_F(ReportTest, ShowsValuesFormatted) {
  const std::string page = render_report(dir_);
  EXPECT_NE(page.find("0.9617"), std::string::npos);             // test auc 0.961712
  EXPECT_NE(page.find("0.9844"), std::string::npos);             // instance_auc
  EXPECT_NE(page.find("TP 1"), std::string::npos);               // confusion counts
  EXPECT_NE(page.find("Attention weights"), std::string::npos);  // histogram title
  EXPECT_NE(page.find("Loss per epoch"), std::string::npos);
  EXPECT_NE(page.find("AUC per epoch"), std::string::npos);
}

TEST_F(ReportTest, EscapesStringsFromFiles) {
  const std::string page = render_report(dir_);
  EXPECT_NE(page.find("demo &lt;b&gt; &amp; co"), std::string::npos);
  EXPECT_EQ(page.find("demo <b> & co"), std::string::npos);
}

TEST_F(ReportTest, MissingMetricsJsonThrows) {
  fs::remove(dir_ / "metrics.json");
  try {
    render_report(dir_);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), dir_.string() + ": not a finished run (no metrics.json)");
  }
}

TEST_F(ReportTest, MalformedMetricsCsvRowNamesFileAndLine) {
  write(dir_ / "metrics.csv",
        "epoch,split,loss,accuracy,error,precision,recall,f1,auc,seconds\n"
        "1,train,0.70,0.50,0.50,0.50,0.60,0.55,0.47,0.39\n"
        "1,validation,0.69,0.50,0.50\n");
  try {
    render_report(dir_);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.csv:3:"), std::string::npos) << e.what();
  }
  write(dir_ / "metrics.csv",
        "epoch,split,loss,accuracy,error,precision,recall,f1,auc,seconds\n"
        "1,train,0.70,abc,0.50,0.50,0.60,0.55,0.47,0.39\n");
  try {
    render_report(dir_);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("metrics.csv:2:"), std::string::npos) << what;
    EXPECT_NE(what.find("abc"), std::string::npos) << what;
  }
}

TEST_F(ReportTest, MalformedMetricsJsonNamesFile) {
  write(dir_ / "metrics.json", "{\"test\": {\n  \"auc\": ,\n}}");
  try {
    render_report(dir_);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("metrics.json"), std::string::npos) << what;
    EXPECT_NE(what.find("line 2"), std::string::npos) << what;
  }
}

TEST_F(ReportTest, FallsBackToAttentionCsvForBagScores) {
  fs::remove_all(dir_ / "predictions");
  const std::string page = render_report(dir_);
  const size_t roc = page.find("<section id=\"roc\">");
  ASSERT_NE(roc, std::string::npos);
  const std::string body = page.substr(roc, page.find("</section>", roc) - roc);
  EXPECT_NE(body.find("<polyline"), std::string::npos);
  EXPECT_NE(body.find("ROC of 4 test bags (AUC 0.8750)"), std::string::npos);
  EXPECT_NE(body.find("attention/test.csv"), std::string::npos);
}

TEST_F(ReportTest, WorksWithOnlyMetricsJson) {
  for (const char* p : {"config.yaml", "metrics.csv", "predictions", "attention", "visualize"})
    fs::remove_all(dir_ / p);
  const std::string page = render_report(dir_);
  EXPECT_NE(page.find("<section id=\"pictures\">"), std::string::npos);
  EXPECT_NE(page.find("abmil visualize RUN_DIR"), std::string::npos);
  EXPECT_NE(page.find(dir_.filename().string()), std::string::npos);  // run name = folder name
}

// ---- html.h ----------------------------------------------------------------------------------

TEST(ReportBase64, EncodesBinaryBytes) {
  EXPECT_EQ(base64_encode(std::string("\x00\xff\xfe", 3)), "AP/+");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  const std::string png(reinterpret_cast<const char*>(kPng), sizeof kPng);
  EXPECT_EQ(base64_encode(png).substr(0, 12), "iVBORw0KGgoA");  // every PNG's data: URI opens so
  EXPECT_EQ(base64_decode(base64_encode(png)), png);
}

TEST(ReportEscape, KeepsOtherBytes) {
  EXPECT_EQ(html_escape(""), "");
  EXPECT_EQ(html_escape("plain text, 1 + 2 = 3"), "plain text, 1 + 2 = 3");
  EXPECT_EQ(html_escape("caf\xc3\xa9 &amp;"), "caf\xc3\xa9 &amp;amp;");  // UTF-8 kept, & escaped again
}

TEST(ReportFormat, MetricHasFourDecimals) {
  EXPECT_EQ(abmil::format_metric(0.961712), "0.9617");
  EXPECT_EQ(abmil::format_metric(1), "1.0000");
  EXPECT_EQ(abmil::format_metric(std::numeric_limits<double>::quiet_NaN()), "n/a");
}

// ---- svg_chart.h -----------------------------------------------------------------------------

TEST(SvgChart, NiceAxisTicksForKnownRanges) {
  const abmil::Axis unit = abmil::nice_axis(0, 1);
  EXPECT_EQ(unit.ticks, (std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}));
  EXPECT_EQ(unit.decimals, 1);
  const abmil::Axis epochs = abmil::nice_axis(1, 7, 1);  // whole epochs
  EXPECT_EQ(epochs.ticks, (std::vector<double>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(epochs.decimals, 0);
  const abmil::Axis epochs2 = abmil::nice_axis(1, 2, 1);  // the step never falls below 1
  EXPECT_EQ(epochs2.ticks, (std::vector<double>{1, 2}));
  const abmil::Axis small = abmil::nice_axis(0, 0.0372);
  EXPECT_DOUBLE_EQ(small.lo, 0);
  EXPECT_DOUBLE_EQ(small.hi, 0.04);
  EXPECT_EQ(small.ticks.size(), 5u);
  EXPECT_EQ(small.decimals, 2);
  const abmil::Axis loss = abmil::nice_axis(0, 0.7134);
  EXPECT_DOUBLE_EQ(loss.hi, 0.8);
  EXPECT_EQ(loss.ticks.size(), 9u);                 // step 0.1
  const abmil::Axis flat = abmil::nice_axis(5, 5);  // widened to [4.5, 5.5], step 0.2
  EXPECT_DOUBLE_EQ(flat.lo, 4.4);
  EXPECT_DOUBLE_EQ(flat.hi, 5.6);
  const abmil::Axis none = abmil::nice_axis(std::numeric_limits<double>::quiet_NaN(), 3);
  EXPECT_DOUBLE_EQ(none.lo, 0);
  EXPECT_DOUBLE_EQ(none.hi, 1);
}

TEST(SvgChart, PlotMapsDataToPixels) {
  abmil::Plot p;  // 470 x 320, margins left 60, right 16, top 56, bottom 48
  p.x = abmil::nice_axis(0, 1);
  p.y = abmil::nice_axis(0, 1);
  EXPECT_DOUBLE_EQ(p.px(0), 60);
  EXPECT_DOUBLE_EQ(p.px(1), 454);
  EXPECT_DOUBLE_EQ(p.py(0), 272);  // y grows downwards
  EXPECT_DOUBLE_EQ(p.py(1), 56);
}

TEST(SvgChart, LineBreaksAtMissingValues) {
  abmil::Plot p;
  p.x = abmil::nice_axis(0, 4);
  p.y = abmil::nice_axis(0, 1);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::string s = abmil::svg_line(p, {{0, 0.1}, {1, 0.2}, {2, nan}, {3, 0.4}, {4, 0.5}}, "#000", false);
  size_t lines = 0;
  for (size_t at = s.find("<polyline"); at != std::string::npos; at = s.find("<polyline", at + 1)) ++lines;
  EXPECT_EQ(lines, 2u) << s;
  EXPECT_EQ(s.find("<circle"), std::string::npos);
}

TEST(SvgChart, RocCurveGroupsTies) {
  // 0.9(+), 0.4(+), 0.4(-), 0.2(-), NaN(+) ignored.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto points = abmil::roc_curve({0.9, 0.4, 0.4, 0.2, nan}, {1, 1, 0, 0, 1});
  std::vector<std::pair<double, double>> xy;  // (fpr, tpr); the rates are exact halves
  for (const abmil::RocPoint& r : points) xy.emplace_back(r.fpr, r.tpr);
  EXPECT_EQ(xy, (std::vector<std::pair<double, double>>{{0, 0}, {0, 0.5}, {0.5, 1}, {1, 1}}));
  EXPECT_TRUE(abmil::roc_curve({0.1, 0.2}, {1, 1}).empty());
}

TEST(SvgChart, HistogramFractionsPerBin) {
  const auto h = abmil::histogram({0.0, 0.1, 0.49, 0.5, 1.0, 2.0}, 2, 1.0);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_DOUBLE_EQ(h[0], 0.5);  // 0, 0.1, 0.49
  EXPECT_DOUBLE_EQ(h[1], 0.5);  // 0.5, 1 (closed last bin), 2 (beyond: last bin)
  EXPECT_EQ(abmil::histogram({}, 3, 1.0), (std::vector<double>{0, 0, 0}));
}

TEST(SvgChart, EpochChartMarksTheBestEpoch) {
  const std::vector<abmil::EpochPoint> pts{
      {1, "train", 0.7}, {2, "train", 0.5}, {1, "validation", 0.6}, {2, "validation", 0.55}, {2, "test", 9.0}};
  const std::string s = abmil::epoch_chart(pts, "Loss <per> epoch", "loss", false, 2.0);
  EXPECT_NE(s.find("aria-label=\"Loss &lt;per&gt; epoch\""), std::string::npos);
  EXPECT_NE(s.find("class=\"best\""), std::string::npos);
  EXPECT_NE(s.find(">best epoch 2<"), std::string::npos);
  EXPECT_NE(s.find(">validation<"), std::string::npos);
  EXPECT_EQ(s.find(">9.0<"), std::string::npos);  // the test row does not stretch the axis
  EXPECT_EQ(abmil::epoch_chart(pts, "t", "y", true, 5.0).find("class=\"best\""), std::string::npos);
}

// ---- run_files_read.h ------------------------------------------------------------------------

TEST_F(ReportTest, ReadersNameFileAndLine) {
  using abmil_test::error_of;
  const fs::path csv = dir_ / "metrics.csv";
  write(csv, "epoch,split,loss,auc\n1,train,0.5,0.5\n1,validation,0.5\n");
  EXPECT_EQ(error_of<std::runtime_error>([&] { abmil::read_metrics_csv(csv); }),
            csv.string() + ":3: expected 4 cells, found 3");
  write(csv, "epoch,split,loss,auc\n\n,train,0.5,0.5\n");
  EXPECT_EQ(error_of<std::runtime_error>([&] { abmil::read_metrics_csv(csv); }), csv.string() + ":3: empty epoch");
  write(csv, "epoch,split,loss\n1,train,0.5\n");
  EXPECT_EQ(error_of<std::runtime_error>([&] { abmil::read_metrics_csv(csv); }),
            csv.string() + ":1: no column 'auc' in the header");

  const fs::path pred = dir_ / "predictions" / "test.csv";
  write(pred, "bag_id,bag_label,bag_probability,instances\n0,1,0.9,3\n1,,0.2,2\n");
  EXPECT_EQ(error_of<std::runtime_error>([&] { abmil::read_predictions_csv(pred); }),
            pred.string() + ":3: empty bag_label");
  write(pred, "bag_id,bag_label,bag_probability,instances\n0,2,0.9,3\n");  // a C-class run's class 2
  EXPECT_EQ(abmil::read_predictions_csv(pred).at(0).label, 2);
  write(pred, "bag_id,bag_label,bag_probability,instances\n0,1.5,0.9,3\n");
  EXPECT_EQ(error_of<std::runtime_error>([&] { abmil::read_predictions_csv(pred); }),
            pred.string() + ":2: '1.5' is not a class index (column 'bag_label')");
  write(pred, "bag_id,bag_label,bag_probability,instances\n0,1,high,3\n");
  EXPECT_EQ(error_of<std::runtime_error>([&] { abmil::read_predictions_csv(pred); }),
            pred.string() + ":2: 'high' is not a number (column 'bag_probability')");

  const fs::path att = dir_ / "attention" / "test.csv";
  write(att, "bag_label,bag_probability,instance_label,attention_weight\n1,0.9,1,0.5\n");
  const abmil::CsvTable table = abmil::read_csv(att);
  EXPECT_EQ(error_of<std::runtime_error>([&] { abmil::attention_bag_scores(table); }),
            att.string() + ":1: no column 'bag_id' in the header");
  EXPECT_EQ(abmil::attention_weights_by_label(table).positive, std::vector<double>{0.5});

  const fs::path mj = dir_ / "metrics.json";
  write(mj, "[1, 2]");
  EXPECT_EQ(error_of<std::runtime_error>([&] { abmil::read_metrics_json(mj); }),
            mj.string() + ": expected a JSON object");
  write(mj, R"({"test": {"auc": "high"}, "training": 3})");
  const nlohmann::json j = abmil::read_metrics_json(mj);
  EXPECT_EQ(error_of<std::runtime_error>([&] { abmil::json_object_member(j, "training", mj); }),
            mj.string() + ": 'training' is not an object");
  EXPECT_EQ(error_of<std::runtime_error>(
                [&] { abmil::json_number_member(abmil::json_object_member(j, "test", mj), "auc", mj); }),
            mj.string() + ": 'auc' is not a number");
  EXPECT_EQ(error_of<std::runtime_error>([&] { abmil::read_metrics_json(dir_ / "none.json"); }),
            (dir_ / "none.json").string() + ": cannot open");
}

TEST_F(ReportTest, ReadersReadWhatTheWritersWrite) {
  const auto rows = abmil::read_metrics_csv(dir_ / "metrics.csv");
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows[1].split, "validation");
  EXPECT_TRUE(std::isnan(rows[1].auc));  // empty cell
  EXPECT_DOUBLE_EQ(rows[6].auc, 0.9617);
  const auto bags = abmil::read_predictions_csv(dir_ / "predictions" / "test.csv");
  ASSERT_EQ(bags.size(), 4u);
  EXPECT_EQ(bags[2].label, 1);
  EXPECT_DOUBLE_EQ(bags[2].probability, 0.4);
  const abmil::CsvTable att = abmil::read_csv(dir_ / "attention" / "test.csv");
  const auto from_att = abmil::attention_bag_scores(att);
  ASSERT_EQ(from_att.size(), 4u);  // one per bag, not per instance
  EXPECT_DOUBLE_EQ(from_att[3].probability, 0.4);
  const auto w = abmil::attention_weights_by_label(att);
  EXPECT_EQ(w.positive, (std::vector<double>{0.8, 0.6}));
  EXPECT_EQ(w.negative.size(), 6u);
}

// ---- one AUC ---------------------------------------------------------------------------------

// The ROC area as the report computed it before it used metrics' roc_auc: the trapezoids under
// the curve through one point per group of equal scores.
double old_report_roc_area(const std::vector<double>& scores, const std::vector<int>& labels) {
  const auto points = abmil::roc_curve(scores, labels);
  double area = 0;
  for (size_t i = 1; i < points.size(); ++i)
    area += (points[i].fpr - points[i - 1].fpr) * (points[i].tpr + points[i - 1].tpr) / 2;
  return area;
}

TEST_F(ReportTest, RocAucShowsTheSameDigitsAsBefore) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 60; ++trial) {
    const int n = 3 + static_cast<int>(rng() % 200);
    const int levels = trial % 3 == 0 ? 5 : 1000;  // coarse scores: many ties
    std::vector<double> scores;
    std::vector<int> labels;
    std::string csv = "bag_id,bag_label,bag_probability,instances\n";
    for (int i = 0; i < n; ++i) {
      labels.push_back(i < 2 ? i : static_cast<int>(rng() % 2));
      scores.push_back(static_cast<double>(rng() % levels) / levels + 0.3 * labels.back());
      csv += fmt_row(i, labels.back(), scores.back());
    }
    write(dir_ / "predictions" / "test.csv", csv);
    const std::string page = render_report(dir_);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(page, m, std::regex("ROC of (\\d+) test bags \\(AUC ([0-9.]+)\\)")));
    EXPECT_EQ(m[1].str(), std::to_string(n));
    // The CSV holds the scores with 17 significant digits, so the page sees these very numbers.
    EXPECT_EQ(m[2].str(), abmil::format_metric(old_report_roc_area(scores, labels))) << "trial " << trial;
  }
}

// ---- config.yaml -----------------------------------------------------------------------------

TEST_F(ReportTest, ThresholdComesFromTheLoadedConfig) {
  write(dir_ / "metrics.json", R"({"test": {"auc": 0.9}})");  // no confusion: counted from the bags
  write(dir_ / "config.yaml", "experiment:\n  name: thr\neval:\n  threshold: 1.0\n");
  std::string page = render_report(dir_);
  EXPECT_NE(page.find("at least the threshold 1.0.</p>"), std::string::npos);
  EXPECT_NE(page.find("TP 0</td><td class=\"bad\">FN 2"), std::string::npos);
  write(dir_ / "config.yaml", "experiment:\n  name: thr\neval:\n  threshold: 0.35\n");
  page = render_report(dir_);
  EXPECT_NE(page.find("at least the threshold 0.35.</p>"), std::string::npos);
  EXPECT_NE(page.find("TP 2</td><td class=\"bad\">FN 0"), std::string::npos);
  EXPECT_NE(page.find("FP 1</td><td class=\"ok\">TN 1"), std::string::npos);
}

TEST_F(ReportTest, ConfigTheLoaderRejectsStillRenders) {
  write(dir_ / "config.yaml", "experiment:\n  name: typo_run\n  sead: 1\neval:\n  threshold: 0.35\n");
  const std::string page = render_report(dir_);
  EXPECT_NE(page.find("<h1>abmil report: " + dir_.filename().string() + "</h1>"), std::string::npos);
  EXPECT_NE(page.find("config.yaml does not load ("), std::string::npos);
  EXPECT_NE(page.find("sead"), std::string::npos);  // the loader's message names the key
  EXPECT_NE(page.find("0.5 (the default)"), std::string::npos);
  EXPECT_NE(page.find("<pre>experiment:"), std::string::npos);  // still shown verbatim
}

// A feature_files run with a heatmap per test slide (abmil visualize): the report embeds those of the
// 3 most confident slides (probability farthest from 0.5) and of the 3 least confident, each group in
// order, and only links the others (other slides, per-branch heatmaps); other pictures stay embedded.
TEST_F(ReportTest, ShowsTheHeatmapsOfTheMostAndLeastConfidentSlides) {
  const std::vector<std::pair<std::string, double>> slides = {{"S_a", 0.99}, {"S_b", 0.01}, {"S_c", 0.95},
                                                              {"S_d", 0.6},  {"S_e", 0.5},  {"S_f", 0.45},
                                                              {"S_g", 0.8},  {"S_h", 0.3}};
  std::string csv =
      "bag_id,bag_name,instance_index,source_index,instance_label,attention_weight,attention_logit,"
      "instance_probability,bag_label,bag_probability,x,y\n";
  const std::string png(reinterpret_cast<const char*>(kPng), sizeof kPng);
  for (size_t i = 0; i < slides.size(); ++i) {
    csv += std::to_string(i) + "," + slides[i].first + ",0,0,,1.0,,,1," + std::to_string(slides[i].second) + ",0,0\n";
    write(dir_ / "visualize" / (slides[i].first + "_heatmap.png"), png);
  }
  write(dir_ / "attention" / "test.csv", csv);
  write(dir_ / "visualize" / "S_a_heatmap_tumor.png", png);
  const std::string page = render_report(dir_);
  auto at = [&](const std::string& text) { return page.find(text); };
  const size_t most = at("Slide heatmaps: most confident test slides"),
               least = at("Slide heatmaps: least confident test slides");
  ASSERT_NE(most, std::string::npos);
  ASSERT_NE(least, std::string::npos);
  auto embedded = [&](const std::string& slide) { return at("alt=\"" + slide + "_heatmap.png\""); };
  EXPECT_LT(most, embedded("S_a"));
  EXPECT_LT(embedded("S_a"), embedded("S_b"));  // 0.99 and 0.01 tie: file order
  EXPECT_LT(embedded("S_b"), embedded("S_c"));
  EXPECT_LT(embedded("S_c"), least);
  EXPECT_LT(least, embedded("S_e"));  // 0.5, then 0.45, then 0.6
  EXPECT_LT(embedded("S_e"), embedded("S_f"));
  EXPECT_LT(embedded("S_f"), embedded("S_d"));
  for (const char* linked : {"S_g_heatmap.png", "S_h_heatmap.png", "S_a_heatmap_tumor.png"}) {
    EXPECT_EQ(at(std::string("alt=\"") + linked), std::string::npos) << linked;
    EXPECT_NE(at(std::string("<a href=\"visualize/") + linked + "\">"), std::string::npos) << linked;
  }
  EXPECT_NE(at("alt=\"bag_0.png\""), std::string::npos);  // other pictures as before
  // slide heatmaps go in as JPEG, each linking its PNG
  EXPECT_NE(at("<img src=\"data:image/jpeg;base64,"), std::string::npos);
  EXPECT_NE(at("<a href=\"visualize/S_a_heatmap.png\">S_a_heatmap.png</a> (bag probability 0.990)"),
            std::string::npos);
}

TEST_F(ReportTest, ReadsTheNameOfTheLoadedConfig) {
  const std::string page = render_report(dir_);
  EXPECT_NE(page.find("<h1>abmil report: demo &lt;b&gt; &amp; co</h1>"), std::string::npos);
  EXPECT_EQ(page.find("does not load"), std::string::npos);
}

}  // namespace
