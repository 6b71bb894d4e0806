// Tests of abmil/viz/report: the self-contained HTML page of a run directory.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "abmil/viz/report.h"

namespace {

namespace fs = std::filesystem;
using abmil::base64_encode;
using abmil::html_escape;
using abmil::render_report;

// A valid 1x1 RGBA PNG (transparent pixel), 67 bytes.
const unsigned char kPng[] = {
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48,
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

// A fake finished run in a fresh temp folder, removed at the end of the test.
class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("abmil_report_test_" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "_" +
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
    write(dir_ / "visualize" / "bag_0.png",
          std::string(reinterpret_cast<const char*>(kPng), sizeof kPng));
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
  for (const char* id :
       {"summary", "metrics", "curves", "roc", "confusion", "attention", "pictures", "config"})
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
  EXPECT_EQ(page.find("<script src"), std::string::npos);  // the one inline script counts loaded images
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

}  // namespace
