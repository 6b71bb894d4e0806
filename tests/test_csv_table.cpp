// Tests of abmil/io/csv_table (the reader of a run directory's CSV files) and
// of the attention CSV checks visualize_run makes with it.
#include "abmil/io/csv_table.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "abmil/viz/visualize.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using abmil::CsvTable;
using abmil::read_csv;
using abmil_test::error_of;

class CsvTableTest : public ::testing::Test {
 protected:
  abmil_test::TempDir tmp_{"csv_table"};

  // Writes `text` byte for byte to tmp/name; returns the path.
  fs::path write(const std::string& name, const std::string& text) {
    const fs::path path = tmp_.path / name;
    abmil_test::write_text(path, text);
    return path;
  }

  // The error message of read_csv on a file with `text`, its path replaced by "P".
  std::string read_error(const std::string& text) {
    const fs::path path = write("t.csv", text);
    return with_p(error_of<std::runtime_error>([&] { read_csv(path); }), path);
  }

  // `msg` with a leading `path` replaced by "P".
  static std::string with_p(std::string msg, const fs::path& path) {
    if (msg.rfind(path.string(), 0) == 0) msg.replace(0, path.string().size(), "P");
    return msg;
  }
};

TEST_F(CsvTableTest, ReadsCellsAndLineNumbers) {
  // Leading blank line, CRLF, a blank line between rows, spaces around cells, no final newline.
  const fs::path path = write("t.csv",
                              "\n"
                              "id, x ,label\r\n"
                              "7,1.5,1\r\n"
                              "\r\n"
                              "  \n"
                              "-3,,0\n"
                              "12, -2e3 ,");
  const CsvTable t = read_csv(path);
  EXPECT_EQ(t.path, path);
  EXPECT_EQ(t.header, (std::vector<std::string>{"id", "x", "label"}));
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"7", "1.5", "1"}));
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"-3", "", "0"}));
  EXPECT_EQ(t.rows[2], (std::vector<std::string>{"12", "-2e3", ""}));
  EXPECT_EQ(t.lines, (std::vector<size_t>{3, 6, 7}));

  const size_t id = t.column("id"), x = t.column("x"), label = t.column("label");
  EXPECT_EQ(x, 1u);
  EXPECT_EQ(t.find_column("label"), std::optional<size_t>(2));
  EXPECT_EQ(t.find_column("y"), std::nullopt);
  EXPECT_EQ(t.integer(0, id), 7);
  EXPECT_EQ(t.integer(1, id), -3);
  EXPECT_DOUBLE_EQ(t.number(0, x), 1.5);
  EXPECT_TRUE(std::isnan(t.number(1, x)));
  EXPECT_DOUBLE_EQ(t.number(2, x), -2000);
  EXPECT_EQ(t.label(0, label), 1);
  EXPECT_EQ(t.label(1, label), 0);
  EXPECT_EQ(t.label(2, label), -1);
  EXPECT_EQ(with_p(t.error(1, "bad").what(), path), "P:6: bad");
}

TEST_F(CsvTableTest, HeaderOnlyHasNoRows) {
  const CsvTable t = read_csv(write("t.csv", "a,b\n\n"));
  EXPECT_EQ(t.header, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(t.rows.empty());
  EXPECT_TRUE(t.lines.empty());
}

TEST_F(CsvTableTest, RaggedRowNamesFileLineAndCounts) {
  EXPECT_EQ(read_error("a,b,c\n1,2,3\n\n4,5\n"), "P:4: expected 3 cells, found 2");
  EXPECT_EQ(read_error("a,b\n1,2,\n"), "P:2: expected 2 cells, found 3");
}

TEST_F(CsvTableTest, EmptyFile) {
  EXPECT_EQ(read_error(""), "P:1: empty file, no header");
  EXPECT_EQ(read_error("\r\n  \n\n"), "P:1: empty file, no header");
}

TEST_F(CsvTableTest, MissingFile) {
  const fs::path path = tmp_.path / "absent.csv";
  EXPECT_EQ(with_p(error_of<std::runtime_error>([&] { read_csv(path); }), path), "P: cannot open");
}

TEST_F(CsvTableTest, MissingColumn) {
  const fs::path path = write("t.csv", "a,b\n1,2\n");
  const CsvTable t = read_csv(path);
  EXPECT_EQ(with_p(error_of<std::runtime_error>([&] { t.column("auc"); }), path), "P:1: no column 'auc' in the header");
}

TEST_F(CsvTableTest, BadCellsNameFileLineAndColumn) {
  const fs::path path = write("t.csv", "n,i,y\n\n1.5e,2.5,2\n1 2,,x\n");
  const CsvTable t = read_csv(path);
  auto err = [&](const std::function<void()>& f) { return with_p(error_of<std::runtime_error>(f), path); };
  EXPECT_EQ(err([&] { t.number(0, 0); }), "P:3: '1.5e' is not a number (column 'n')");
  EXPECT_EQ(err([&] { t.number(1, 0); }), "P:4: '1 2' is not a number (column 'n')");
  EXPECT_EQ(err([&] { t.integer(0, 1); }), "P:3: '2.5' is not an integer (column 'i')");
  EXPECT_EQ(err([&] { t.integer(1, 1); }), "P:4: '' is not an integer (column 'i')");
  EXPECT_EQ(err([&] { t.label(0, 2); }), "P:3: '2' is not a 0/1 label (column 'y')");
  EXPECT_EQ(err([&] { t.label(1, 2); }), "P:4: 'x' is not a number (column 'y')");
}

TEST_F(CsvTableTest, QuotedCellsOnlyWhenAskedFor) {
  const fs::path path = write("t.csv",
                              "text,label\n"
                              "\"Great film, really.\",1\n"
                              "  \"She said \"\"no\"\".\"  ,0\n"
                              "\" kept  spaces \",\n"
                              "plain \"quote\" inside,1\r\n"
                              "\"\",\"1\"\n");
  const CsvTable q = read_csv(path, /*quoted=*/true);
  ASSERT_EQ(q.rows.size(), 5u);
  EXPECT_EQ(q.rows[0], (std::vector<std::string>{"Great film, really.", "1"}));
  EXPECT_EQ(q.rows[1], (std::vector<std::string>{"She said \"no\".", "0"}));
  EXPECT_EQ(q.rows[2], (std::vector<std::string>{" kept  spaces ", ""}));
  EXPECT_EQ(q.rows[3], (std::vector<std::string>{"plain \"quote\" inside", "1"}));
  EXPECT_EQ(q.rows[4], (std::vector<std::string>{"", "1"}));
  // Without `quoted` (every other caller) a quote is an ordinary character, as before.
  EXPECT_EQ(with_p(error_of<std::runtime_error>([&] { read_csv(path); }), path), "P:2: expected 2 cells, found 3");
  const CsvTable plain = read_csv(write("u.csv", "a,b\n\"x\",\"y\"\n"));
  EXPECT_EQ(plain.rows[0], (std::vector<std::string>{"\"x\"", "\"y\""}));

  auto quoted_error = [&](const std::string& text) {
    const fs::path p = write("q.csv", text);
    return with_p(error_of<std::runtime_error>([&] { read_csv(p, true); }), p);
  };
  EXPECT_EQ(quoted_error("text,label\n\"open, never closed,1\n"), "P:2: quoted cell not closed on its line");
  EXPECT_EQ(quoted_error("text,label\n\n\"closed\" early,1\n"), "P:3: text after the closing quote of a cell");
  EXPECT_EQ(quoted_error("text,label\n\"a,b\",1,2\n"), "P:2: expected 2 cells, found 3");
}

// visualize_run reads attention/test.csv before it rebuilds any data, so its CSV checks
// can be tested with the default config and no dataset.
class VisualizeAttentionCsv : public CsvTableTest {
 protected:
  const std::string header_ =
      "bag_id,bag_name,instance_index,source_index,instance_label,attention_weight,attention_logit,"
      "instance_probability,bag_label,bag_probability\n";

  void SetUp() override {
    std::ifstream in(std::string(ABMIL_SOURCE_DIR) + "/configs/default.yaml", std::ios::binary);
    std::stringstream config;
    config << in.rdbuf();
    write("config.yaml", config.str());
  }

  // The error of visualize_run with attention/test.csv holding `text`, its path replaced by "P".
  std::string visualize_error(const std::string& text) {
    const fs::path csv = write("attention/test.csv", text);
    std::ostringstream log;
    return with_p(error_of<std::runtime_error>([&] { abmil::visualize_run(tmp_.path, {}, log); }), csv);
  }
};

TEST_F(VisualizeAttentionCsv, MissingFile) {
  std::ostringstream log;
  const std::string msg = error_of<std::runtime_error>([&] { abmil::visualize_run(tmp_.path, {}, log); });
  EXPECT_EQ(msg, (tmp_.path / "attention" / "test.csv").string() +
                     ": cannot read (run `abmil train` with output.save_attention)");
}

TEST_F(VisualizeAttentionCsv, MalformedFilesNameFileAndLine) {
  EXPECT_EQ(visualize_error("bag_id,instance_index\n0,0\n"),
            "P:1: unexpected header (written by another abmil version?)");
  EXPECT_EQ(visualize_error(header_ + "0,a,0,5,1,0.5,,,1,0.9\n0,a,2,6,0,0.5,,,1,0.9\n"),
            "P:3: instance_index out of order");
  EXPECT_EQ(visualize_error(header_ + "0,a,0,5,1,0.5,,,1\n"), "P:2: expected 10 cells, found 9");
  EXPECT_EQ(visualize_error(header_ + "x,a,0,5,1,0.5,,,1,0.9\n"), "P:2: 'x' is not an integer (column 'bag_id')");
  EXPECT_EQ(visualize_error(header_ + "0,a,0,5,1,abc,,,1,0.9\n"),
            "P:2: 'abc' is not a number (column 'attention_weight')");
  EXPECT_EQ(visualize_error(header_ + "0,\"a,\"\"b\",0,5,1,0.5,,,1,\n"), "P:2: empty bag_probability");
}

}  // namespace
