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
  abmil::Config cfg = abmil::load_config(
      std::string(ABMIL_SOURCE_DIR) + "/configs/default.yaml",
      {"data.train_bags=40", "data.test_bags=30", "train.epochs=2", "train.bags_per_step=8", "runtime.progress=never"});
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
  EXPECT_EQ(ids, (std::vector<std::string>{"summary", "metrics", "curves", "roc", "confusion", "attention", "pictures",
                                           "config"}));
  EXPECT_EQ(all_matches(dom, "<h2>([^<]*)</h2>"),
            (std::vector<std::string>{"Summary", "Test metrics", "Training curves", "ROC curve", "Confusion matrix",
                                      "Attention", "Pictures", "Config"}));
  EXPECT_EQ(all_matches(dom, "<svg (class=\"chart\")").size(), 4u) << "loss, AUC, ROC, histogram";

  // One <img> per picture, each the exact bytes of its visualize/ PNG, which decodes. (Found with
  // find, not std::regex: libstdc++'s regex recurses once per character of a long data: URI.)
  const std::string src = "<img src=\"data:image/png;base64,", alt = "\" alt=\"";
  size_t images = 0;
  for (size_t at = dom.find("<img"); at != std::string::npos; at = dom.find("<img", at + 1), ++images) {
    ASSERT_EQ(dom.compare(at, src.size(), src), 0) << dom.substr(at, 80);
    const size_t data = at + src.size(), data_end = dom.find(alt, data);
    const size_t name_end = dom.find('"', data_end + alt.size());
    ASSERT_NE(name_end, std::string::npos);
    const std::string name = dom.substr(data_end + alt.size(), name_end - data_end - alt.size());
    const std::string bytes = abmil_test::read_text(run_dir / "visualize" / name);
    ASSERT_FALSE(bytes.empty()) << name;
    EXPECT_TRUE(dom.compare(data, data_end - data, abmil::base64_encode(bytes)) == 0)
        << name << ": the data: URI is not the file's bytes";
    const cv::Mat png = cv::imdecode(
        cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data())), cv::IMREAD_UNCHANGED);
    EXPECT_GT(png.cols, 0) << name << " does not decode";
    EXPECT_GT(png.rows, 0) << name << " does not decode";
  }
  EXPECT_EQ(images, pictures);

  // The test metrics of metrics.json, as the page prints them (4 decimals) in its table.
  const nlohmann::json metrics = nlohmann::json::parse(abmil_test::read_text(run_dir / "metrics.json"));
  for (const char* key : {"accuracy", "auc", "f1"}) {
    const std::string shown = abmil::format_metric(metrics["test"][key].get<double>());
    EXPECT_NE(dom.find("<td class=\"num\">" + shown + "</td>"), std::string::npos) << key << " " << shown;
  }
  EXPECT_NE(dom.find("<dd>" + abmil::format_metric(metrics["test"]["auc"].get<double>()) + "</dd>"), std::string::npos)
      << "the Test AUC card";
}
