// Tests of the typed configuration: defaults, parsing of every section, the
// one-line error messages (unknown key, wrong type, range, choices, malformed
// YAML, environment variables), `--set` overrides, the YAML round trip, the
// reference table, and the shipped configs (configs/, experiments/*/configs/).

#include "abmil/config/config.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "test_util.h"

namespace abmil {
namespace {

/// The message of the ConfigError that parsing `yaml` (as "cfg.yaml") with
/// `overrides` throws; "<nothing thrown>" (so a failing comparison) when none is.
std::string config_error(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return abmil_test::error_of<ConfigError>([&] { parse_config(yaml, "cfg.yaml", overrides); });
}

/// Expects every field of `a` and `b` to be equal (doubles bit for bit).
void expect_same(const Config& a, const Config& b) {
  EXPECT_EQ(a.experiment.name, b.experiment.name);
  EXPECT_EQ(a.experiment.seed, b.experiment.seed);
  EXPECT_EQ(a.data.kind, b.data.kind);
  EXPECT_EQ(a.data.root, b.data.root);
  EXPECT_EQ(a.data.target, b.data.target);
  EXPECT_EQ(a.data.protocol, b.data.protocol);
  EXPECT_EQ(a.data.bag_size_mean, b.data.bag_size_mean);
  EXPECT_EQ(a.data.bag_size_std, b.data.bag_size_std);
  EXPECT_EQ(a.data.train_bags, b.data.train_bags);
  EXPECT_EQ(a.data.test_bags, b.data.test_bags);
  EXPECT_EQ(a.data.validation_fraction, b.data.validation_fraction);
  EXPECT_EQ(a.data.pixel_mean, b.data.pixel_mean);
  EXPECT_EQ(a.data.pixel_std, b.data.pixel_std);
  EXPECT_EQ(a.model.encoder, b.model.encoder);
  EXPECT_EQ(a.model.embedding_dim, b.model.embedding_dim);
  EXPECT_EQ(a.model.pooling, b.model.pooling);
  EXPECT_EQ(a.model.attention_dim, b.model.attention_dim);
  EXPECT_EQ(a.model.classifier, b.model.classifier);
  EXPECT_EQ(a.train.epochs, b.train.epochs);
  EXPECT_EQ(a.train.bags_per_step, b.train.bags_per_step);
  EXPECT_EQ(a.train.optimizer.kind, b.train.optimizer.kind);
  EXPECT_EQ(a.train.optimizer.lr, b.train.optimizer.lr);
  EXPECT_EQ(a.train.optimizer.betas, b.train.optimizer.betas);
  EXPECT_EQ(a.train.optimizer.weight_decay, b.train.optimizer.weight_decay);
  EXPECT_EQ(a.train.early_stopping.patience, b.train.early_stopping.patience);
  EXPECT_EQ(a.train.early_stopping.min_delta, b.train.early_stopping.min_delta);
  EXPECT_EQ(a.eval.threshold, b.eval.threshold);
  EXPECT_EQ(a.eval.max_instances_per_pass, b.eval.max_instances_per_pass);
  EXPECT_EQ(a.runtime.threads, b.runtime.threads);
  EXPECT_EQ(a.runtime.device, b.runtime.device);
  EXPECT_EQ(a.runtime.progress, b.runtime.progress);
  EXPECT_EQ(a.output.dir, b.output.dir);
  EXPECT_EQ(a.output.save_attention, b.output.save_attention);
  EXPECT_EQ(a.output.save_checkpoint, b.output.save_checkpoint);
}

using abmil_test::TempDir;

TEST(Config, EmptyYamlGivesDefaults) {
  for (const std::string text : {"", "# only a comment\n", "~\n"}) {
    const Config c = parse_config(text, "cfg.yaml");
    Config defaults;
    defaults.experiment.name = "cfg";  // a run without experiment.name is named after its config file
    expect_same(c, defaults);
    EXPECT_EQ(c.train.epochs, 50);
    EXPECT_EQ(c.model.pooling, "gated_attention");
    EXPECT_EQ(c.train.optimizer.lr, 5e-4);
    EXPECT_EQ(c.train.optimizer.betas, (std::vector<double>{0.9, 0.999}));
  }
}

TEST(Config, EmptySectionKeepsDefaults) {
  const Config c = parse_config("train:\nmodel:\n  pooling: mean\n", "cfg.yaml");
  EXPECT_EQ(c.train.epochs, 50);
  EXPECT_EQ(c.model.pooling, "mean");
}

TEST(Config, FullFileFillsEveryField) {
  const std::string yaml = R"(
experiment:
  name: run7
  seed: 42
data:
  kind: mnist_bags
  root: /data/mnist
  target: 3
  protocol: simple
  bag_size_mean: 50
  bag_size_std: 10.5
  train_bags: 500
  test_bags: 100
  validation_fraction: 0.2
  pixel_mean: -0.5
  pixel_std: 1.5
model:
  encoder: lenet5
  embedding_dim: 256
  pooling: instance_max
  attention_dim: 64
  classifier: linear
train:
  epochs: 20
  bags_per_step: 4
  optimizer:
    kind: adam
    lr: 1e-3
    betas: [0.8, 0.99]
    weight_decay: 0
  early_stopping:
    patience: 0
    min_delta: 0.001
eval:
  threshold: 0.75
  max_instances_per_pass: 1024
runtime:
  threads: 8
  device: cuda
  progress: never
output:
  dir: runs/custom
  save_attention: false
  save_checkpoint: False
)";
  const Config c = parse_config(yaml, "cfg.yaml");
  EXPECT_EQ(c.experiment.name, "run7");
  EXPECT_EQ(c.experiment.seed, 42);
  EXPECT_EQ(c.data.kind, "mnist_bags");
  EXPECT_EQ(c.data.root, "/data/mnist");
  EXPECT_EQ(c.data.target, 3);
  EXPECT_EQ(c.data.protocol, "simple");
  EXPECT_EQ(c.data.bag_size_mean, 50.0);
  EXPECT_EQ(c.data.bag_size_std, 10.5);
  EXPECT_EQ(c.data.train_bags, 500);
  EXPECT_EQ(c.data.test_bags, 100);
  EXPECT_EQ(c.data.validation_fraction, 0.2);
  EXPECT_EQ(c.data.pixel_mean, -0.5);
  EXPECT_EQ(c.data.pixel_std, 1.5);
  EXPECT_EQ(c.model.encoder, "lenet5");
  EXPECT_EQ(c.model.embedding_dim, 256);
  EXPECT_EQ(c.model.pooling, "instance_max");
  EXPECT_EQ(c.model.attention_dim, 64);
  EXPECT_EQ(c.model.classifier, "linear");
  EXPECT_EQ(c.train.epochs, 20);
  EXPECT_EQ(c.train.bags_per_step, 4);
  EXPECT_EQ(c.train.optimizer.kind, "adam");
  EXPECT_EQ(c.train.optimizer.lr, 1e-3);
  EXPECT_EQ(c.train.optimizer.betas, (std::vector<double>{0.8, 0.99}));
  EXPECT_EQ(c.train.optimizer.weight_decay, 0.0);
  EXPECT_EQ(c.train.early_stopping.patience, 0);
  EXPECT_EQ(c.train.early_stopping.min_delta, 0.001);
  EXPECT_EQ(c.eval.threshold, 0.75);
  EXPECT_EQ(c.eval.max_instances_per_pass, 1024);
  EXPECT_EQ(c.runtime.threads, 8);
  EXPECT_EQ(c.runtime.device, "cuda");
  EXPECT_EQ(c.runtime.progress, "never");
  EXPECT_EQ(c.output.dir, "runs/custom");
  EXPECT_FALSE(c.output.save_attention);
  EXPECT_FALSE(c.output.save_checkpoint);
}

TEST(Config, UnknownKeySuggestsTheClosestKey) {
  EXPECT_EQ(config_error("experiment:\n  seed: 3\ntrain:\n  epoch: 5\n"),
            "cfg.yaml:4: unknown key 'train.epoch' (did you mean 'train.epochs'?)");
  // A key in the wrong section is found by its last component.
  EXPECT_EQ(config_error("train:\n  lr: 0.1\n"),
            "cfg.yaml:2: unknown key 'train.lr' (did you mean 'train.optimizer.lr'?)");
  // A misspelt section.
  EXPECT_EQ(config_error("\n\ntrian:\n  epochs: 5\n"), "cfg.yaml:3: unknown key 'trian' (did you mean 'train'?)");
}

TEST(Config, UnknownKeyWithoutNearMatchHasNoSuggestion) {
  EXPECT_EQ(config_error("model:\n  frobnicate_everything: 1\n"),
            "cfg.yaml:2: unknown key 'model.frobnicate_everything'");
  EXPECT_EQ(config_error("zzzzzzzz: 1\n"), "cfg.yaml:1: unknown key 'zzzzzzzz'");
}

TEST(Config, IntegerRejectsStringsFloatsAndQuotedNumbers) {
  EXPECT_EQ(config_error("train:\n  bags_per_step: 2\n  epochs: ten\n"),
            "cfg.yaml:3: train.epochs: expected an integer, got 'ten'");
  EXPECT_EQ(config_error("train:\n  epochs: 2.5\n"), "cfg.yaml:2: train.epochs: expected an integer, got '2.5'");
  EXPECT_EQ(config_error("train:\n  epochs: \"10\"\n"),
            "cfg.yaml:2: train.epochs: expected an integer, got '10' (quoted, so a string)");
  EXPECT_EQ(config_error("train:\n  epochs:\n"), "cfg.yaml:2: train.epochs: expected an integer, got nothing");
  EXPECT_EQ(config_error("train:\n  epochs: {a: 1}\n"), "cfg.yaml:2: train.epochs: expected an integer, got a map");
  EXPECT_EQ(config_error("experiment:\n  seed: 99999999999999999999\n"),
            "cfg.yaml:2: experiment.seed: 99999999999999999999 is out of range (must fit in a 64-bit integer)");
}

TEST(Config, OtherTypesAreChecked) {
  EXPECT_EQ(config_error("eval:\n  threshold: high\n"), "cfg.yaml:2: eval.threshold: expected a number, got 'high'");
  EXPECT_EQ(config_error("eval:\n  threshold: .nan\n"), "cfg.yaml:2: eval.threshold: expected a number, got '.nan'");
  EXPECT_EQ(config_error("output:\n  save_attention: yes\n"),
            "cfg.yaml:2: output.save_attention: expected true or false, got 'yes'");
  EXPECT_EQ(config_error("experiment:\n  name: [a, b]\n"),
            "cfg.yaml:2: experiment.name: expected a string, got a list");
  EXPECT_EQ(config_error("train:\n  optimizer:\n    betas: 0.9\n"),
            "cfg.yaml:3: train.optimizer.betas: expected a list of 2 numbers, got '0.9'");
  EXPECT_EQ(config_error("train:\n  optimizer:\n    betas:\n      - 0.9\n      - x\n"),
            "cfg.yaml:5: train.optimizer.betas[1]: expected a number, got 'x'");
  EXPECT_EQ(config_error("train:\n  optimizer:\n    betas: [0.9]\n"),
            "cfg.yaml:3: train.optimizer.betas: expected exactly 2 numbers, got 1");
  // Integers are numbers; strings accept any scalar.
  const Config c = parse_config("eval:\n  threshold: 1\nexperiment:\n  name: 123\n", "cfg.yaml");
  EXPECT_EQ(c.eval.threshold, 1.0);
  EXPECT_EQ(c.experiment.name, "123");
}

TEST(Config, OutOfRange) {
  EXPECT_EQ(config_error("train:\n  epochs: 0\n"), "cfg.yaml:2: train.epochs: 0 is out of range (must be >= 1)");
  EXPECT_EQ(config_error("data:\n  target: 10\n"), "cfg.yaml:2: data.target: 10 is out of range (must be in [0, 9])");
  EXPECT_EQ(config_error("data:\n  bag_size_mean: 0\n"),
            "cfg.yaml:2: data.bag_size_mean: 0 is out of range (must be in (0, 10000])");
  EXPECT_EQ(config_error("data:\n  validation_fraction: 0.95\n"),
            "cfg.yaml:2: data.validation_fraction: 0.95 is out of range (must be in [0, 0.9])");
  EXPECT_EQ(config_error("train:\n  optimizer:\n    lr: -1e-3\n"),
            "cfg.yaml:3: train.optimizer.lr: -0.001 is out of range (must be > 0)");
  EXPECT_EQ(config_error("train:\n  optimizer:\n    betas: [0.9, 1]\n"),
            "cfg.yaml:3: train.optimizer.betas[1]: 1 is out of range (must be in [0, 1))");
  // The bounds themselves are accepted where the interval is closed.
  const Config c = parse_config("data:\n  target: 0\n  validation_fraction: 0.9\neval:\n  threshold: 1\n", "cfg.yaml");
  EXPECT_EQ(c.data.target, 0);
  EXPECT_EQ(c.data.validation_fraction, 0.9);
}

TEST(Config, BadChoiceSuggestsTheIntendedOne) {
  EXPECT_EQ(config_error("model:\n  embedding_dim: 10\n  pooling: gated\n"),
            "cfg.yaml:3: model.pooling: 'gated' is not one of gated_attention, attention, mean, max, lse, topk_mean, "
            "multihead_gated_attention, pma, transformer, dsmil, instance_max, instance_mean (did you mean "
            "'gated_attention'?)");
  EXPECT_EQ(config_error("runtime:\n  device: CUDA\n"),
            "cfg.yaml:2: runtime.device: 'CUDA' is not one of cpu, cuda (did you mean 'cuda'?)");
  EXPECT_EQ(config_error("runtime:\n  device: tpu-pod-v5\n"),
            "cfg.yaml:2: runtime.device: 'tpu-pod-v5' is not one of cpu, cuda");
}

TEST(Config, SectionGivenAsScalarOrRootNotAMap) {
  EXPECT_EQ(config_error("experiment:\n  seed: 1\ntrain: 5\n"),
            "cfg.yaml:3: train: expected a map of keys (a section), got '5'");
  EXPECT_EQ(config_error("train:\n  optimizer: adam\n"),
            "cfg.yaml:2: train.optimizer: expected a map of keys (a section), got 'adam'");
  EXPECT_EQ(config_error("- 1\n- 2\n"), "cfg.yaml:1: expected a map of sections at the top level, got a list");
}

TEST(Config, DuplicateKey) {
  EXPECT_EQ(config_error("train:\n  epochs: 3\n  epochs: 4\n"), "cfg.yaml:3: duplicate key 'train.epochs'");
}

TEST(Config, MalformedYamlReportsALine) {
  const std::string message = config_error("train:\n  epochs: 5\n  optimizer: {lr: 0.1\n");
  EXPECT_EQ(message.rfind("cfg.yaml:", 0), 0u) << message;
  EXPECT_NE(message.find(": malformed YAML: "), std::string::npos) << message;
  const int line = std::stoi(message.substr(std::string("cfg.yaml:").size()));
  EXPECT_GE(line, 3) << message;
  EXPECT_EQ(config_error("a: b: c\n"), "cfg.yaml:1: malformed YAML: illegal map value");
}

// Found by fuzz/fuzz_config: yaml-cpp 0.7's LoadAll allocates empty documents
// without end on a stray ',' at the top level; abmil stops with a line instead.
TEST(Config, StrayCommaIsAnErrorNotAHang) {
  const std::string stray =
      "cfg.yaml:{}: malformed YAML: the parser makes no progress here (a stray ',' outside [] or {{}}?)";
  EXPECT_EQ(config_error(","), fmt::format(stray, 1));
  EXPECT_EQ(config_error("experiment: {seed: 2}\n---\n,"), fmt::format(stray, 3));
}

TEST(Config, OverridesApplyAfterTheFileInOrder) {
  const Config c =
      parse_config("train:\n  epochs: 5\n", "cfg.yaml",
                   {"train.epochs=7", "train.optimizer.lr=1e-3", "train.optimizer.betas=[0.5, 0.75]", "data.root=/x/y",
                    "experiment.name=first", "experiment.name=second", "output.save_attention=false", "output.dir="});
  EXPECT_EQ(c.train.epochs, 7);
  EXPECT_EQ(c.train.optimizer.lr, 1e-3);
  EXPECT_EQ(c.train.optimizer.betas, (std::vector<double>{0.5, 0.75}));
  EXPECT_EQ(c.data.root, "/x/y");
  EXPECT_EQ(c.experiment.name, "second");
  EXPECT_FALSE(c.output.save_attention);
  EXPECT_EQ(c.output.dir, "");
  // A whole section as a YAML map.
  const Config d = parse_config("", "cfg.yaml", {"train.early_stopping={patience: 3, min_delta: 0.5}"});
  EXPECT_EQ(d.train.early_stopping.patience, 3);
  EXPECT_EQ(d.train.early_stopping.min_delta, 0.5);
}

TEST(Config, OverrideErrors) {
  EXPECT_EQ(config_error("", {"train.epochs"}), "--set train.epochs: expected KEY=VALUE, e.g. --set train.epochs=10");
  EXPECT_EQ(config_error("", {"train.epoch=5"}),
            "--set train.epoch=5: unknown key 'train.epoch' (did you mean 'train.epochs'?)");
  EXPECT_EQ(config_error("", {"train.epochs=ten"}),
            "--set train.epochs=ten: train.epochs: expected an integer, got 'ten'");
  EXPECT_EQ(config_error("", {"train.epochs=0"}),
            "--set train.epochs=0: train.epochs: 0 is out of range (must be >= 1)");
  EXPECT_EQ(
      config_error("", {"train.optimizer.betas=[0.9"}).rfind("--set train.optimizer.betas=[0.9: malformed YAML: ", 0),
      0u);
  // The file is checked before the overrides.
  EXPECT_EQ(config_error("train:\n  epochs: x\n", {"train.epochs=3"}),
            "cfg.yaml:2: train.epochs: expected an integer, got 'x'");
}

TEST(Config, EnvironmentVariablesAreExpanded) {
  ASSERT_EQ(::setenv("ABMIL_TEST_DATA", "/mnt/data", 1), 0);
  const Config c = parse_config("data:\n  root: ${ABMIL_TEST_DATA}/fmnist\nexperiment:\n  name: a$b\n", "cfg.yaml",
                                {"output.dir=${ABMIL_TEST_DATA}/runs"});
  EXPECT_EQ(c.data.root, "/mnt/data/fmnist");
  EXPECT_EQ(c.experiment.name, "a$b");  // a lone '$' stays
  EXPECT_EQ(c.output.dir, "/mnt/data/runs");
  ::unsetenv("ABMIL_TEST_DATA");
}

TEST(Config, UnsetEnvironmentVariableIsAnError) {
  ::unsetenv("ABMIL_TEST_UNSET");
  EXPECT_EQ(config_error("experiment:\n  seed: 2\ndata:\n  root: ${ABMIL_TEST_UNSET}/x\n"),
            "cfg.yaml:4: data.root: environment variable ABMIL_TEST_UNSET is not set");
  EXPECT_EQ(config_error("data:\n  root: ${ABMIL_TEST_UNSET\n"),
            "cfg.yaml:2: data.root: malformed variable reference '${ABMIL_TEST_UNSET' (expected ${NAME})");
}

TEST(Config, YamlRoundTripIsExact) {
  Config c;
  c.experiment.name = "round trip: yes";  // needs quoting
  c.experiment.seed = 123456789012345;
  c.data.root = "";
  c.data.target = 0;
  c.data.protocol = "simple";
  c.data.bag_size_mean = 12.0;
  c.data.bag_size_std = 1.0 / 3.0;
  c.data.train_bags = 64;
  c.data.test_bags = 2;
  c.data.validation_fraction = 0.1;
  c.data.pixel_mean = -0.2860;
  c.data.pixel_std = 0.3530;
  c.model.embedding_dim = 32;
  c.model.pooling = "attention";
  c.model.attention_dim = 16;
  c.train.epochs = 3;
  c.train.bags_per_step = 8;
  c.train.optimizer.lr = 5e-4;
  c.train.optimizer.betas = {0.1, 0.9999};
  c.train.optimizer.weight_decay = 1e-10;
  c.train.early_stopping.patience = 0;
  c.train.early_stopping.min_delta = 1e-300;
  c.eval.threshold = 0.3;
  c.eval.max_instances_per_pass = 7;
  c.runtime.threads = 2;
  c.runtime.device = "cuda";
  c.runtime.progress = "always";
  c.output.dir = "null";  // must not read back as a YAML null
  c.output.save_attention = false;
  c.output.save_checkpoint = false;
  const std::string yaml = config_to_yaml(c);
  const Config back = parse_config(yaml, "round_trip.yaml");
  expect_same(back, c);
  EXPECT_EQ(config_to_yaml(back), yaml);
  EXPECT_NE(yaml.find("lr: 0.0005"), std::string::npos) << yaml;  // shortest text, not 0.00050000000000000001
  EXPECT_NE(yaml.find("betas: [0.1, 0.9999]"), std::string::npos) << yaml;
  // The defaults round-trip too, nested by section.
  const std::string defaults = config_to_yaml(Config{});
  expect_same(parse_config(defaults, "defaults.yaml"), Config{});
  EXPECT_NE(defaults.find("train:\n  epochs: 50\n"), std::string::npos) << defaults;
  EXPECT_NE(defaults.find("\n  early_stopping:\n    patience: 10\n"), std::string::npos) << defaults;
}

TEST(Config, ReferenceListsEveryKey) {
  const std::string ref = config_reference();
  for (const char* key : {"experiment.name",
                          "experiment.seed",
                          "data.kind",
                          "data.path",
                          "data.bag_list",
                          "data.features",
                          "data.feature_format",
                          "data.classes",
                          "data.multi_label",
                          "data.case_column",
                          "data.slide_column",
                          "data.label_column",
                          "data.split_csv",
                          "data.instance_labels",
                          "data.slide_dir",
                          "data.cache_mib",
                          "data.verify_features",
                          "data.standardize",
                          "data.test_fraction",
                          "data.root",
                          "data.target",
                          "data.targets",
                          "data.protocol",
                          "data.bag_size_mean",
                          "data.bag_size_std",
                          "data.train_bags",
                          "data.test_bags",
                          "data.validation_fraction",
                          "data.pixel_mean",
                          "data.pixel_std",
                          "data.image_root",
                          "data.patch_size",
                          "data.patch_stride",
                          "data.white_level",
                          "data.max_white_fraction",
                          "data.augment.rotate_flip",
                          "data.augment.he_jitter_std",
                          "data.positive_folder",
                          "data.negative_folder",
                          "data.sentence_split",
                          "data.min_token_frequency",
                          "data.max_vocabulary",
                          "data.max_tokens_per_sentence",
                          "data.max_sentences_per_document",
                          "data.empty_documents",
                          "data.text_instances",
                          "model.encoder",
                          "model.hidden_dims",
                          "model.dropout",
                          "model.embedding_dim",
                          "model.pooling",
                          "model.attention_dim",
                          "model.attention_dropout",
                          "model.attention_branches",
                          "model.heads",
                          "model.merge",
                          "model.seeds",
                          "model.layers",
                          "model.transformer_memory_mib",
                          "model.lse_r",
                          "model.pool_k",
                          "model.max_instance_loss_weight",
                          "model.normalize_embedding",
                          "model.token_pooling",
                          "model.word_dropout",
                          "model.classifier",
                          "train.epochs",
                          "train.bags_per_step",
                          "train.checkpoint_every",
                          "train.optimizer.kind",
                          "train.optimizer.lr",
                          "train.optimizer.betas",
                          "train.optimizer.weight_decay",
                          "train.class_balance",
                          "train.early_stopping.patience",
                          "train.early_stopping.min_delta",
                          "train.early_stopping.start_epoch",
                          "eval.threshold",
                          "eval.max_instances_per_pass",
                          "eval.top_k",
                          "cv.folds",
                          "cv.repeats",
                          "cv.validation_fraction",
                          "cv.split",
                          "runtime.threads",
                          "runtime.device",
                          "runtime.progress",
                          "runtime.flush_denormal",
                          "output.dir",
                          "output.save_attention",
                          "output.save_checkpoint"})
    EXPECT_NE(ref.find(std::string("\n") + key + " "), std::string::npos) << key;
  // Header + one line per key.
  EXPECT_EQ(std::count(ref.begin(), ref.end(), '\n'), 96);
  EXPECT_NE(ref.find("gated_attention|attention|mean|max|lse|topk_mean|multihead_gated_attention|pma|transformer|dsmil|"
                     "instance_max|instance_mean"),
            std::string::npos);
  EXPECT_NE(ref.find("(0, 10000]"), std::string::npos);
  // Every row starts its doc at the same column as the header's DESCRIPTION.
  const std::size_t doc_column = ref.find("DESCRIPTION");
  const std::size_t row = ref.find("\ntrain.early_stopping.patience") + 1;
  EXPECT_EQ(ref.find("epochs without improvement", row) - row, doc_column);
}

TEST(Config, LoadConfigReadsAFile) {
  TempDir dir("config");
  const std::string path = (dir.path / "run.yaml").string();
  std::ofstream(path) << "train:\n  epochs: 12\n";
  const Config c = load_config(path, {"model.pooling=max"});
  EXPECT_EQ(c.train.epochs, 12);
  EXPECT_EQ(c.model.pooling, "max");
  std::ofstream(path) << "train:\n  epochz: 12\n";
  EXPECT_EQ(abmil_test::error_of<ConfigError>([&] { load_config(path); }),
            path + ":2: unknown key 'train.epochz' (did you mean 'train.epochs'?)");
}

TEST(Config, LoadConfigOnMissingFileOrFolderNamesThePath) {
  TempDir dir("config");
  const std::string missing = (dir.path / "missing.yaml").string();
  const std::string no_file = abmil_test::error_of<ConfigError>([&] { load_config(missing); });
  EXPECT_EQ(no_file.rfind(missing + ": cannot read config file: ", 0), 0u) << no_file;
  const std::string folder = abmil_test::error_of<ConfigError>([&] { load_config(dir.path.string()); });
  EXPECT_EQ(folder.rfind(dir.path.string() + ": cannot read config file: ", 0), 0u) << folder;
}

TEST(Config, IntegerListsForLayerSizes) {
  Config c = parse_config("model:\n  hidden_dims: [32, 16]\n", "cfg.yaml");
  EXPECT_EQ(c.model.hidden_dims, (std::vector<int64_t>{32, 16}));
  c = parse_config("", "cfg.yaml", {"data.kind=feature_bags", "model.hidden_dims=[8]"});
  EXPECT_EQ(c.model.hidden_dims, (std::vector<int64_t>{8}));
  EXPECT_EQ(parse_config(config_to_yaml(c), "again.yaml").model.hidden_dims, c.model.hidden_dims);
  EXPECT_EQ(config_error("model:\n  hidden_dims: [32, 0.5]\n"),
            "cfg.yaml:2: model.hidden_dims[1]: expected an integer, got '0.5'");
  EXPECT_EQ(config_error("model:\n  hidden_dims: []\n"),
            "cfg.yaml:2: model.hidden_dims: expected a non-empty list of integers, got a list");
  EXPECT_EQ(config_error("model:\n  hidden_dims: [0]\n"),
            "cfg.yaml:2: model.hidden_dims[0]: 0 is out of range (must be >= 1)");
}

// ---- the shipped configs --------------------------------------------------------

/// The leaves of the YAML map `node` (scalars, lists, nulls) by dotted key.
void flatten(const YAML::Node& node, const std::string& prefix, std::map<std::string, YAML::Node>& out) {
  if (!node.IsMap()) {
    out.emplace(prefix, node);
    return;
  }
  for (const auto& kv : node)
    flatten(kv.second, prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar(), out);
}

/// `text` with every ${NAME} replaced by the value of the environment variable NAME.
std::string expand_env(std::string text) {
  for (size_t at; (at = text.find("${")) != std::string::npos;) {
    const size_t end = text.find('}', at);
    if (end == std::string::npos) break;
    const char* value = std::getenv(text.substr(at + 2, end - at - 2).c_str());
    text.replace(at, end - at + 1, value ? value : "");
  }
  return text;
}

/// Whether the YAML values `want` (as a config file writes it, ${NAME}
/// expanded) and `got` are the same: numbers as numbers (5.0e-4 is 0.0005),
/// booleans as booleans, lists element by element, other scalars as text.
bool same_value(const YAML::Node& want, const YAML::Node& got) {
  if (want.IsSequence() || got.IsSequence()) {
    if (!want.IsSequence() || !got.IsSequence() || want.size() != got.size()) return false;
    for (size_t i = 0; i < want.size(); ++i)
      if (!same_value(want[i], got[i])) return false;
    return true;
  }
  if (!want.IsScalar() || !got.IsScalar()) return want.Type() == got.Type();
  const YAML::Node expanded(expand_env(want.Scalar()));
  double a = 0, b = 0;
  if (YAML::convert<double>::decode(expanded, a) && YAML::convert<double>::decode(got, b)) return a == b;
  bool p = false, q = false;
  if (YAML::convert<bool>::decode(expanded, p) && YAML::convert<bool>::decode(got, q)) return p == q;
  return expanded.Scalar() == got.Scalar();
}

/// The keys that the config file `path` sets whose value differs from the
/// loaded Config's (as config_to_yaml writes it), each as "key: file value vs
/// loaded value"; the keys of `pinned` (key, value as YAML) that the file does
/// not set or loads with another value, likewise. Empty when all agree.
std::vector<std::string> config_mismatches(const std::filesystem::path& path,
                                           const std::vector<std::pair<std::string, std::string>>& pinned = {}) {
  std::map<std::string, YAML::Node> file, loaded;
  flatten(YAML::LoadFile(path.string()), "", file);
  flatten(YAML::Load(config_to_yaml(load_config(path.string()))), "", loaded);
  std::vector<std::string> wrong;
  for (const auto& [key, value] : file) {
    const auto it = loaded.find(key);
    if (it == loaded.end())
      wrong.push_back(key + ": set in the file, not in the loaded config");
    else if (!same_value(value, it->second))
      wrong.push_back(key + ": " + YAML::Dump(value) + " in the file, " + YAML::Dump(it->second) + " loaded");
  }
  for (const auto& [key, value] : pinned) {
    if (!file.count(key))
      wrong.push_back(key + ": not set in the file (expected " + value + ")");
    else if (!loaded.count(key) || !same_value(YAML::Load(value), loaded.at(key)))
      wrong.push_back(key + ": expected " + value + ", loaded " +
                      (loaded.count(key) ? YAML::Dump(loaded.at(key)) : "nothing"));
  }
  return wrong;
}

/// The lines of `v`, for a failure message.
std::string lines(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& line : v) out += line + "\n";
  return out;
}

// configs/mnist_bags.yaml is the paper's setting and configs/default.yaml the
// demo: each key they set is pinned here, so deleting one from the file (even
// one whose value is the default) or changing it fails; and every key each
// file sets must come back in the loaded Config.
TEST(Configs, ShippedConfigsLoad) {
  ::setenv("ABMIL_DATA", "/data", 0);
  const std::filesystem::path dir = std::filesystem::path(ABMIL_SOURCE_DIR) / "configs";
  const std::vector<std::pair<std::string, std::string>> optimizer{{"train.optimizer.kind", "adam"},
                                                                   {"train.optimizer.lr", "5e-4"},
                                                                   {"train.optimizer.betas", "[0.9, 0.999]"},
                                                                   {"train.optimizer.weight_decay", "1e-4"}};
  auto with_optimizer = [&](std::vector<std::pair<std::string, std::string>> keys) {
    keys.insert(keys.end(), optimizer.begin(), optimizer.end());
    return keys;
  };
  const auto paper = with_optimizer({{"experiment.name", "mnist_bags"},
                                     {"experiment.seed", "1"},
                                     {"data.kind", "mnist_bags"},
                                     {"data.root", "${ABMIL_DATA}/mnist"},
                                     {"data.target", "9"},
                                     {"data.protocol", "balanced"},
                                     {"data.bag_size_mean", "10"},
                                     {"data.bag_size_std", "2"},
                                     {"data.train_bags", "200"},
                                     {"data.test_bags", "1000"},
                                     {"data.validation_fraction", "0.1"},
                                     {"model.encoder", "lenet5"},
                                     {"model.embedding_dim", "500"},
                                     {"model.pooling", "gated_attention"},
                                     {"model.attention_dim", "128"},
                                     {"train.epochs", "150"},
                                     {"train.bags_per_step", "1"},
                                     {"train.early_stopping.patience", "20"}});
  const auto demo = with_optimizer({{"experiment.name", "fashion_mnist_demo"},
                                    {"experiment.seed", "1"},
                                    {"data.kind", "mnist_bags"},
                                    {"data.root", "/usr/share/datasets/fashion-mnist"},
                                    {"data.target", "9"},
                                    {"data.protocol", "balanced"},
                                    {"data.bag_size_mean", "10"},
                                    {"data.bag_size_std", "2"},
                                    {"data.train_bags", "200"},
                                    {"data.test_bags", "500"},
                                    {"data.pixel_mean", "0.2860"},
                                    {"data.pixel_std", "0.3530"},
                                    {"model.encoder", "lenet5"},
                                    {"model.pooling", "gated_attention"},
                                    {"model.attention_dim", "128"},
                                    {"train.epochs", "10"},
                                    {"train.early_stopping.patience", "5"}});
  EXPECT_EQ(lines(config_mismatches(dir / "mnist_bags.yaml", paper)), "");
  EXPECT_EQ(lines(config_mismatches(dir / "default.yaml", demo)), "");
  // Any other config shipped there: every key it sets is loaded as written.
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() != ".yaml" || name == "mnist_bags.yaml" || name == "default.yaml") continue;
    EXPECT_EQ(lines(config_mismatches(e.path())), "") << e.path();
  }

  // The same values, read straight from the Config.
  const Config c = load_config((dir / "mnist_bags.yaml").string());
  EXPECT_EQ(c.data.target, 9);
  EXPECT_EQ(c.data.train_bags, 200);
  EXPECT_EQ(c.data.test_bags, 1000);
  EXPECT_EQ(c.model.embedding_dim, 500);
  EXPECT_EQ(c.model.pooling, "gated_attention");
  EXPECT_EQ(c.train.optimizer.lr, 5e-4);
  EXPECT_EQ(c.train.optimizer.weight_decay, 1e-4);
  EXPECT_EQ(c.train.early_stopping.patience, 20);
  EXPECT_EQ(c.data.root, std::string(std::getenv("ABMIL_DATA")) + "/mnist");
}

// The experiments' configs (experiments/*/configs/*.yaml) load, and every key
// each one sets comes back in the loaded Config as written.
TEST(Configs, ExperimentConfigsLoadAsWritten) {
  ::setenv("ABMIL_DATA", "/data", 0);
  int files = 0;
  for (const auto& e :
       std::filesystem::recursive_directory_iterator(std::filesystem::path(ABMIL_SOURCE_DIR) / "experiments")) {
    if (e.path().extension() != ".yaml" || e.path().parent_path().filename() != "configs") continue;
    ++files;
    std::vector<std::string> wrong;
    EXPECT_NO_THROW(wrong = config_mismatches(e.path())) << e.path();
    EXPECT_EQ(lines(wrong), "") << e.path();
  }
  EXPECT_GE(files, 30);  // 39 when written: the glob finds them
}

}  // namespace
}  // namespace abmil

namespace abmil {
namespace {

TEST(Config, DataPathsMadeAbsolute) {
  Config c;
  c.data.path = "bags/../new.csv";
  c.data.root = "/abs/mnist";
  c.data.image_root = "";
  make_data_paths_absolute(c, "/base/dir");
  EXPECT_EQ(c.data.path, "/base/dir/new.csv");
  EXPECT_EQ(c.data.root, "/abs/mnist");  // absolute: as it is
  EXPECT_EQ(c.data.image_root, "");      // empty: as it is
}

}  // namespace
}  // namespace abmil
