// data.kind feature_files end to end: a small CLAM-layout data set of three
// classes with planted instances, written here with HDF5's C++ API (and as
// .pt files with LibTorch's pickler), streamed through training, cv and
// predict; case-grouped splits; multi-class metrics and files.
#include <H5Cpp.h>
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "abmil/config/config.h"
#include "abmil/data/errors.h"
#include "abmil/data/folds.h"
#include "abmil/data/kinds.h"
#include "abmil/data/slide_bags.h"
#include "abmil/io/csv_table.h"
#include "abmil/train/trainer.h"
#include "test_util.h"

namespace fs = std::filesystem;
using abmil_test::read_text;
using abmil_test::run_abmil;
using abmil_test::TempDir;
using abmil_test::write_text;

namespace {

constexpr int64_t kDim = 8;

/// One slide: features [n, D] and coords [n, 2].
struct Slide {
  std::string case_id, slide_id, label;
  torch::Tensor features, coords;
  std::vector<int> planted;  ///< per instance: 1 when shifted along its class direction
};

/// 36 slides of 18 cases (two slides a case, same class), classes a, b, c by
/// case; bags of 20-39 instances, |x| ~ N(0,1); a bag of class b or c holds
/// 3-6 instances shifted by 4 along that class's axis (b: feature 0, c:
/// feature 1), so the task is learnable and attention has a right answer.
std::vector<Slide> make_slides() {
  torch::manual_seed(7);
  std::vector<Slide> slides;
  const char* names[] = {"a", "b", "c"};
  for (int c = 0; c < 18; ++c)
    for (int s = 0; s < 2; ++s) {
      Slide sl;
      sl.case_id = fmt::format("case_{:02d}", c);
      sl.slide_id = fmt::format("slide_{:02d}{}", c, s ? "b" : "a");
      const int cls = c % 3;
      sl.label = names[cls];
      const int64_t n = 20 + (c * 7 + s * 3) % 20;
      sl.features = torch::randn({n, kDim}).abs();
      sl.planted.assign(static_cast<size_t>(n), 0);
      if (cls > 0)
        for (int64_t k = 0; k < 3 + (c + s) % 4; ++k) {
          sl.features[k * 3][cls - 1] += 4.0;
          sl.planted[static_cast<size_t>(k * 3)] = 1;
        }
      sl.coords = torch::stack({torch::arange(n) % 6, torch::arange(n) / 6}, 1).to(torch::kInt) * 256;
      slides.push_back(sl);
    }
  return slides;
}

/// Writes a 2-D dataset `name` of `t` (float32 or int32) into `file`.
void write_dataset(H5::H5File& file, const std::string& name, const torch::Tensor& t) {
  const hsize_t dims[2] = {static_cast<hsize_t>(t.size(0)), static_cast<hsize_t>(t.size(1))};
  H5::DataSpace space(2, dims);
  const torch::Tensor c = t.contiguous();
  if (c.scalar_type() == torch::kFloat) {
    file.createDataSet(name, H5::PredType::IEEE_F32LE, space).write(c.data_ptr<float>(), H5::PredType::NATIVE_FLOAT);
  } else {
    file.createDataSet(name, H5::PredType::STD_I32LE, space).write(c.data_ptr<int>(), H5::PredType::NATIVE_INT);
  }
}

/// CLAM's layout in `dir`: h5_files/ and pt_files/, labels.csv, and
/// instance_labels/<slide>.csv.
void write_clam(const fs::path& dir, const std::vector<Slide>& slides) {
  fs::create_directories(dir / "h5_files");
  fs::create_directories(dir / "pt_files");
  std::string list = "case_id,slide_id,label\n";
  for (const Slide& s : slides) {
    H5::H5File file((dir / "h5_files" / (s.slide_id + ".h5")).string(), H5F_ACC_TRUNC);
    write_dataset(file, "features", s.features);
    write_dataset(file, "coords", s.coords);
    const std::vector<char> bytes = torch::pickle_save(s.features);
    write_text(dir / "pt_files" / (s.slide_id + ".pt"), std::string(bytes.begin(), bytes.end()));
    std::string labels;
    for (int y : s.planted) labels += std::to_string(y) + "\n";
    write_text(dir / "instance_labels" / (s.slide_id + ".csv"), labels);
    list += s.case_id + "," + s.slide_id + "," + s.label + "\n";
  }
  write_text(dir / "labels.csv", list);
}

abmil::DataConfig data_config(const fs::path& dir) {
  abmil::DataConfig d;
  d.kind = "feature_files";
  d.bag_list = (dir / "labels.csv").string();
  d.features = dir.string();
  d.instance_labels = (dir / "instance_labels").string();
  d.test_fraction = 0.34;
  d.validation_fraction = 0.2;
  return d;
}

std::string train_config(const fs::path& dir, const std::string& format, const std::string& extra = "") {
  return fmt::format(R"(experiment: {{name: slides, seed: 3}}
data: {{kind: feature_files, bag_list: {0}/labels.csv, features: {0}, feature_format: {1},
       instance_labels: {0}/instance_labels, test_fraction: 0.34, validation_fraction: 0.2}}
model: {{encoder: mlp, hidden_dims: [16], pooling: gated_attention, attention_dim: 8}}
train: {{epochs: 40, optimizer: {{lr: 5.0e-3, weight_decay: 1.0e-5}}, early_stopping: {{patience: 0}}}}
runtime: {{threads: 1, progress: never}}
{2}
)",
                     dir.string(), format, extra);
}

}  // namespace

TEST(SlideBags, SplitsKeepCasesTogetherAndStreamTheExactFeatures) {
  TempDir tmp("slides_split");
  const std::vector<Slide> slides = make_slides();
  write_clam(tmp.path, slides);
  const abmil::MilData data = abmil::load_slide_bags(data_config(tmp.path), 3);
  EXPECT_EQ(data.classes, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(data.num_outputs(), 3);
  EXPECT_EQ(data.instance_shape, (std::vector<int64_t>{kDim}));
  std::map<std::string, std::string> split_of_case;
  std::set<std::string> seen;
  for (const abmil::BagSplit* split : {&data.train, &data.validation, &data.test}) {
    EXPECT_TRUE(split->streamed()) << split->name;
    EXPECT_GT(split->num_bags(), 0) << split->name;
    for (const abmil::Bag& bag : split->bags) {
      EXPECT_TRUE(seen.insert(bag.name).second) << bag.name;
      const Slide& s = slides.at(static_cast<size_t>(bag.id));
      EXPECT_EQ(bag.name, s.slide_id);
      EXPECT_EQ(bag.size(), s.features.size(0));
      EXPECT_EQ(bag.instance_labels, s.planted);
      auto [it, fresh] = split_of_case.emplace(s.case_id, split->name);
      EXPECT_EQ(it->second, split->name) << s.case_id << " is in two splits";
    }
  }
  EXPECT_EQ(seen.size(), slides.size());
  // 18 cases, 6 a class: test = round(0.34 * 6) = 2 cases a class = 12 slides
  EXPECT_EQ(data.test.num_bags(), 12);
  // a batch of two streamed bags holds their files' features, in order
  const abmil::BagBatch batch = abmil::make_batch(data.test, {1, 0});
  const Slide& s1 = slides.at(static_cast<size_t>(data.test.bags[1].id));
  const Slide& s0 = slides.at(static_cast<size_t>(data.test.bags[0].id));
  EXPECT_TRUE(torch::equal(batch.instances, torch::cat({s1.features, s0.features})));
  EXPECT_EQ(batch.labels[0].item<float>(), static_cast<float>(data.test.bags[1].label));
}

TEST(SlideBags, CacheServesABagWhoseFileIsGone) {
  TempDir tmp("slides_cache");
  write_clam(tmp.path, make_slides());
  abmil::DataConfig d = data_config(tmp.path);
  d.cache_mib = 1;
  const abmil::MilData cached = abmil::load_slide_bags(d, 3);
  d.cache_mib = 0;
  const abmil::MilData uncached = abmil::load_slide_bags(d, 3);
  const torch::Tensor first = abmil::bag_instances(cached.train, 0);
  fs::remove(tmp.path / "h5_files" / (cached.train.bags[0].name + ".h5"));
  EXPECT_TRUE(torch::equal(abmil::bag_instances(cached.train, 0), first));
  const std::string file = (tmp.path / "h5_files" / (cached.train.bags[0].name + ".h5")).string();
  EXPECT_EQ(abmil_test::error_of<abmil::DataError>([&] { abmil::bag_instances(uncached.train, 0); }),
            file + ": no such file");
}

TEST(SlideBags, GroupedFoldsNeverDivideACase) {
  // 5 cases of 1-3 bags; labels by case
  const std::vector<std::string> cases = {"p1", "p1", "p2", "p3", "p3", "p3", "p4", "p5", "p5", "p6"};
  const std::vector<int> labels = {0, 0, 1, 2, 2, 2, 0, 1, 1, 2};
  for (const abmil::Fold& f : abmil::grouped_stratified_kfold(labels, cases, 2, 2, 9)) {
    std::set<std::string> test_cases, train_cases;
    for (int64_t p : f.test) test_cases.insert(cases[p]);
    for (int64_t p : f.train) train_cases.insert(cases[p]);
    for (const auto& c : test_cases) EXPECT_FALSE(train_cases.count(c)) << c;
    EXPECT_EQ(f.test.size() + f.train.size(), cases.size());
    // 6 cases, 2 of each class, 2 folds: each fold tests one case of each class
    std::set<int> test_labels;
    for (int64_t p : f.test) test_labels.insert(labels[p]);
    EXPECT_EQ(test_labels, (std::set<int>{0, 1, 2}));
  }
  // one bag a case: the same folds as stratified_kfold
  const std::vector<int> y = {0, 1, 0, 1, 1, 0, 2, 2};
  const std::vector<std::string> own = {"a", "b", "c", "d", "e", "f", "g", "h"};
  const auto grouped = abmil::grouped_stratified_kfold(y, own, 2, 1, 4);
  const auto plain = abmil::stratified_kfold(y, 2, 1, 4);
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_EQ(grouped[i].test, plain[i].test);
  auto [kept, held] = abmil::grouped_stratified_split({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, labels, cases, 0.5, 1);
  for (int64_t h : held)
    for (int64_t k : kept) EXPECT_NE(cases[h], cases[k]);
}

TEST(SlideBags, BagLossWeightsAndMulticlassMetrics) {
  // binary with class weights: sum(w_y l) / sum(w_y)
  const torch::Tensor logits = torch::tensor({0.5, -1.0, 2.0});
  const torch::Tensor y = torch::tensor({1.0, 0.0, 0.0});
  const torch::Tensor l = torch::binary_cross_entropy_with_logits(logits, y, {}, {}, at::Reduction::None);
  const double expected = (3 * l[0].item<double>() + l[1].item<double>() + l[2].item<double>()) / 5;
  EXPECT_NEAR(abmil::bag_loss(logits, y, torch::tensor({1.0, 3.0})).item<double>(), expected, 1e-6);
  EXPECT_NEAR(abmil::bag_loss(logits, y).item<double>(), l.mean().item<double>(), 1e-6);
  // C classes: cross-entropy of log-softmax
  const torch::Tensor z = torch::tensor({{1.0, 2.0, 0.5}, {0.0, 0.0, 3.0}});
  const double ce = -(torch::log_softmax(z, 1)[0][1] + torch::log_softmax(z, 1)[1][0]).item<double>() / 2;
  EXPECT_NEAR(abmil::bag_loss(z, torch::tensor({1, 0})).item<double>(), ce, 1e-6);
  abmil::BagPredictions p;
  p.labels = {1, 0, 2};
  p.class_probabilities = torch::tensor({{0.1, 0.7, 0.2}, {0.2, 0.5, 0.3}, {0.1, 0.1, 0.8}}, torch::kDouble);
  p.probabilities = {0.7, 0.5, 0.8};
  const abmil::ClassificationMetrics m = abmil::prediction_metrics(p, 0.5);
  EXPECT_NEAR(m.accuracy, 2.0 / 3, 1e-12);  // bag 2 predicted b, is a
  EXPECT_NEAR(m.auc, 1.0, 1e-12);           // each class's column ranks its bag first
  p.labels[2] = -1;
  EXPECT_TRUE(std::isnan(abmil::prediction_metrics(p, 0.5).accuracy));
  // multi-label: BCE of each sigmoid, mean over the B x C terms
  const torch::Tensor t = torch::tensor({{1.0, 0.0, 1.0}, {0.0, 0.0, 1.0}});
  const double bce = torch::binary_cross_entropy_with_logits(z, t).item<double>();
  EXPECT_NEAR(abmil::bag_loss(z, t).item<double>(), bce, 1e-6);
  EXPECT_NEAR(bce, (std::log1p(std::exp(-1.0)) + std::log1p(std::exp(2.0)) + std::log1p(std::exp(-0.5)) +
                    std::log(2.0) + std::log(2.0) + std::log1p(std::exp(-3.0))) / 6, 1e-6);
  EXPECT_THROW(abmil::bag_loss(z, t, torch::tensor({1.0, 2.0, 3.0})), std::invalid_argument);
  abmil::BagPredictions ml;
  ml.multi_label = true;
  ml.labels = {1, 1, 0};
  ml.class_probabilities = torch::tensor({{0.9, 0.2}, {0.6, 0.7}, {0.4, 0.1}}, torch::kDouble);
  ml.targets = torch::tensor({{1.0, 0.0}, {1.0, 0.0}, {0.0, 0.0}}, torch::kDouble);
  ml.probabilities = {0.9, 0.7, 0.4};
  const abmil::ClassificationMetrics mm = abmil::prediction_metrics(ml, 0.5);
  EXPECT_NEAR(mm.accuracy, 2.0 / 3, 1e-12);  // bag 1 predicts {0, 1}, holds {0}
  EXPECT_NEAR(mm.f1, (1.0 + 0.0) / 2, 1e-12);  // label 0: F1 1; label 1: one false positive, F1 0
  EXPECT_NEAR(mm.auc, 1.0, 1e-12);             // label 0 ranks its bags first; label 1 has no AUC
}

TEST(SlideBags, TrainsThreeClassesFromH5AndPtAlike) {
  TempDir tmp("slides_train");
  write_clam(tmp.path / "data", make_slides());
  write_text(tmp.path / "h5.yaml", train_config(tmp.path / "data", "h5"));
  write_text(tmp.path / "pt.yaml", train_config(tmp.path / "data", "pt"));
  const auto h5 = run_abmil("train h5.yaml --output run_h5", tmp.path);
  ASSERT_EQ(h5.code, 0) << h5.output;
  const auto pt = run_abmil("train pt.yaml --output run_pt", tmp.path);
  ASSERT_EQ(pt.code, 0) << pt.output;
  const auto m = nlohmann::json::parse(read_text(tmp.path / "run_h5" / "metrics.json"))["test"];
  EXPECT_EQ(m["classes"], nlohmann::json::array({"a", "b", "c"}));
  EXPECT_GE(m["macro_auc"].get<double>(), 0.95) << m.dump();
  EXPECT_GE(m["instance_auc"].get<double>(), 0.9) << m.dump();
  EXPECT_EQ(m["confusion_matrix"].size(), 3u);
  int64_t total = 0;
  for (const auto& row : m["confusion_matrix"])
    for (const auto& x : row) total += x.get<int64_t>();
  EXPECT_EQ(total, 12);
  // the same features from .pt files: the same run, figure for figure
  EXPECT_EQ(read_text(tmp.path / "run_h5" / "predictions" / "test.csv"),
            read_text(tmp.path / "run_pt" / "predictions" / "test.csv"));
  const std::string predictions = read_text(tmp.path / "run_h5" / "predictions" / "test.csv");
  EXPECT_EQ(predictions.substr(0, predictions.find('\n')),
            "bag_id,bag_name,bag_label,bag_probability,instances,predicted_label,p_a,p_b,p_c");
  EXPECT_NE(read_text(tmp.path / "run_h5" / "config.yaml").find("classes: [a, b, c]"), std::string::npos);
  // predict on the bag list with the trained run: the test bags score as in training
  const auto scored = run_abmil("predict run_h5 data/labels.csv --output scored", tmp.path);
  ASSERT_EQ(scored.code, 0) << scored.output;
  const std::string all = read_text(tmp.path / "scored" / "predictions" / "test.csv");
  EXPECT_EQ(std::count(all.begin(), all.end(), '\n'), 37);  // header + 36 slides
  // visualize: one heatmap per test slide (coordinates from the .h5 files' coords), and the report shows
  // those of the most and least confident slides
  const auto drawn = run_abmil("visualize run_h5", tmp.path);
  ASSERT_EQ(drawn.code, 0) << drawn.output;
  int heatmaps = 0;
  for (const auto& e : fs::directory_iterator(tmp.path / "run_h5" / "visualize"))
    heatmaps += e.path().filename().string().find("_heatmap.png") != std::string::npos;
  EXPECT_EQ(heatmaps, 12) << drawn.output;
  const auto report = run_abmil("report run_h5", tmp.path);
  ASSERT_EQ(report.code, 0) << report.output;
  EXPECT_NE(read_text(tmp.path / "run_h5" / "report.html").find("Slide heatmaps: most confident test slides"),
            std::string::npos);
}

TEST(SlideBags, CrossValidatesByCase) {
  TempDir tmp("slides_cv");
  const std::vector<Slide> slides = make_slides();
  write_clam(tmp.path / "data", slides);
  write_text(tmp.path / "cv.yaml",
             train_config(tmp.path / "data", "auto", "cv: {folds: 3, repeats: 1, validation_fraction: 0.2}"));
  const auto cv = run_abmil("cv cv.yaml --output cv_run --jobs 1 --set train.epochs=20", tmp.path);
  ASSERT_EQ(cv.code, 0) << cv.output;
  const auto summary = nlohmann::json::parse(read_text(tmp.path / "cv_run" / "cv_summary.json"));
  EXPECT_EQ(summary["auc"]["n"], 3) << summary.dump();
  EXPECT_GE(summary["auc"]["mean"].get<double>(), 0.9) << summary.dump();  // macro one-vs-rest AUC
  // visualize draws every slide once, from the folds' attention files
  const auto drawn = run_abmil("visualize cv_run", tmp.path);
  ASSERT_EQ(drawn.code, 0) << drawn.output;
  EXPECT_NE(drawn.output.find("wrote 36 pictures (36 slides"), std::string::npos) << drawn.output;
  for (const Slide& s : slides)
    EXPECT_TRUE(fs::is_regular_file(tmp.path / "cv_run" / "visualize" / (s.slide_id + "_heatmap.png"))) << s.slide_id;
  // every slide is tested once, and a case's two slides in the same fold
  std::map<std::string, int> fold_of_slide;
  for (int k = 0; k < 3; ++k) {
    std::istringstream rows(read_text(tmp.path / "cv_run" / "predictions" / fmt::format("r0_f{}.csv", k)));
    std::string line;
    std::getline(rows, line);
    EXPECT_NE(line.find(",p_a,p_b,p_c"), std::string::npos) << line;
    while (std::getline(rows, line)) {
      const size_t a = line.find(','), b = line.find(',', a + 1);
      EXPECT_TRUE(fold_of_slide.emplace(line.substr(a + 1, b - a - 1), k).second) << line;
    }
  }
  ASSERT_EQ(fold_of_slide.size(), slides.size());
  for (int c = 0; c < 18; ++c)
    EXPECT_EQ(fold_of_slide.at(fmt::format("slide_{:02d}a", c)), fold_of_slide.at(fmt::format("slide_{:02d}b", c)));
}

// model.attention_branches per_class (CLAM-MB): trains, scores the true
// class's branch against the planted instances, and the attention CSV
// carries every branch plus each patch's (x, y) from the h5 coords.
TEST(SlideBags, PerClassBranchesAndPatchCoordinatesInTheAttentionCsv) {
  TempDir tmp("slides_branches");
  write_clam(tmp.path / "data", make_slides());
  write_text(tmp.path / "h5.yaml", train_config(tmp.path / "data", "h5"));
  const auto run = run_abmil("train h5.yaml --output run --set model.attention_branches=per_class", tmp.path);
  ASSERT_EQ(run.code, 0) << run.output;
  const auto m = nlohmann::json::parse(read_text(tmp.path / "run" / "metrics.json"))["test"];
  EXPECT_GE(m["macro_auc"].get<double>(), 0.95) << m.dump();
  // the true class's branch ranks the planted instances (12 test slides of 20-39 instances)
  EXPECT_GE(m["instance_auc"].get<double>(), 0.85) << m.dump();
  const abmil::CsvTable t = abmil::read_csv(tmp.path / "run" / "attention" / "test.csv", /*quoted=*/true);
  ASSERT_GE(t.header.size(), 15u);
  EXPECT_EQ(std::vector<std::string>(t.header.end() - 5, t.header.end()),
            (std::vector<std::string>{"x", "y", "attention_a", "attention_b", "attention_c"}));
  const size_t x = t.column("x"), y = t.column("y"), k = t.column("instance_index"), w = t.column("attention_weight");
  ASSERT_FALSE(t.rows.empty());
  std::map<std::string, double> bag_sum_b;
  for (const auto& row : t.rows) {
    const int64_t index = std::stoll(row[k]);
    EXPECT_EQ(row[x], std::to_string(index % 6 * 256));  // make_slides' grid, 6 patches a row
    EXPECT_EQ(row[y], std::to_string(index / 6 * 256));
    // attention_weight is one of the branches' weights (the predicted class's)
    const double a = std::stod(row[w]);
    const double b0 = std::stod(row[t.column("attention_a")]), b1 = std::stod(row[t.column("attention_b")]),
                 b2 = std::stod(row[t.column("attention_c")]);
    EXPECT_TRUE(a == b0 || a == b1 || a == b2) << a << " " << b0 << " " << b1 << " " << b2;
    bag_sum_b[row[t.column("bag_id")]] += b1;
  }
  for (const auto& [bag, sum] : bag_sum_b) EXPECT_NEAR(sum, 1.0, 1e-5) << bag;  // each branch sums to 1 per bag
}

// data.multi_label: `b;c` cells, C sigmoids with BCE; a slide holds b's
// planted instances, c's, both or none.
TEST(SlideBags, TrainsMultiLabelSlides) {
  TempDir tmp("slides_multilabel");
  std::vector<Slide> slides = make_slides();
  torch::manual_seed(11);
  for (size_t i = 0; i < slides.size(); ++i) {  // cases 0..17: none, b, c, b;c in turn, by case
    Slide& s = slides[i];
    const int set = static_cast<int>(i / 2) % 4;
    const int64_t n = s.features.size(0);
    s.features = torch::randn({n, kDim}).abs();
    s.planted.assign(static_cast<size_t>(n), 0);
    s.label = set == 0 ? "" : set == 1 ? "b" : set == 2 ? "c" : "b;c";
    for (int64_t k = 0; k < 4; ++k) {
      if (set & 1) s.features[k * 3][0] += 4.0;
      if (set & 2) s.features[k * 3 + 1][1] += 4.0;
    }
  }
  write_clam(tmp.path / "data", slides);
  write_text(tmp.path / "ml.yaml", train_config(tmp.path / "data", "h5"));
  const auto run = run_abmil("train ml.yaml --output run --set data.multi_label=true", tmp.path);
  ASSERT_EQ(run.code, 0) << run.output;
  const auto m = nlohmann::json::parse(read_text(tmp.path / "run" / "metrics.json"))["test"];
  EXPECT_EQ(m["labels"], nlohmann::json::array({"b", "c"})) << m.dump();
  EXPECT_EQ(m["multi_label"], true);
  EXPECT_GE(m["macro_auc"].get<double>(), 0.95) << m.dump();
  EXPECT_GE(m["exact_match"].get<double>(), 0.75) << m.dump();
  const std::string predictions = read_text(tmp.path / "run" / "predictions" / "test.csv");
  EXPECT_EQ(predictions.substr(0, predictions.find('\n')),
            "bag_id,bag_name,bag_label,bag_probability,instances,labels,predicted_labels,p_b,p_c");
  // class balancing weighs single-label classes: refused before a run directory exists
  const auto balanced =
      run_abmil("train ml.yaml --output run2 --set data.multi_label=true --set train.class_balance=sampler", tmp.path);
  EXPECT_NE(balanced.code, 0);
  EXPECT_NE(balanced.output.find("train.class_balance sampler balances single-label classes; multi-label data "
                                 "(data.multi_label) takes none"),
            std::string::npos)
      << balanced.output;
  EXPECT_FALSE(fs::exists(tmp.path / "run2"));
}

// model.instance_loss ce (CLAM's instance clustering) through `abmil train`:
// with weight 0 the run is the run without it (no dropout here, and the
// instance classifiers are drawn after every other parameter), with CLAM's
// 0.3 it moves training and still learns the classes.
TEST(SlideBags, ClamInstanceLossTrainsAndWeightZeroIsTheBagLossAlone) {
  TempDir tmp("slides_instance_loss");
  write_clam(tmp.path / "data", make_slides());
  write_text(tmp.path / "h5.yaml", train_config(tmp.path / "data", "h5"));
  const auto plain = run_abmil("train h5.yaml --output plain --set train.epochs=8", tmp.path);
  ASSERT_EQ(plain.code, 0) << plain.output;
  const auto zero = run_abmil(
      "train h5.yaml --output zero --set train.epochs=8 --set model.instance_loss=ce --set model.instance_loss_weight=0",
      tmp.path);
  ASSERT_EQ(zero.code, 0) << zero.output;
  EXPECT_EQ(read_text(tmp.path / "zero" / "predictions" / "test.csv"),
            read_text(tmp.path / "plain" / "predictions" / "test.csv"));
  const auto clam = run_abmil(
      "train h5.yaml --output clam --set model.instance_loss=ce --set model.instance_k=4 "
      "--set model.attention_branches=per_class",
      tmp.path);
  ASSERT_EQ(clam.code, 0) << clam.output;
  const auto m = nlohmann::json::parse(read_text(tmp.path / "clam" / "metrics.json"))["test"];
  EXPECT_GE(m["macro_auc"].get<double>(), 0.95) << m.dump();
  const auto clam8 = run_abmil(
      "train h5.yaml --output clam8 --set train.epochs=8 --set model.instance_loss=ce --set model.instance_k=4", tmp.path);
  ASSERT_EQ(clam8.code, 0) << clam8.output;
  EXPECT_NE(read_text(tmp.path / "clam8" / "predictions" / "test.csv"),
            read_text(tmp.path / "plain" / "predictions" / "test.csv"));
}
