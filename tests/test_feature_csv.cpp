// Tests of abmil/data/feature_csv: parsing feature-bag CSV files and the
// one-line DataError messages for every kind of malformed file.
#include "abmil/data/feature_csv.h"

#include <gtest/gtest.h>

#include "test_util.h"
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

namespace {

namespace fs = std::filesystem;
using abmil::DataError;
using abmil::read_feature_csv;

// The what() of the DataError thrown by `f`.
std::string data_error(const std::function<void()>& f) { return abmil_test::error_of<DataError>(f); }

class FeatureCsv : public ::testing::Test {
 protected:
  abmil_test::TempDir tmp_{"csv"};
  const fs::path& dir_ = tmp_.path;

  // Writes `text` byte for byte to dir/name; returns the path.
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    abmil_test::write_text(path, text);
    return path;
  }

  // The error message for a file with `text`, with the path prefix replaced by "P".
  std::string error_of(const std::string& text) {
    const std::string path = write("f.csv", text);
    std::string msg = data_error([&] { read_feature_csv(path); });
    if (msg.rfind(path, 0) == 0) msg.replace(0, path.size(), "P");
    return msg;
  }
};

// Three bags (ids 7, 3, x), 5 rows, 2 features.
const std::string kValid =
    "bag_id,label,a,b\n"
    "7,1,1.5,-2\n"
    "7,1,0,3e2\n"
    "3,0,  4 ,+5\n"
    "x,1,-0.25,1E-3\n"
    "x,1,6,7\n";

TEST_F(FeatureCsv, ParsesSmallFile) {
  const auto t = read_feature_csv(write("ok.csv", kValid));
  EXPECT_EQ(t.num_bags(), 3);
  EXPECT_EQ(t.num_rows(), 5);
  EXPECT_EQ(t.dim, 2);
  EXPECT_EQ(t.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t.bag_ids, (std::vector<std::string>{"7", "3", "x"}));
  EXPECT_EQ(t.bag_labels, (std::vector<int>{1, 0, 1}));
  EXPECT_EQ(t.offsets, (std::vector<int64_t>{0, 2, 3, 5}));
  EXPECT_EQ(t.line_numbers, (std::vector<int64_t>{2, 3, 4, 5, 6}));
  EXPECT_EQ(t.features, (std::vector<float>{1.5f, -2, 0, 300, 4, 5, -0.25f, 1e-3f, 6, 7}));
}

TEST_F(FeatureCsv, CrlfNoFinalNewlineTrailingEmptyLinesAndBom) {
  std::string crlf;
  for (char c : kValid) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  const auto ref = read_feature_csv(write("ok.csv", kValid));
  for (const std::string& text :
       {crlf, kValid.substr(0, kValid.size() - 1), kValid + "\n\n", crlf + "\r\n  \r\n", "\xEF\xBB\xBF" + kValid}) {
    const auto t = read_feature_csv(write("v.csv", text));
    EXPECT_EQ(t.features, ref.features);
    EXPECT_EQ(t.offsets, ref.offsets);
    EXPECT_EQ(t.bag_ids, ref.bag_ids);
    EXPECT_EQ(t.bag_labels, ref.bag_labels);
    EXPECT_EQ(t.line_numbers, ref.line_numbers);
    EXPECT_EQ(t.feature_names, ref.feature_names);
  }
}

TEST_F(FeatureCsv, LabelAsDecimalAndTinyValue) {
  const auto t = read_feature_csv(write("v.csv", "bag_id,label,f\nb,1.0,1e-60\nb,1,-1e-60\n"));
  EXPECT_EQ(t.bag_labels, (std::vector<int>{1}));
  EXPECT_EQ(t.features, (std::vector<float>{0.0f, -0.0f}));
}

TEST_F(FeatureCsv, MissingFileOrDirectory) {
  const std::string missing = (dir_ / "nope.csv").string();
  EXPECT_EQ(data_error([&] { read_feature_csv(missing); }),
            missing + ": cannot open feature CSV (data.path): No such file or directory");
  const std::string d = dir_.string();
  EXPECT_EQ(data_error([&] { read_feature_csv(d); }), d + ": cannot open feature CSV (data.path): Is a directory");
}

TEST_F(FeatureCsv, EmptyFile) {
  EXPECT_EQ(error_of(""), "P: empty file, expected a header bag_id,label,f1,...");
  EXPECT_EQ(error_of("\r\n\n"), "P: empty file, expected a header bag_id,label,f1,...");
}

TEST_F(FeatureCsv, BadHeader) {
  EXPECT_EQ(error_of("id,y,f1\n1,0,2\n"), "P:1: header must start with bag_id,label (got 'id,y')");
  EXPECT_EQ(error_of("label,bag_id,f1\n"), "P:1: header must start with bag_id,label (got 'label,bag_id')");
  EXPECT_EQ(error_of("bag_id\n"), "P:1: header has no feature column (expected bag_id,label,f1,...)");
  EXPECT_EQ(error_of("\nbag_id,label,f1\n1,0,2\n"), "P:1: header must start with bag_id,label (got '')");
  EXPECT_EQ(error_of("bag_id,label\n1,0\n"), "P:1: header has no feature column (expected bag_id,label,f1,...)");
}

TEST_F(FeatureCsv, HeaderOnly) {
  EXPECT_EQ(error_of("bag_id,label,f1"), "P: no data rows");
  EXPECT_EQ(error_of("bag_id,label,f1\r\n\r\n"), "P: no data rows");
}

TEST_F(FeatureCsv, RaggedRow) {
  EXPECT_EQ(error_of("bag_id,label,f1,f2\n1,0,1,2\n1,0,1\n"), "P:3: 3 cells, the header has 4");
  EXPECT_EQ(error_of("bag_id,label,f1,f2\n1,0,1,2,\n"), "P:2: 5 cells, the header has 4");
}

TEST_F(FeatureCsv, BadNumbers) {
  const std::string head = "bag_id,label,f1,f2,f3\n1,0,1,2,3\n";
  EXPECT_EQ(error_of(head + "1,0,1,2,abc\n"), "P:3: column f3: 'abc' is not a number");
  EXPECT_EQ(error_of(head + "1,0,1,,3\n"), "P:3: column f2: '' is not a number");
  EXPECT_EQ(error_of(head + "1,0,1,2, \n"), "P:3: column f3: '' is not a number");
  EXPECT_EQ(error_of(head + "1,0,1.5e,2,3\n"), "P:3: column f1: '1.5e' is not a number");
  EXPECT_EQ(error_of(head + "1,0,0x10,2,3\n"), "P:3: column f1: '0x10' is not a number");
  EXPECT_EQ(error_of(head + "1,0,1 2,2,3\n"), "P:3: column f1: '1 2' is not a number");
  EXPECT_EQ(error_of(head + "1,0,1,2,nan\n"), "P:3: column f3: 'nan' is not a finite number");
  EXPECT_EQ(error_of(head + "1,0,1,2,-inf\n"), "P:3: column f3: '-inf' is not a finite number");
  EXPECT_EQ(error_of(head + "1,0,1,2,Infinity\n"), "P:3: column f3: 'Infinity' is not a finite number");
  EXPECT_EQ(error_of(head + "1,0,1e39,2,3\n"), "P:3: column f1: '1e39' is outside the range of a 32-bit float");
  EXPECT_EQ(error_of(head + "1,0,-1e400,2,3\n"), "P:3: column f1: '-1e400' is outside the range of a 32-bit float");
  // Control characters are escaped and long cells cut, so the message stays one line.
  EXPECT_EQ(error_of(head + "1,0,1,2,a\rb\n"), "P:3: column f3: 'a\\x0Db' is not a number");
  EXPECT_EQ(error_of(head + "1,0,1,2," + std::string(50, 'z') + "\n"),
            "P:3: column f3: '" + std::string(40, 'z') + "...' is not a number");
  // An unnamed feature column is named by its 1-based column number.
  EXPECT_EQ(error_of("bag_id,label,,f2\n1,0,x,2\n"), "P:2: column #3: 'x' is not a number");
}

TEST_F(FeatureCsv, BadLabelAndBagId) {
  const std::string head = "bag_id,label,f1\n1,0,1\n";
  EXPECT_EQ(error_of(head + "1,2,1\n"), "P:3: label must be 0 or 1 (got '2')");
  EXPECT_EQ(error_of(head + "1,,1\n"), "P:3: bag '1' has label (none) here but 0 on line 2");
  EXPECT_EQ(error_of(head + "1,yes,1\n"), "P:3: label must be 0 or 1 (got 'yes')");
  EXPECT_EQ(error_of(head + " ,0,1\n"), "P:3: empty bag_id");
}

TEST_F(FeatureCsv, MixedLabelsInBag) {
  std::string text = "bag_id,label,f1\n";
  for (int i = 2; i <= 11; ++i) text += "0,0,1\n";   // lines 2..11: bag 0
  for (int i = 12; i <= 16; ++i) text += "3,1,1\n";  // lines 12..16: bag 3
  text += "3,0,1\n";                                 // line 17
  EXPECT_EQ(error_of(text), "P:17: bag '3' has label 0 here but 1 on line 12");
}

TEST_F(FeatureCsv, BagNotContiguous) {
  std::string text = "bag_id,label,f1\n3,1,1\n3,1,2\n4,0,1\n3,1,1\n";
  EXPECT_EQ(error_of(text), "P:5: bag '3' appears again after other bags (rows of a bag must be together)");
}

TEST_F(FeatureCsv, EmptyLineInTheMiddle) {
  EXPECT_EQ(error_of("bag_id,label,f1\n1,0,1\n\n\n1,0,2\n"), "P:3: empty line");
  EXPECT_EQ(error_of("bag_id,label,f1\r\n1,0,1\r\n \r\n1,0,2\r\n"), "P:3: empty line");
  EXPECT_EQ(error_of("bag_id,label,f1\n\n1,0,2\n"), "P:2: empty line");
}

// A file the size of Musk2 (6598 rows x 166 features), every value checked.
// How fast it reads is a figure, not a test: bench/feature_csv_speed.sh.
TEST_F(FeatureCsv, LargeFile) {
  constexpr int kRows = 6598, kDim = 166, kBagRows = 60;
  auto value = [](int i, int j) { return static_cast<float>((i * 31 + j * 17) % 1000) + 0.25f; };
  std::string text = "bag_id,label";
  for (int j = 1; j <= kDim; ++j) text += ",f" + std::to_string(j);
  text += "\n";
  for (int i = 0; i < kRows; ++i) {
    text += std::to_string(i / kBagRows) + "," + std::to_string((i / kBagRows) % 2);
    for (int j = 0; j < kDim; ++j) text += "," + std::to_string((i * 31 + j * 17) % 1000) + ".25";
    text += "\n";
  }
  const auto t = read_feature_csv(write("big.csv", text));
  EXPECT_EQ(t.num_rows(), kRows);
  EXPECT_EQ(t.num_bags(), 110);  // 109 bags of 60 rows, one of 58
  EXPECT_EQ(t.dim, kDim);
  EXPECT_EQ(t.features[kDim + 1], 48.25f);  // row 1, column 1: 31 + 17 = 48
  ASSERT_EQ(t.features.size(), static_cast<size_t>(kRows) * kDim);
  int wrong = 0;
  for (int i = 0; i < kRows; ++i)
    for (int j = 0; j < kDim; ++j) wrong += t.features[static_cast<size_t>(i) * kDim + j] != value(i, j);
  EXPECT_EQ(wrong, 0);
  ASSERT_EQ(t.bag_labels.size(), 110u);
  for (int b = 0; b < 110; ++b) {
    EXPECT_EQ(t.bag_ids[b], std::to_string(b));
    EXPECT_EQ(t.bag_labels[b], b % 2);
    EXPECT_EQ(t.offsets[b], int64_t{b} * kBagRows);
  }
  EXPECT_EQ(t.offsets.back(), kRows);
  EXPECT_EQ(t.line_numbers.back(), kRows + 1);
}

// Reads $ABMIL_DATA/NAME/NAME.csv and checks its counts, or skips.
void check_real(const std::string& name, int64_t bags, int64_t positive, int64_t rows, int64_t dim) {
  const char* root = std::getenv("ABMIL_DATA");
  const fs::path file = root ? fs::path(root) / name / (name + ".csv") : fs::path();
  if (!root || !fs::exists(file))
    GTEST_SKIP() << "ABMIL_DATA not set or $ABMIL_DATA/" << name << "/" << name
                 << ".csv missing: set ABMIL_DATA to the data-set root to read the real file";
  const auto t = read_feature_csv(file.string());
  EXPECT_EQ(t.num_bags(), bags);
  int64_t pos = 0;
  for (int l : t.bag_labels) pos += l;
  EXPECT_EQ(pos, positive);
  EXPECT_EQ(t.num_rows(), rows);
  EXPECT_EQ(t.dim, dim);
  EXPECT_EQ(static_cast<int64_t>(t.features.size()), rows * dim);
  EXPECT_EQ(t.offsets.back(), rows);
  EXPECT_EQ(t.line_numbers.front(), 2);
  EXPECT_EQ(t.line_numbers.back(), rows + 1);
}

TEST(FeatureCsvReal, Musk1) { check_real("musk1", 92, 47, 476, 166); }
TEST(FeatureCsvReal, Fox) { check_real("fox", 200, 100, 1320, 230); }

}  // namespace
