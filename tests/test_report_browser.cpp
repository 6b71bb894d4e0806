// The whole look-at-the-attention path on a real (short) run: train,
// visualize, report, then open report.html in headless Chromium and check
// that the page has its sections and that every picture decoded.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "abmil/config/config.h"
#include "abmil/io/run_dir.h"
#include "abmil/train/run.h"
#include "abmil/viz/report.h"
#include "abmil/viz/visualize.h"
#include "test_util.h"

namespace fs = std::filesystem;


TEST(ReportInBrowser, OpensWithEverySectionAndPicture) {
  const fs::path fashion = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(fashion / "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST not found at " << fashion << " (scripts/setup.sh installs it)";
  if (std::system("command -v chromium > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "chromium is not installed and could not be (scripts/setup.sh installs Debian's chromium)";

  abmil_test::TempDir tmp_dir("browser");
  const fs::path& tmp = tmp_dir.path;
  abmil::Config cfg = abmil::load_config(std::string(ABMIL_SOURCE_DIR) + "/configs/default.yaml",
                                         {"data.train_bags=40", "data.test_bags=30", "train.epochs=2",
                                          "train.bags_per_step=8", "runtime.progress=never"});
  cfg.output.dir = (tmp / "run").string();
  std::ostringstream log;
  const abmil::RunSummary run = abmil::run_train(cfg, log);
  abmil::VisualizeOptions viz;
  viz.bag_ids = {0, 1};
  viz.top = 2;
  const auto pictures = abmil::visualize_run(run.run_dir, viz, log);
  ASSERT_GE(pictures.size(), 4u);
  const fs::path html = run.run_dir / "report.html";
  abmil::write_file_atomic(html, abmil::render_report(run.run_dir));

  const fs::path dom = tmp / "dom.html", shot = tmp / "report.png";
  const std::string chromium = "chromium --headless --no-sandbox --disable-gpu --hide-scrollbars ";
  ASSERT_EQ(std::system((chromium + "--virtual-time-budget=10000 --dump-dom 'file://" + html.string() + "' > '" +
                         dom.string() + "' 2> /dev/null").c_str()), 0);
  ASSERT_EQ(std::system((chromium + "--window-size=1280,2000 --screenshot='" + shot.string() + "' 'file://" +
                         html.string() + "' > /dev/null 2>&1").c_str()), 0);
  const std::string page = abmil_test::read_text(dom);
  for (const char* id : {"summary", "metrics", "curves", "roc", "confusion", "attention", "pictures", "config"})
    EXPECT_NE(page.find(std::string("id=\"") + id + "\""), std::string::npos) << "section " << id;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(page, m, std::regex("data-images-loaded=\"(\\d+)/(\\d+)\"")))
      << "the page's load handler did not run";
  EXPECT_EQ(m[1].str(), m[2].str()) << "pictures that did not decode";
  EXPECT_EQ(std::stoul(m[2].str()), pictures.size());
  EXPECT_GT(fs::file_size(shot), 10000u);
}
