// `abmil predict` and `abmil init` end to end, as a user runs them: every bag
// of an unlabelled feature CSV, image folder and text folder scored with the
// trained run's preprocessing, named by the user's ids; the starters of
// configs/examples/ trained as written; the README's "your own data" commands.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "abmil/io/csv_table.h"
#include "test_util.h"

namespace fs = std::filesystem;
using abmil_test::read_text;
using abmil_test::run_abmil;
using abmil_test::TempDir;
using abmil_test::write_text;

namespace {

/// The header dict of a float32 [rows, cols] .npy padded to `length` bytes (NumPy format 1.0).
std::string fmt_header(int rows, int cols, size_t length) {
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                  std::to_string(cols) + "), }";
  if (h.size() + 1 <= length) h.append(length - h.size() - 1, ' ');
  return h + "\n";
}

/// Bag name -> (bag_label cell, bag_probability) of DIR/predictions/test.csv.
std::map<std::string, std::pair<std::string, double>> predictions(const fs::path& dir) {
  const abmil::CsvTable t = abmil::read_csv(dir / "predictions" / "test.csv", /*quoted=*/true);
  EXPECT_EQ(t.header, (std::vector<std::string>{"bag_id", "bag_name", "bag_label", "bag_probability", "instances"}));
  std::map<std::string, std::pair<std::string, double>> out;
  for (size_t r = 0; r < t.rows.size(); ++r) out[t.rows[r][1]] = {t.rows[r][2], t.number(r, 3)};
  return out;
}

/// Writes a feature CSV of `bags` bags named "patient, N" (a comma: the name
/// must be quoted on output) with 2..5 instances of 3 features: positive
/// (odd N) iff an instance has feature a near 4; feature c has mean 10, std 5.
/// `labels`: the label column; `scale`, `shift`: applied to every feature;
/// `only`: write just that bag (-1: all).
void write_features(const fs::path& path, int bags, bool labels, double scale = 1, double shift = 0, int only = -1) {
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0, 1);
  std::ostringstream out;
  out << (labels ? "bag_id,label,a,b,c\n" : "bag_id,a,b,c\n");
  for (int b = 0; b < bags; ++b) {
    const int label = b % 2, k = 2 + b % 4;
    for (int i = 0; i < k; ++i) {
      const double a = label && i == 0 ? 4 + noise(rng) : noise(rng) - 1, bb = noise(rng), c = 10 + 5 * noise(rng);
      if (only >= 0 && b != only) continue;
      out << "patient_" << b;
      if (labels) out << "," << label;
      out << "," << a * scale + shift << "," << bb * scale + shift << "," << c * scale + shift << "\n";
    }
  }
  write_text(path, out.str());
}

/// 64 x 64 PNGs: image i holds a red 16 x 16 square when odd (positive).
cv::Mat synthetic_image(int i) {
  cv::Mat im(64, 64, CV_8UC3);
  cv::RNG rng(4 + i);
  rng.fill(im, cv::RNG::UNIFORM, cv::Scalar(150, 110, 170), cv::Scalar(200, 150, 210));
  if (i % 2) im(cv::Rect(16 * (i % 3), 16 * (i % 2), 16, 16)).setTo(cv::Scalar(0, 0, 230));
  return im;
}

/// A document of a few sentences; positive ones say "great" in one sentence.
std::string synthetic_document(int i) {
  std::string text;
  for (int s = 0; s < 4; ++s)
    text += (s == i % 4 ? (i % 2 ? "a great film" : "a dull film") : "the plot of the story") + std::string("\n");
  return text;
}

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(read_text(p)); }

}  // namespace

TEST(Predict, FeatureCsvEveryBagTheRunsStatisticsAndTheUsersIds) {
  TempDir tmp("predict_features");
  write_features(tmp.path / "bags.csv", 40, true);
  // no experiment.name: the run is named after the config file
  write_text(tmp.path / "patients.yaml",
             "data: {kind: feature_bags, path: bags.csv}\n"
             "model: {hidden_dims: [16, 8], pooling: attention, attention_dim: 8}\n"
             "train: {epochs: 30, bags_per_step: 4, optimizer: {lr: 0.01}}\n"
             "runtime: {threads: 1, progress: never}\n");
  auto abmil = [&](const std::string& args) { return run_abmil(args, tmp.path); };
  const auto trained = abmil("train patients.yaml");
  ASSERT_EQ(trained.code, 0) << trained.output;
  const fs::path run = tmp.path / "runs" / "patients";
  ASSERT_TRUE(fs::is_regular_file(run / "preprocessing.json")) << trained.output;
  EXPECT_NE(read_text(run / "config.yaml").find("encoder: mlp"), std::string::npos);  // the encoder fits the data
  EXPECT_EQ(read_text(run / "config.yaml").find("patch_size"), std::string::npos);    // image keys left out

  // every bag of an unlabelled file (no label column), named by its bag_id
  write_features(tmp.path / "new.csv", 40, false);
  const auto first = abmil("predict runs/patients new.csv");
  ASSERT_EQ(first.code, 0) << first.output;
  const auto p = predictions(run / "predict");
  ASSERT_EQ(p.size(), 40u);
  EXPECT_EQ(p.count("patient_7"), 1u);
  EXPECT_EQ(p.at("patient_7").first, "");  // no label
  const nlohmann::json m = read_json(run / "predict" / "metrics.json");
  EXPECT_EQ(m["test"]["bags"], 40);
  EXPECT_EQ(m["test"]["labelled_bags"], 0);
  EXPECT_FALSE(m["test"].contains("auc"));
  EXPECT_NE(first.output.find("40 bags scored (not every bag has a label: no metrics)"), std::string::npos)
      << first.output;
  // it learnt: odd patients score higher
  double odd = 0, even = 0;
  for (int b = 0; b < 40; ++b) (b % 2 ? odd : even) += p.at("patient_" + std::to_string(b)).second / 20;
  EXPECT_GT(odd, even + 0.3);

  // a second predict gets a folder of its own
  ASSERT_EQ(abmil("predict runs/patients new.csv").code, 0);
  EXPECT_TRUE(fs::is_regular_file(run / "predict-2" / "metrics.json"));

  // one bag alone scores as it does among the others: the statistics are the run's
  write_features(tmp.path / "one.csv", 40, false, 1, 0, 7);
  ASSERT_EQ(abmil("predict runs/patients one.csv --output one").code, 0);
  const auto alone = predictions(tmp.path / "one");
  ASSERT_EQ(alone.size(), 1u);
  EXPECT_NEAR(alone.at("patient_7").second, p.at("patient_7").second, 1e-6);

  // the same bags scaled by 3 and shifted by 5 are other inputs to the model
  write_features(tmp.path / "scaled.csv", 40, false, 3, 5);
  ASSERT_EQ(abmil("predict runs/patients scaled.csv --output scaled").code, 0);
  const auto scaled = predictions(tmp.path / "scaled");
  double largest = 0;
  for (const auto& [name, v] : p) largest = std::max(largest, std::abs(v.second - scaled.at(name).second));
  EXPECT_GT(largest, 0.05);

  // labelled bags get metrics; the run's own test rows come back unchanged
  ASSERT_EQ(abmil("predict runs/patients bags.csv --output labelled").code, 0);
  const nlohmann::json lm = read_json(tmp.path / "labelled" / "metrics.json");
  EXPECT_EQ(lm["test"]["labelled_bags"], 40);
  EXPECT_GT(lm["test"]["auc"].get<double>(), 0.8);
  EXPECT_TRUE(lm["test"]["instance_precision_at_k"].is_null());  // no instance labels: unknown, not 0
  const auto own = predictions(run);
  for (const auto& [name, v] : own) EXPECT_NEAR(predictions(tmp.path / "labelled").at(name).second, v.second, 1e-6);

  // errors: an --output that is a file, or is taken, before any data is read;
  // other features; an older run
  for (const std::string command : {"train patients.yaml", "cv patients.yaml", "predict runs/patients new.csv"}) {
    const auto file = abmil(command + " --output bags.csv");
    EXPECT_EQ(file.code, 2) << command;
    EXPECT_NE(file.output.find("abmil: error: bags.csv: is a file, not a folder (choose another --output)"),
              std::string::npos)
        << file.output;
  }
  const auto taken = abmil("predict runs/patients new.csv --output one");
  EXPECT_EQ(taken.code, 2);
  EXPECT_NE(taken.output.find("one: output directory exists and is not empty"), std::string::npos) << taken.output;
  write_text(tmp.path / "narrow.csv", "bag_id,a,b\nx,1,2\n");
  const auto narrow = abmil("predict runs/patients narrow.csv --output narrow");
  EXPECT_EQ(narrow.code, 2);
  EXPECT_NE(narrow.output.find("narrow.csv: 2 features per instance, but the run was trained on 3"), std::string::npos)
      << narrow.output;
  EXPECT_FALSE(fs::exists(tmp.path / "narrow"));  // nothing half-written
  fs::remove(run / "preprocessing.json");
  const auto old = abmil("predict runs/patients new.csv --output old");
  EXPECT_EQ(old.code, 2);
  EXPECT_NE(old.output.find("preprocessing.json: missing; the run was trained before abmil saved its feature "
                            "standardisation statistics"),
            std::string::npos)
      << old.output;
}

TEST(Predict, ImageFolderAndTextFolderWithoutLabels) {
  TempDir tmp("predict_images_text");
  auto abmil = [&](const std::string& args) { return run_abmil(args, tmp.path); };
  // writes NAME.yaml (run settings appended) and trains it into runs/NAME
  auto train = [&](const std::string& name, const std::string& sections) {
    write_text(tmp.path / (name + ".yaml"), sections + "runtime: {threads: 1, progress: never}\n");
    const auto trained = abmil("train " + name + ".yaml");
    ASSERT_EQ(trained.code, 0) << trained.output;
  };
  // images: trained from a list, scored from a folder of new images; names are the file names
  fs::create_directories(tmp.path / "train_img");
  std::string list = "path,label\n";
  for (int i = 0; i < 8; ++i) {
    cv::imwrite((tmp.path / "train_img" / ("im" + std::to_string(i) + ".png")).string(), synthetic_image(i));
    list += "train_img/im" + std::to_string(i) + ".png," + std::to_string(i % 2) + "\n";
  }
  write_text(tmp.path / "images.csv", list);
  fs::create_directories(tmp.path / "new images");  // a space in the path
  for (int i = 0; i < 3; ++i)
    cv::imwrite((tmp.path / "new images" / ("slide," + std::to_string(i) + ".png")).string(), synthetic_image(i + 8));
  train("images",
        "data: {kind: image_patches, path: images.csv, patch_size: 16, test_fraction: 0.25, pixel_mean: 0.5, "
        "pixel_std: 0.25}\n"
        "model: {embedding_dim: 16, attention_dim: 8}\n"
        "train: {epochs: 2}\n");
  if (HasFatalFailure()) return;
  const auto scored = abmil("predict runs/images 'new images'");
  ASSERT_EQ(scored.code, 0) << scored.output;
  const auto p = predictions(tmp.path / "runs" / "images" / "predict");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p.count("slide,0.png"), 1u);  // quoted in the CSV, read back whole
  EXPECT_EQ(p.at("slide,2.png").first, "");
  const auto drawn = abmil("visualize runs/images/predict");
  ASSERT_EQ(drawn.code, 0) << drawn.output;
  EXPECT_TRUE(fs::is_regular_file(tmp.path / "runs/images/predict/visualize/slide,1_overlay.png")) << drawn.output;

  // text: trained from pos/ and neg/, scored from a folder of .txt files
  for (int i = 0; i < 16; ++i)
    write_text(tmp.path / "docs" / (i % 2 ? "pos" : "neg") / ("d" + std::to_string(i) + ".txt"), synthetic_document(i));
  for (int i = 0; i < 3; ++i)
    write_text(tmp.path / "inbox" / ("mail" + std::to_string(i) + ".txt"), synthetic_document(i));
  train("reviews",
        "data: {kind: text_bags, path: docs, min_token_frequency: 1}\n"
        "model: {embedding_dim: 16, attention_dim: 8}\n"
        "train: {epochs: 3}\n");
  if (HasFatalFailure()) return;
  ASSERT_EQ(abmil("predict runs/reviews inbox").code, 0);
  const auto t = predictions(tmp.path / "runs" / "reviews" / "predict");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t.count("mail1.txt"), 1u);
  const auto pages = abmil("visualize runs/reviews/predict");
  ASSERT_EQ(pages.code, 0) << pages.output;
  EXPECT_TRUE(fs::is_regular_file(tmp.path / "runs/reviews/predict/visualize/mail1.html")) << pages.output;
  EXPECT_NE(read_text(tmp.path / "runs/reviews/predict/visualize/mail1.html").find("label ?"), std::string::npos);
}

TEST(Init, EveryStarterTrainsAsWritten) {
  // The README's "Your own data" commands, for each kind: init, train, predict.
  TempDir tmp("init_starters");
  auto abmil = [&](const std::string& args) { return run_abmil(args, tmp.path); };
  // the sample data each starter names: bags.csv, images.csv, documents/
  write_features(tmp.path / "my_data" / "bags.csv", 30, true);
  write_features(tmp.path / "new_bags.csv", 30, false);
  std::string list = "path,label\n";
  for (int i = 0; i < 8; ++i) {
    fs::create_directories(tmp.path / "my_data" / "images");
    cv::imwrite((tmp.path / "my_data" / "images" / ("im" + std::to_string(i) + ".png")).string(), synthetic_image(i));
    list += "images/im" + std::to_string(i) + ".png," + std::to_string(i % 2) + "\n";
  }
  write_text(tmp.path / "my_data" / "images.csv", list);
  for (int i = 0; i < 20; ++i)
    write_text(tmp.path / "my_data" / "documents" / (i % 2 ? "pos" : "neg") / ("d" + std::to_string(i) + ".txt"),
               synthetic_document(i) + synthetic_document(i + 2));
  // new bags, unlabelled: a CSV without labels, a folder of images, a folder of documents
  fs::create_directories(tmp.path / "new_images");
  for (int i = 0; i < 3; ++i) {
    cv::imwrite((tmp.path / "new_images" / ("new" + std::to_string(i) + ".png")).string(), synthetic_image(20 + i));
    write_text(tmp.path / "new_documents" / ("new" + std::to_string(i) + ".txt"), synthetic_document(i));
  }
  const std::map<std::string, std::string> new_data = {
      {"feature_bags", "new_bags.csv"}, {"image_patches", "new_images"}, {"text_bags", "new_documents"}};
  for (const std::string kind : {"feature_bags", "image_patches", "text_bags"}) {
    SCOPED_TRACE(kind);
    const auto init = abmil("init " + kind + " my_data");
    ASSERT_EQ(init.code, 0) << init.output;
    EXPECT_EQ(read_text(tmp.path / "my_data" / (kind + ".yaml")),
              read_text(fs::path(abmil_test::source_dir()) / "configs" / "examples" / (kind + ".yaml")));
    const auto trained = abmil("train my_data/" + kind + ".yaml");
    ASSERT_EQ(trained.code, 0) << trained.output;
    EXPECT_TRUE(fs::is_regular_file(tmp.path / "runs" / kind / "metrics.json"));
    const auto scored = abmil("predict runs/" + kind + " " + new_data.at(kind));
    ASSERT_EQ(scored.code, 0) << scored.output;
    EXPECT_EQ(predictions(tmp.path / "runs" / kind / "predict").size(), kind == "feature_bags" ? 30u : 3u);
    EXPECT_EQ(abmil("init " + kind + " my_data").code, 2);  // never overwrites
  }
}

// `abmil embed`: every bag's z as a float32 .npy that numpy reads, rows
// L2-normalised (raw with --raw), an index CSV, and the cosine top-1
// nearest-neighbour accuracy, recomputed here from the written files.
// The run uses pma with one seed: its attention CSV carries the seed's column.
TEST(Embed, NormalizedEmbeddingsAndNearestNeighbourAccuracy) {
  TempDir tmp("embed");
  write_features(tmp.path / "bags.csv", 40, true);
  write_text(tmp.path / "patients.yaml",
             "data: {kind: feature_bags, path: bags.csv}\n"
             "model: {hidden_dims: [16, 8], pooling: pma, heads: 2, normalize_embedding: true}\n"
             "train: {epochs: 30, bags_per_step: 4, optimizer: {lr: 0.01}}\n"
             "runtime: {threads: 1, progress: never}\n");
  auto abmil = [&](const std::string& args) { return run_abmil(args, tmp.path); };
  const auto trained = abmil("train patients.yaml");
  ASSERT_EQ(trained.code, 0) << trained.output;
  const fs::path run = tmp.path / "runs" / "patients";
  const abmil::CsvTable attention = abmil::read_csv(run / "attention" / "test.csv", /*quoted=*/true);
  ASSERT_EQ(attention.header.back(), "attention_seed0");
  for (size_t r = 0; r < attention.rows.size(); ++r)  // one seed: the weight is that seed's
    EXPECT_NEAR(attention.number(r, 5), attention.number(r, attention.header.size() - 1), 1e-7);

  const auto embedded = abmil("embed runs/patients");
  ASSERT_EQ(embedded.code, 0) << embedded.output;
  const fs::path out = run / "embed";
  const std::string npy = read_text(out / "embeddings.npy");
  ASSERT_GT(npy.size(), 10u);
  EXPECT_EQ(npy.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t header = static_cast<unsigned char>(npy[8]) + 256 * static_cast<unsigned char>(npy[9]);
  EXPECT_EQ((10 + header) % 64, 0u);
  EXPECT_EQ(npy.substr(10, header), fmt_header(40, 8, header));
  ASSERT_EQ(npy.size(), 10 + header + 40 * 8 * sizeof(float));
  std::vector<float> z(40 * 8);
  std::memcpy(z.data(), npy.data() + 10 + header, z.size() * sizeof(float));
  for (int b = 0; b < 40; ++b) {
    double norm = 0;
    for (int d = 0; d < 8; ++d) norm += z[b * 8 + d] * z[b * 8 + d];
    EXPECT_NEAR(norm, 1.0, 1e-5) << "row " << b;
  }
  // the index, and the retrieval figure recomputed from it
  const abmil::CsvTable index = abmil::read_csv(out / "embeddings.csv", /*quoted=*/true);
  ASSERT_EQ(index.header, (std::vector<std::string>{"row", "split", "bag_id", "bag_name", "label"}));
  ASSERT_EQ(index.rows.size(), 40u);
  int queries = 0, hits = 0;
  for (size_t q = 0; q < 40; ++q) {
    if (index.rows[q][1] != "test") continue;
    double best = -2;
    size_t nearest = 0;
    for (size_t r = 0; r < 40; ++r) {
      if (index.rows[r][1] == "test") continue;
      double dot = 0;
      for (int d = 0; d < 8; ++d) dot += z[q * 8 + d] * z[r * 8 + d];
      if (dot > best) best = dot, nearest = r;
    }
    ++queries;
    hits += index.rows[nearest][4] == index.rows[q][4];
  }
  const nlohmann::json j = read_json(out / "embed.json");
  ASSERT_GT(queries, 0);
  EXPECT_EQ(j["test_bags"], queries);
  EXPECT_EQ(j["reference_bags"], 40 - queries);
  EXPECT_NEAR(j["top1_accuracy"].get<double>(), static_cast<double>(hits) / queries, 1e-12);
  EXPECT_TRUE(j["normalized"].get<bool>());
  EXPECT_NE(embedded.output.find("top-1 nearest-neighbour accuracy (cosine) of " + std::to_string(queries) +
                                 " test bags against " + std::to_string(40 - queries) + " training bags"),
            std::string::npos)
      << embedded.output;
  // numpy reads it as written
  const int numpy = abmil_test::run_shell("cd " + abmil_test::shell_quote(out.string()) +
                                          " && /usr/bin/python3 -c \"import numpy; a = numpy.load('embeddings.npy'); "
                                          "print(a.dtype, a.shape, round(float((a * a).sum(1).mean()), 4))\" > "
                                          "numpy.txt 2>&1");
  EXPECT_EQ(numpy, 0) << read_text(out / "numpy.txt");
  EXPECT_EQ(read_text(out / "numpy.txt"), "float32 (40, 8) 1.0\n");

  // --raw: the same directions, not unit length
  ASSERT_EQ(abmil("embed runs/patients --raw --output raw").code, 0);
  const std::string raw = read_text(tmp.path / "raw" / "embeddings.npy");
  ASSERT_EQ(raw.size(), npy.size());
  std::vector<float> r(40 * 8);
  std::memcpy(r.data(), raw.data() + 10 + header, r.size() * sizeof(float));
  double norm0 = 0;
  for (int d = 0; d < 8; ++d) norm0 += r[d] * r[d];
  norm0 = std::sqrt(norm0);
  EXPECT_GT(std::abs(norm0 - 1.0), 1e-3);
  for (int d = 0; d < 8; ++d) EXPECT_NEAR(r[d] / norm0, z[d], 1e-5);
  // an existing output folder is refused before anything is read
  EXPECT_EQ(abmil("embed runs/patients --output raw").code, 2);
}
