// Typed run configuration: the one tree every command reads.
//
// A YAML file is loaded into `Config`, every key checked against the schema
// declared once in config.cpp (type, range, choices, default, one-line doc).
// No LibTorch here: this header is cheap to include.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace abmil {

/// A user error in a config file or a `--set` override. `what()` is one line
/// of the form `FILE:LINE: KEY: message` (or `--set KEY=VALUE: message`).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// `experiment:` section.
struct ExperimentConfig {
  std::string name = "fashion_mnist_demo";  ///< run name, used for the run directory
  int64_t seed = 1;                         ///< seed of every random draw (bags, init, order)
};

/// `data.augment:` section (image_patches, training bags only).
struct AugmentConfig {
  bool rotate_flip = false;    ///< random 90-degree rotation and mirroring of each patch
  double he_jitter_std = 0.0;  ///< std of the two Gaussian (mean 1) factors on the H and E stain amounts; 0 = off
};

/// `data:` section: the keys of every data kind (each names its kind).
struct DataConfig {
  std::string kind = "mnist_bags";  ///< data kind: mnist_bags | feature_bags | image_patches | text_bags | feature_files
  /// feature_bags: the CSV file (bag_id,label,f1..fD); image_patches: the CSV list of images (path,label);
  /// text_bags: a folder with one subfolder per label, or a CSV list (path,label or text,label)
  std::string path = "";
  std::string bag_list = "";        ///< feature_files: the bag list CSV (case_id,slide_id,label)
  std::string features = "";        ///< feature_files: the CLAM or TRIDENT features folder
  std::string feature_format = "auto";  ///< feature_files: auto | h5 | pt (CLAM folders with both)
  std::vector<std::string> classes;  ///< feature_files: class names in index order; empty = sorted labels
  /// feature_files: a bag holds any subset of the classes (label cells `a;b`; one sigmoid per label, BCE);
  /// mnist_bags with data.targets: the labels are the subset of data.targets a bag holds
  bool multi_label = false;
  std::string case_column = "case_id";    ///< feature_files: bag-list column of the case (patient)
  std::string slide_column = "slide_id";  ///< feature_files: bag-list column of the slide id
  std::string label_column = "label";     ///< feature_files: bag-list column of the class name
  std::string split_csv = "";        ///< feature_files: CLAM split CSV (train,val,test); empty = drawn hold-outs
  std::string instance_labels = "";  ///< feature_files: folder of <slide_id>.csv instance labels (0/1 a line)
  /// feature_files: folder of the whole-slide images, <slide_id>.<ext> (any format OpenSlide opens), for
  /// `abmil visualize`'s heatmaps over a thumbnail; empty = heatmaps on a blank background
  std::string slide_dir = "";
  int64_t cache_mib = 0;             ///< feature_files: bound of the in-memory bag cache, MiB; 0 = none
  bool verify_features = true;       ///< feature_files: read every slide once up front to check it is finite
  std::string image_root = "";  ///< image_patches: folder the image paths are relative to; empty = the CSV's folder
  int64_t patch_size = 32;      ///< image_patches: P, side of a square patch, pixels
  int64_t patch_stride = 0;     ///< image_patches: step between patches, pixels; 0 = patch_size
  int64_t white_level = 220;    ///< image_patches: a pixel with R, G, B all >= this is white background
  double max_white_fraction = 0.75;  ///< image_patches: patches with this white share or more are dropped; 1 keeps all
  AugmentConfig augment;
  std::string positive_folder = "pos";   ///< text_bags, folder data.path: subfolder of the label-1 documents (*.txt)
  std::string negative_folder = "neg";   ///< text_bags, folder data.path: subfolder of the label-0 documents (*.txt)
  std::string sentence_split = "lines";  ///< text_bags: lines (one sentence a line) | rules (rule-based, raw text)
  /// text_bags: uses in the training documents that bring a token into the vocabulary
  int64_t min_token_frequency = 2;
  /// text_bags: at most this many tokens (the most frequent) besides <pad> and <unk>; 0 = no limit
  int64_t max_vocabulary = 0;
  int64_t max_tokens_per_sentence = 50;  ///< text_bags: T, longer sentences are truncated (and counted)
  /// text_bags: a document keeps its first N sentences (the others are counted); 0 = all
  int64_t max_sentences_per_document = 100;
  std::string empty_documents = "error";     ///< text_bags: a document without a token is an error | skip (counted)
  std::string text_instances = "sentences";  ///< text_bags: instance = a sentence ([T] token ids) | a token ([1])
  bool standardize = true;                   ///< feature_bags: z-score with the training bags' statistics
  /// feature_bags, image_patches, text_bags with `abmil train`: share of bags held out for testing
  double test_fraction = 0.2;
  /// Folder with the four IDX files (train/t10k images/labels, .gz or plain).
  /// `${VAR}` is expanded from the environment when the config is loaded.
  std::string root = "/usr/share/datasets/fashion-mnist";
  int64_t target = 9;                 ///< class whose presence makes a bag positive (0..9)
  /// mnist_bags: C > 1 digits for C named classes instead of data.target: a bag holds exactly one of them
  /// (its class, multi-class), or with data.multi_label any subset (its labels); empty = binary (data.target)
  std::vector<int64_t> targets;
  std::string protocol = "balanced";  ///< balanced (paper) | simple (reference code)
  double bag_size_mean = 10.0;        ///< mean of the Gaussian bag length
  double bag_size_std = 2.0;          ///< std of the Gaussian bag length (length >= 1)
  int64_t train_bags = 200;           ///< bags drawn from the train split (validation included)
  int64_t test_bags = 1000;           ///< bags drawn from the test split
  double validation_fraction = 0.1;   ///< share of the training bags held out for early stopping
  double pixel_mean = 0.1307;  ///< input normalisation of pixels (mnist_bags, image_patches): (x/255 - mean) / std
  double pixel_std = 0.3081;
};

/// `model:` section.
struct ModelConfig {
  std::string encoder = "lenet5";                     ///< instance encoder: lenet5 | mlp | histo_cnn | text
  std::vector<int64_t> hidden_dims = {256, 128, 64};  ///< mlp: fc sizes; M = the last
  double dropout = 0.0;                               ///< mlp, histo_cnn: dropout after each hidden fc layer
  int64_t embedding_dim = 500;                        ///< M, size of the instance embedding
  /// Pooling: gated_attention | attention | mean | max | lse | topk_mean |
  /// multihead_gated_attention | pma | transformer | dsmil | instance_max | instance_mean.
  std::string pooling = "gated_attention";
  int64_t heads = 4;                      ///< h: multihead_gated_attention, pma, transformer
  std::string merge = "concat";           ///< multihead heads / pma seeds into z: concat | mean
  int64_t seeds = 1;                      ///< pma: k learned seed vectors
  int64_t layers = 2;                     ///< transformer: self-attention layers
  double transformer_memory_mib = 4096;   ///< transformer: bags whose exact attention needs more are refused
  double lse_r = 5.0;                     ///< lse: sharpness r
  int64_t pool_k = 3;                     ///< topk_mean: k
  double max_instance_loss_weight = 0.5;  ///< dsmil: c in (1 - c) bag loss + c max-instance loss
  bool normalize_embedding = false;       ///< z / ||z||_2 times a learned scale before the classifier
  int64_t attention_dim = 128;     ///< L, hidden size of the attention network
  double attention_dropout = 0.0;  ///< dropout on the attention weights in training (AttentionPoolingOptions::dropout)
  /// Attention branches: "1" (the paper) or "per_class" (CLAM-MB: one branch and one classifier per class)
  std::string attention_branches = "1";
  /// CLAM's instance-level clustering loss (Lu et al., Nat. Biomed. Eng. 2021): none | ce
  std::string instance_loss = "none";
  int64_t instance_k = 8;             ///< CLAM's k_sample: most and least attended instances per bag
  double instance_loss_weight = 0.3;  ///< c: loss = (1 - c) bag loss + c instance loss (CLAM's bag_weight = 1 - c)
  bool instance_out_of_class = false;  ///< CLAM's subtyping: the other classes' top-k as their negatives
  /// text: pooling of a sentence's tokens: gated_attention | attention | mean | max
  std::string token_pooling = "gated_attention";
  double word_dropout = 0.0;          ///< text: share of token ids replaced by <unk> in training
  std::string classifier = "linear";  ///< bag classifier: linear (fc M -> 1)
};

/// `train.optimizer:` section.
struct OptimizerConfig {
  std::string kind = "adam";  ///< adam
  double lr = 5e-4;
  std::vector<double> betas = {0.9, 0.999};
  double weight_decay = 1e-4;
};

/// `train.early_stopping:` section.
struct EarlyStoppingConfig {
  int64_t patience = 10;   ///< epochs without improvement before stopping; 0 = off
  double min_delta = 0.0;  ///< improvement of the validation loss that counts
  /// Warm-up: epochs 1..start_epoch are not monitored (never the restored
  /// best, no patience counted), as Keras' start_from_epoch; 0 = monitor from epoch 1.
  int64_t start_epoch = 0;
};

/// `train:` section.
struct TrainConfig {
  int64_t epochs = 50;
  int64_t bags_per_step = 1;     ///< B, bags packed into one optimizer step
  /// none | loss_weights (class c's loss weighted N / (C N_c)) | sampler (bags drawn with P ~ 1 / N_c)
  std::string class_balance = "none";
  int64_t checkpoint_every = 5;  ///< resumable checkpoint every N epochs (and at each new best); 0 = best only
  OptimizerConfig optimizer;
  EarlyStoppingConfig early_stopping;
};

/// `eval:` section.
struct EvalConfig {
  double threshold = 0.5;                ///< bag probability at or above which a bag is positive
  int64_t max_instances_per_pass = 128;  ///< bound on instances in one evaluation forward pass of the encoder
  int64_t top_k = 1;                     ///< k of the instance-level precision/recall@k
};

/// `cv:` section (`abmil cv`).
struct CvConfig {
  int64_t folds = 10;                ///< K
  int64_t repeats = 5;               ///< R
  double validation_fraction = 0.1;  ///< inner validation share of each fold's training bags
  /// stratified (K folds x R repeats, by label) | groups (one fold per group
  /// of the data: text_bags' cvN file-name groups; folds and repeats unused)
  std::string split = "stratified";
};

/// `runtime:` section.
struct RuntimeConfig {
  int64_t threads = 0;            ///< LibTorch intra-op threads; 0 = the cores the load average leaves idle
  std::string device = "cpu";     ///< cpu | cuda
  std::string progress = "auto";  ///< auto (on a terminal) | always | never
  /// Flush subnormal floats to zero (FTZ/DAZ): once a model fits, gradients
  /// and Adam's moments turn subnormal and every operation on them takes the
  /// CPU's slow path (epochs 2-5x slower); false keeps IEEE gradual underflow.
  bool flush_denormal = true;
};

/// `output:` section.
struct OutputConfig {
  std::string dir = "";         ///< run directory; empty = runs/<experiment.name>
  bool save_attention = true;   ///< write attention/test.csv
  bool save_checkpoint = true;  ///< write checkpoints/best.pt
};

/// The whole configuration tree.
struct Config {
  ExperimentConfig experiment;
  DataConfig data;
  ModelConfig model;
  TrainConfig train;
  EvalConfig eval;
  CvConfig cv;
  RuntimeConfig runtime;
  OutputConfig output;
};

/// Loads `path`, applies `overrides` (each `key.path=value`, value parsed as
/// YAML), expands `${VAR}` in string values and validates every key.
/// Keys absent from the file keep their defaults.
/// Throws ConfigError (one line, naming file and YAML line, with a
/// "did you mean" for unknown keys close to a known one) on: a file that
/// sets no key (0 bytes or only comments) with no `overrides` either (no run
/// starts with every default by accident), unreadable file,
/// malformed YAML, unknown key, wrong type, out-of-range value, value not
/// among the choices, unset environment variable.
/// Relative data paths (data.path, data.root, data.image_root) are made
/// absolute: relative to the config file's folder when the file sets them,
/// to the current directory when an override does (output.dir stays as
/// given: relative to the current directory).
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

/// Makes the relative data paths of `config` (data.path, data.root,
/// data.image_root) absolute against `base` (e.g. the current directory, for
/// paths from a command line); empty and absolute ones stay as they are.
void make_data_paths_absolute(Config& config, const std::filesystem::path& base);

/// Same as load_config, from YAML text; `source_name` stands for the file name
/// in error messages.
Config parse_config(const std::string& yaml_text, const std::string& source_name,
                    const std::vector<std::string>& overrides = {});

/// The resolved configuration as YAML (every key, in schema order), loadable
/// by load_config to give back the same Config.
std::string config_to_yaml(const Config& config);

/// The encoder a config without model.encoder gets: lenet5 (mnist_bags), mlp
/// (feature_bags), histo_cnn (image_patches), text (text_bags).
std::string default_encoder(const std::string& data_kind);

/// A table of every key: path, type, default, allowed values and its doc line.
std::string config_reference();

}  // namespace abmil
