// The whole look-at-the-attention path on a real (short) run: train, visualize, report, then
// open report.html in headless Chromium and check what the page shows, from the DOM Chromium
// dumps after loading it (no script of the page is relied on): every section with its title,
// one <img> per picture whose data: URI holds exactly the bytes of a PNG that decodes, the four
// charts, and the test metrics of metrics.json as the page prints them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "abmil/config/config.h"
#include "abmil/io/run_dir.h"
#include "abmil/train/run.h"
#include "abmil/viz/html.h"
#include "abmil/viz/report.h"
#include "abmil/viz/visualize.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace {

// A short real run with pictures and its report.html; returns the run directory.
fs::path run_with_report(const fs::path& tmp, size_t* pictures) {
  abmil::Config cfg = abmil::load_config(std::string(ABMIL_SOURCE_DIR) + "/configs/default.yaml",
                                         {"data.train_bags=40", "data.test_bags=30", "train.epochs=2",
                                          "train.bags_per_step=8", "runtime.progress=never"});
  cfg.output.dir = (tmp / "run").string();
  std::ostringstream log;
  const abmil::RunSummary run = abmil::run_train(cfg, log);
  abmil::VisualizeOptions viz;
  viz.bag_ids = {0, 1};
  viz.top = 2;
  *pictures = abmil::visualize_run(run.run_dir, viz, log).size();
  abmil::write_file_atomic(run.run_dir / "report.html", abmil::render_report(run.run_dir));
  return run.run_dir;
}

// Every match of group 1 of `pattern` in `text`.
std::vector<std::string> all_matches(const std::string& text, const std::string& pattern) {
  std::vector<std::string> out;
  const std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1].str());
  return out;
}

}  // namespace

TEST(ReportInBrowser, ShowsEverySectionPictureAndMetric) {
  const fs::path fashion = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(fashion / "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST not found at " << fashion << " (scripts/setup.sh installs it)";
  if (std::system("command -v chromium > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "chromium is not installed and could not be (scripts/setup.sh installs Debian's chromium)";

  abmil_test::TempDir tmp_dir("browser");
  size_t pictures = 0;
  const fs::path run_dir = run_with_report(tmp_dir.path, &pictures);
  ASSERT_GE(pictures, 4u);
  const fs::path dom_file = tmp_dir.path / "dom.html";
  ASSERT_EQ(std::system(("chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
                         "--run-all-compositor-stages-before-draw --virtual-time-budget=10000 --dump-dom 'file://" +
                         (run_dir / "report.html").string() + "' > '" + dom_file.string() + "' 2> /dev/null")
                            .c_str()),
            0);
  const std::string dom = abmil_test::read_text(dom_file);

  // Sections, in order, with their titles.
  const std::vector<std::string> ids = all_matches(dom, "<section id=\"(\\w+)\">");
  EXPECT_EQ(ids, (std::vector<std::string>{"summary", "metrics", "curves", "roc", "confusion", "attention",
                                           "pictures", "config"}));
  EXPECT_EQ(all_matches(dom, "<h2>([^<]*)</h2>"),
            (std::vector<std::string>{"Summary", "Test metrics", "Training curves", "ROC curve", "Confusion matrix",
                                      "Attention", "Pictures", "Config"}));
  EXPECT_EQ(all_matches(dom, "<svg (class=\"chart\")").size(), 4u) << "loss, AUC, ROC, histogram";

  // One <img> per picture, each the exact bytes of its visualize/ PNG, which decodes.
  const std::vector<std::string> imgs = all_matches(dom, "(<img [^>]*>)");
  EXPECT_EQ(imgs.size(), pictures);
  for (const std::string& img : imgs) {
    std::smatch m;
    ASSERT_TRUE(std::regex_search(img, m, std::regex("src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\" alt=\"([^\"]+)\"")))
        << img.substr(0, 80);
    const std::string bytes = abmil_test::read_text(run_dir / "visualize" / m[2].str());
    ASSERT_FALSE(bytes.empty()) << m[2];
    EXPECT_TRUE(m[1].str() == abmil::base64_encode(bytes)) << m[2] << ": the data: URI is not the file's bytes";
    const cv::Mat png = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1,
                                             const_cast<char*>(bytes.data())),
                                     cv::IMREAD_UNCHANGED);
    EXPECT_GT(png.cols, 0) << m[2] << " does not decode";
    EXPECT_GT(png.rows, 0) << m[2] << " does not decode";
  }

  // The test metrics of metrics.json, as the page prints them (4 decimals) in its table.
  const nlohmann::json metrics = nlohmann::json::parse(abmil_test::read_text(run_dir / "metrics.json"));
  for (const char* key : {"accuracy", "auc", "f1"}) {
    const std::string shown = abmil::format_metric(metrics["test"][key].get<double>());
    EXPECT_NE(dom.find("<td class=\"num\">" + shown + "</td>"), std::string::npos) << key << " " << shown;
  }
  EXPECT_NE(dom.find("<dd>" + abmil::format_metric(metrics["test"]["auc"].get<double>()) + "</dd>"),
            std::string::npos)
      << "the Test AUC card";
}
