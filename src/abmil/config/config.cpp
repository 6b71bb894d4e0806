// Typed run configuration: schema, YAML loader and validator, emitter and
// reference table.
//
// The schema is declared once, in visit_schema(): every key with its path, the
// field it fills (whose initial value in config.h is the default), its allowed
// values and a one-line doc. Three visitors walk it:
//   Binder     binds every key path to a field of the Config being loaded
//              (parse_config, load_config and `--set` overrides);
//   Writer     emits the resolved tree as YAML (config_to_yaml);
//   Reference  renders the table of keys (config_reference).
// Adding a key means adding a field to config.h and one line to visit_schema().

#include "abmil/config/config.h"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

namespace abmil {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// ---- constraints -----------------------------------------------------------

/// Allowed values of one key: a numeric interval (numbers and list elements),
/// a set of string choices, and for lists an exact number of elements.
struct Rule {
  double lo = -kInf;
  double hi = kInf;
  bool lo_open = false;
  bool hi_open = false;
  std::vector<std::string> choices;  ///< empty = any string
  std::size_t items = 0;             ///< lists: exact length; 0 = any
  bool may_be_empty = false;         ///< integer lists: [] allowed (an unset choice)

  /// This rule with the upper bound `v` included.
  Rule at_most(double v) const {
    Rule r = *this;
    r.hi = v;
    r.hi_open = false;
    return r;
  }
  /// This rule with the upper bound `v` excluded.
  Rule below(double v) const {
    Rule r = *this;
    r.hi = v;
    r.hi_open = true;
    return r;
  }
  /// This rule for a list of exactly `n` elements.
  Rule with_items(std::size_t n) const {
    Rule r = *this;
    r.items = n;
    return r;
  }
  /// This rule for an integer list that may be empty ([]).
  Rule or_empty() const {
    Rule r = *this;
    r.may_be_empty = true;
    return r;
  }
  /// Whether the rule bounds numbers at all.
  bool has_range() const { return lo > -kInf || hi < kInf; }
  /// Whether `x` lies in the interval.
  bool admits(double x) const { return (lo_open ? x > lo : x >= lo) && (hi_open ? x < hi : x <= hi); }
};

/// No constraint.
Rule any() { return {}; }
/// x >= v.
Rule at_least(double v) {
  Rule r;
  r.lo = v;
  return r;
}
/// x > v.
Rule above(double v) {
  Rule r;
  r.lo = v;
  r.lo_open = true;
  return r;
}
/// lo <= x <= hi.
Rule closed(double lo, double hi) { return at_least(lo).at_most(hi); }
/// The value must be one of `choices`.
Rule one_of(std::vector<std::string> choices) {
  Rule r;
  r.choices = std::move(choices);
  return r;
}

// ---- the schema ------------------------------------------------------------

/// The one declaration of every key: `v(path, field, rule, doc)`, in the order
/// keys are emitted and listed. Keys of one section must stay contiguous (the
/// YAML writer opens each section once).
template <class V>
void visit_schema(Config& c, V& v) {
  v("experiment.name", c.experiment.name, any(),
    "run name, used for the run directory and the report; default: the config file's name without .yaml");
  v("experiment.seed", c.experiment.seed, at_least(0), "seed of every random draw (bags, init, order)");

  v("data.kind", c.data.kind, one_of({"mnist_bags", "feature_bags", "image_patches", "text_bags", "feature_files"}),
    "data kind: mnist_bags (digit bags), feature_bags (a CSV bag_id,label,f1..fD), image_patches (images cut into "
    "patches), text_bags (documents as bags of sentences or tokens) or feature_files (whole-slide patch features "
    "in CLAM / TRIDENT .h5 or .pt files, streamed from disk)");
  v("data.path", c.data.path, any(),
    "feature_bags, image_patches, text_bags: where the bags are: the CSV file (feature_bags), the CSV list of "
    "images (path,label) or a folder of images (image_patches), a folder with one subfolder per label or a CSV "
    "list (path,label or text,label) (text_bags); labels may be missing for `abmil predict`; ${VAR} is expanded; "
    "a relative path is "
    "relative to the config file's folder (to the current directory when given with --set)");
  v("data.bag_list", c.data.bag_list, any(),
    "feature_files: the bag list CSV, one slide a row (CLAM's case_id,slide_id,label); relative as data.path");
  v("data.features", c.data.features, any(),
    "feature_files: the features folder: CLAM's (holding h5_files/ or pt_files/), a TRIDENT features_<encoder> "
    "folder, or a TRIDENT job folder with one such folder; relative as data.path");
  v("data.feature_format", c.data.feature_format, one_of({"auto", "h5", "pt"}),
    "feature_files: CLAM's h5_files/ or pt_files/ when a folder has both; auto = h5");
  v("data.classes", c.data.classes, any(),
    "feature_files: class names in index order; empty = the labels of the bag list, sorted");
  v("data.multi_label", c.data.multi_label, any(),
    "a bag holds any subset of the classes: feature_files label cells `a;b` (`;`-separated), mnist_bags the "
    "subset of data.targets it holds; one sigmoid per label with binary cross-entropy");
  v("data.case_column", c.data.case_column, any(),
    "feature_files: bag-list column of the case (patient); splits never divide a case");
  v("data.slide_column", c.data.slide_column, any(), "feature_files: bag-list column naming each slide's file");
  v("data.label_column", c.data.label_column, any(), "feature_files: bag-list column of the class name");
  v("data.split_csv", c.data.split_csv, any(),
    "feature_files with `abmil train`: a CLAM split CSV (columns train, val, test of slide ids) to use instead of "
    "drawing the hold-outs; relative as data.path");
  v("data.instance_labels", c.data.instance_labels, any(),
    "feature_files: optional folder of <slide_id>.csv files, one 0/1 a line per instance (planted or annotated "
    "instances), for the instance-level attention metrics; relative as data.path");
  v("data.slide_dir", c.data.slide_dir, any(),
    "feature_files: optional folder of the whole-slide images, <slide_id>.<ext> in any format OpenSlide opens; "
    "`abmil visualize` blends each slide's attention heatmap over its thumbnail; relative as data.path");
  v("data.cache_mib", c.data.cache_mib, at_least(0),
    "feature_files: keep up to this many MiB of recently read bags in memory; 0 = read every bag on every visit");
  v("data.verify_features", c.data.verify_features, any(),
    "feature_files: read every slide once before training to check its features are finite (else only the "
    "files' headers are checked, and a bad value stops the run when its bag is read)");
  v("data.image_root", c.data.image_root, any(),
    "image_patches: folder the listed image paths are relative to; empty = the CSV's folder");
  v("data.patch_size", c.data.patch_size, closed(1, 4096), "image_patches: P, side of a square patch, pixels");
  v("data.patch_stride", c.data.patch_stride, closed(0, 4096),
    "image_patches: step between patch origins, pixels; 0 = patch_size (no overlap)");
  v("data.white_level", c.data.white_level, closed(0, 255),
    "image_patches: a pixel whose R, G and B are all >= this counts as white background");
  v("data.max_white_fraction", c.data.max_white_fraction, closed(0, 1),
    "image_patches: a patch with this share of white pixels or more is dropped; 1 keeps every patch");
  v("data.augment.rotate_flip", c.data.augment.rotate_flip, any(),
    "image_patches: random 90-degree rotation and mirroring of each training patch");
  v("data.augment.he_jitter_std", c.data.augment.he_jitter_std, closed(0, 1),
    "image_patches: H&E jitter, std of the Gaussian (mean 1) factors on the H and E stain amounts; 0 = off");
  v("data.positive_folder", c.data.positive_folder, any(),
    "text_bags with a folder as data.path: subfolder of the positive (label 1) documents, every *.txt file");
  v("data.negative_folder", c.data.negative_folder, any(),
    "text_bags with a folder as data.path: subfolder of the negative (label 0) documents, every *.txt file");
  v("data.sentence_split", c.data.sentence_split, one_of({"lines", "rules"}),
    "text_bags: lines (one sentence per non-blank line) or rules (ends at . ! ? and a blank line; raw text)");
  v("data.min_token_frequency", c.data.min_token_frequency, at_least(1),
    "text_bags: uses in the training documents a token needs to enter the vocabulary (others become <unk>)");
  v("data.max_vocabulary", c.data.max_vocabulary, at_least(0),
    "text_bags: keep at most this many tokens (the most frequent) besides <pad> and <unk>; 0 = no limit");
  v("data.max_tokens_per_sentence", c.data.max_tokens_per_sentence, closed(1, 100000),
    "text_bags: T, token ids per sentence instance; longer sentences are truncated (and counted)");
  v("data.max_sentences_per_document", c.data.max_sentences_per_document, at_least(0),
    "text_bags: a document keeps its first N sentences (the dropped ones are counted); 0 = no limit");
  v("data.empty_documents", c.data.empty_documents, one_of({"error", "skip"}),
    "text_bags: a document without a single token is an error, or skipped (and counted)");
  v("data.text_instances", c.data.text_instances, one_of({"sentences", "tokens"}),
    "text_bags: instance = a sentence (T token ids, padded with 0) or a single token");
  v("data.standardize", c.data.standardize, any(),
    "feature_bags: z-score every feature with the training bags' mean and std");
  v("data.test_fraction", c.data.test_fraction, closed(0.05, 0.9),
    "feature_bags, image_patches, text_bags, feature_files with `abmil train`: stratified share of the bags (feature_files: of the cases) held out for testing");
  v("data.root", c.data.root, any(),
    "mnist_bags: folder with the four IDX files (.gz or plain); ${VAR} is expanded; relative as data.path");
  v("data.target", c.data.target, closed(0, 9), "mnist_bags: class whose presence makes a bag positive");
  v("data.targets", c.data.targets, closed(0, 9).or_empty(),
    "mnist_bags: two or more digits for named classes instead of data.target: a bag holds exactly one of them "
    "(multi-class), or any subset with data.multi_label; empty = binary with data.target");
  v("data.protocol", c.data.protocol, one_of({"balanced", "simple"}),
    "mnist_bags: bag drawing: balanced (paper) or simple (reference code)");
  v("data.bag_size_mean", c.data.bag_size_mean, above(0).at_most(10000), "mnist_bags: mean of the Gaussian bag length");
  v("data.bag_size_std", c.data.bag_size_std, at_least(0), "mnist_bags: std of the Gaussian bag length (length >= 1)");
  v("data.train_bags", c.data.train_bags, at_least(2),
    "mnist_bags: bags drawn from the train split (validation included)");
  v("data.test_bags", c.data.test_bags, at_least(1), "mnist_bags: bags drawn from the test split");
  v("data.validation_fraction", c.data.validation_fraction, closed(0, 0.9),
    "share of the training bags held out for early stopping");
  v("data.pixel_mean", c.data.pixel_mean, any(),
    "mnist_bags, image_patches: pixel normalisation (x/255 - mean) / std; for your own images set the mean of "
    "their pixel values scaled to [0, 1] (e.g. 0.5 when unknown; MNIST 0.1307)");
  v("data.pixel_std", c.data.pixel_std, above(0),
    "mnist_bags, image_patches: std of the input normalisation (your images' pixel std in [0, 1] units, e.g. 0.25 "
    "when unknown; MNIST 0.3081)");

  v("model.encoder", c.model.encoder, one_of({"lenet5", "mlp", "histo_cnn", "text"}),
    "instance encoder: lenet5 (digits), mlp (feature vectors), histo_cnn (colour patches, the paper's histopathology "
    "net) or text (token embeddings, pooled per sentence by model.token_pooling); default: the one that fits "
    "data.kind (mnist_bags lenet5, feature_bags mlp, image_patches histo_cnn, text_bags text)");
  v("model.hidden_dims", c.model.hidden_dims, at_least(1), "mlp: sizes of the fc layers; M is the last");
  v("model.dropout", c.model.dropout, closed(0, 0.95),
    "mlp, histo_cnn, text: dropout after each hidden fc layer (text: on the token embeddings); training only");
  v("model.embedding_dim", c.model.embedding_dim, at_least(1), "M, size of the instance embedding");
  v("model.pooling", c.model.pooling,
    one_of({"gated_attention", "attention", "mean", "max", "lse", "topk_mean", "multihead_gated_attention", "pma",
            "transformer", "dsmil", "instance_max", "instance_mean"}),
    "MIL pooling of the instances of a bag (README, \"Poolings\")");
  v("model.heads", c.model.heads, at_least(1),
    "h: attention heads of multihead_gated_attention (each a gated attention of size L), pma and transformer (these "
    "split M into h heads of M / h, so h must divide M)");
  v("model.merge", c.model.merge, one_of({"concat", "mean"}),
    "multihead_gated_attention heads / pma seeds into the bag embedding: concat (size h M or k M) or mean (size M)");
  v("model.seeds", c.model.seeds, at_least(1),
    "pma: k learned seed vectors (queries); 1 = single learned-query cross-attention pooling");
  v("model.layers", c.model.layers, at_least(1),
    "transformer: self-attention layers over each bag's instances (the last one queries with the CLS token only)");
  v("model.transformer_memory_mib", c.model.transformer_memory_mib, above(0),
    "transformer: memory for exact self-attention; a bag that needs more is refused before training");
  v("model.lse_r", c.model.lse_r, above(0), "lse: sharpness r of log-sum-exp pooling (r -> 0: mean, large r: max)");
  v("model.pool_k", c.model.pool_k, at_least(1), "topk_mean: k largest values averaged per embedding dimension");
  v("model.max_instance_loss_weight", c.model.max_instance_loss_weight, closed(0, 1),
    "dsmil: c in loss = (1 - c) bag loss + c max-instance loss (the bag loss on the top instance score; DSMIL 0.5)");
  v("model.normalize_embedding", c.model.normalize_embedding, any(),
    "L2-normalise the bag embedding z before the classifier, times a learned scale (for cosine retrieval, see "
    "`abmil embed`)");
  v("model.attention_dim", c.model.attention_dim, at_least(1), "L, hidden size of the attention network(s)");
  v("model.attention_dropout", c.model.attention_dropout, closed(0, 0.95),
    "dropout on the attention weights a_k in training (both levels of text models); 0 = none, as the paper");
  v("model.attention_branches", c.model.attention_branches, one_of({"1", "per_class"}),
    "attention branches: 1 (the paper) or per_class (CLAM-MB: one attention branch and one classifier per class, 2 "
    "for binary data; the attention CSV gets one column per branch)");
  v("model.instance_loss", c.model.instance_loss, one_of({"none", "ce"}),
    "CLAM's instance-level clustering loss (attention poolings): ce trains one 2-way instance classifier per class "
    "(2 for binary data) on the model.instance_k most attended instances of each bag (its class's branch) as "
    "positives and the k least attended as negatives, with cross-entropy; none: the bag loss alone");
  v("model.instance_k", c.model.instance_k, at_least(1),
    "instance_loss: instances taken from each end of a bag's attention ranking (CLAM's k_sample; fewer when the bag "
    "is smaller)");
  v("model.instance_loss_weight", c.model.instance_loss_weight, closed(0, 1),
    "instance_loss: c in loss = (1 - c) bag loss + c instance loss (CLAM's bag_weight 0.7 is c = 0.3)");
  v("model.instance_out_of_class", c.model.instance_out_of_class, any(),
    "instance_loss: also take each other class's k most attended instances as negatives of that class's "
    "classifier, and average over the classes (CLAM's --subtyping, for classes that are all subtypes)");
  v("model.word_dropout", c.model.word_dropout, closed(0, 0.95),
    "text: share of the tokens replaced by <unk> in training (word dropout, Iyyer et al. 2015)");
  v("model.token_pooling", c.model.token_pooling, one_of({"gated_attention", "attention", "mean", "max"}),
    "text: pooling of the tokens of a sentence into its embedding (the bag level pools the sentences)");
  v("model.classifier", c.model.classifier, one_of({"linear"}), "bag classifier (linear: fc M -> 1)");

  v("train.epochs", c.train.epochs, at_least(1), "maximum number of passes over the training bags");
  v("train.bags_per_step", c.train.bags_per_step, at_least(1), "B, bags packed into one optimizer step");
  v("train.class_balance", c.train.class_balance, one_of({"none", "loss_weights", "sampler"}),
    "class imbalance: none, loss_weights (each class's loss weighted N / (C N_c)) or sampler (each epoch draws N "
    "bags with replacement, a bag with probability proportional to 1 / N_c of its class, as CLAM)");
  v("train.checkpoint_every", c.train.checkpoint_every, at_least(0),
    "resumable checkpoint every N epochs and at each new best (with output.save_checkpoint); 0 = best only");
  v("train.optimizer.kind", c.train.optimizer.kind, one_of({"adam"}), "optimizer");
  v("train.optimizer.lr", c.train.optimizer.lr, above(0), "learning rate");
  v("train.optimizer.betas", c.train.optimizer.betas, at_least(0).below(1).with_items(2),
    "Adam moment coefficients (beta1, beta2)");
  v("train.optimizer.weight_decay", c.train.optimizer.weight_decay, at_least(0), "L2 penalty on the weights");
  v("train.early_stopping.patience", c.train.early_stopping.patience, at_least(0),
    "epochs without improvement before stopping; 0 = off");
  v("train.early_stopping.min_delta", c.train.early_stopping.min_delta, at_least(0),
    "improvement of the validation loss that counts");
  v("train.early_stopping.start_epoch", c.train.early_stopping.start_epoch, at_least(0),
    "warm-up: epochs up to this one are not monitored (never restored as best, no patience counted)");

  v("eval.threshold", c.eval.threshold, closed(0, 1), "bag probability at or above which a bag is positive");
  v("eval.max_instances_per_pass", c.eval.max_instances_per_pass, at_least(1),
    "bound on instances in one evaluation forward pass");
  v("eval.top_k", c.eval.top_k, at_least(1),
    "k of the instance-level precision/recall of the top-k attended instances per positive bag");

  v("cv.folds", c.cv.folds, at_least(2), "abmil cv: K, stratified folds per repeat");
  v("cv.repeats", c.cv.repeats, at_least(1), "abmil cv: R, repeats of the K folds (new shuffles)");
  v("cv.validation_fraction", c.cv.validation_fraction, closed(0, 0.9),
    "abmil cv: stratified share of each fold's training bags held out for early stopping");
  v("cv.split", c.cv.split, one_of({"stratified", "groups"}),
    "abmil cv: stratified (cv.folds x cv.repeats by label) or groups (one fold per group of the data: text_bags' "
    "cvN file-name prefixes; folds and repeats unused)");

  v("runtime.threads", c.runtime.threads, at_least(0),
    "LibTorch intra-op threads; 0 = the cores other jobs leave idle (cores minus the 1-minute load average, at "
    "least 1)");
  v("runtime.device", c.runtime.device, one_of({"cpu", "cuda"}), "compute device");
  v("runtime.progress", c.runtime.progress, one_of({"auto", "always", "never"}),
    "progress bar: auto (on a terminal), always or never");
  v("runtime.flush_denormal", c.runtime.flush_denormal, any(),
    "flush subnormal floats to zero (default; avoids the 2-5x slowdown once a model fits); false = IEEE behaviour");

  v("output.dir", c.output.dir, any(), "run directory; empty = runs/<experiment.name>");
  v("output.save_attention", c.output.save_attention, any(), "write attention/test.csv");
  v("output.save_checkpoint", c.output.save_checkpoint, any(), "write checkpoints/best.pt");
}

// ---- small text helpers ----------------------------------------------------

/// `parts` joined by `sep`.
std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

/// `path` split at dots.
std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t dot; (dot = path.find('.', start)) != std::string::npos; start = dot + 1)
    parts.push_back(path.substr(start, dot - start));
  parts.push_back(path.substr(start));
  return parts;
}

/// `s` without leading and trailing blanks.
std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

/// `s` made safe for a one-line message: line breaks escaped, long text cut.
std::string one_line(const std::string& s, std::size_t max_len = 60) {
  std::string out;
  for (char ch : s) {
    if (ch == '\n')
      out += "\\n";
    else if (ch == '\r')
      out += "\\r";
    else if (ch == '\t')
      out += "\\t";
    else
      out += ch;
  }
  if (out.size() > max_len) out = out.substr(0, max_len) + "...";
  return out;
}

/// Shortest decimal text that reads back to exactly `x` ("0.1", "0.0005", "1e-05").
std::string format_number(double x) { return fmt::format("{}", x); }

/// Like format_number, but keeps a float looking like one in YAML ("10.0", not "10").
std::string format_float(double x) {
  std::string s = format_number(x);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // n: inf/nan
  return s;
}

/// Edit distance between `a` and `b` (insertions, deletions, substitutions).
std::size_t levenshtein(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

/// Largest edit distance at which `candidate` still counts as a likely typo.
std::size_t typo_budget(const std::string& candidate) { return std::max<std::size_t>(2, candidate.size() / 3); }

/// `s` in lower case (ASCII).
std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

/// The known key path closest to the unknown `path`, compared on the whole path
/// and on the last component (so a misplaced `train.lr` finds
/// `train.optimizer.lr`); empty when none is within the typo budget.
std::string suggest_key(const std::string& path, const std::vector<std::string>& known) {
  const std::string last = split_path(path).back();
  std::string best;
  std::pair<std::size_t, std::size_t> best_rank{SIZE_MAX, SIZE_MAX};
  for (const auto& k : known) {
    const std::string k_last = split_path(k).back();
    const std::size_t full = levenshtein(path, k);
    const std::size_t tail = levenshtein(last, k_last);
    const bool near_full = full <= typo_budget(k);
    const bool near_tail = tail <= typo_budget(k_last) && tail < k_last.size();
    if (!near_full && !near_tail) continue;
    const std::pair<std::size_t, std::size_t> rank{near_full ? std::min(full, tail) : tail, full};
    if (rank < best_rank) {
      best_rank = rank;
      best = k;
    }
  }
  return best;
}

/// The choice the misspelt `value` most likely meant: the closest one within
/// the typo budget (ignoring case), else the first that starts with or
/// contains it; empty when none fits.
std::string suggest_choice(const std::string& value, const std::vector<std::string>& choices) {
  const std::string v = lower(value);
  std::string best;
  std::size_t best_dist = SIZE_MAX;
  for (const auto& c : choices) {
    const std::size_t d = levenshtein(v, c);
    if (d <= typo_budget(c) && d < c.size() && d < best_dist) {
      best_dist = d;
      best = c;
    }
  }
  if (!best.empty() || v.empty()) return best;
  for (const auto& c : choices)
    if (c.rfind(v, 0) == 0) return c;
  for (const auto& c : choices)
    if (c.find(v) != std::string::npos) return c;
  return "";
}

/// " (did you mean 'x'?)", or nothing when there is no suggestion.
std::string did_you_mean(const std::string& suggestion) {
  return suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)";
}

/// The interval of `rule` in words: ">= 1", "> 0", "[0, 0.9]", "(0, 10000]";
/// empty when unbounded.
std::string describe_range(const Rule& rule) {
  const bool has_lo = rule.lo > -kInf, has_hi = rule.hi < kInf;
  if (has_lo && has_hi)
    return fmt::format("{}{}, {}{}", rule.lo_open ? '(' : '[', format_number(rule.lo), format_number(rule.hi),
                       rule.hi_open ? ')' : ']');
  if (has_lo) return fmt::format("{} {}", rule.lo_open ? ">" : ">=", format_number(rule.lo));
  if (has_hi) return fmt::format("{} {}", rule.hi_open ? "<" : "<=", format_number(rule.hi));
  return "";
}

// ---- where a value came from -----------------------------------------------

/// A source of values: a YAML file (messages start `FILE:LINE`) or one `--set`
/// override (messages start `--set KEY=VALUE`).
struct Source {
  std::string name;
  bool is_override = false;

  /// The message prefix for a node at `mark`.
  std::string where(const YAML::Mark& mark) const {
    return is_override ? name : fmt::format("{}:{}", name, std::max(mark.line, 0) + 1);
  }
};

/// A position inside a source.
struct At {
  const Source* source;
  YAML::Mark mark;

  /// The position of `node` when it has one of its own (a null node's mark
  /// points past it, so it keeps this one, the key's).
  At at(const YAML::Node& node) const {
    if (node.IsNull() || node.Mark().is_null()) return *this;
    return {source, node.Mark()};
  }
};

/// Throws the one-line error `WHERE: PATH: message`.
[[noreturn]] void fail(const At& at, const std::string& path, const std::string& message) {
  throw ConfigError(at.source->where(at.mark) + ": " + path + ": " + message);
}

/// What a node holds, for "got ..." in messages.
std::string describe_node(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return "'" + one_line(node.Scalar()) + "'";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "nothing";
  }
}

/// Whether a scalar was quoted (or tagged !!str), which makes it a string in YAML.
bool is_quoted(const YAML::Node& node) { return node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str"; }

// ---- scalar parsing ----------------------------------------------------------

/// Outcome of parsing a number.
enum class Parsed { ok, syntax, overflow };

/// A YAML 1.2 core integer: `[-+]?[0-9]+`, `0x[0-9a-fA-F]+` or `0o[0-7]+`.
Parsed parse_integer(const std::string& s, int64_t& out) {
  std::size_t i = 0;
  const bool negative = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) i = 1;
  int base = 10;
  if (s.size() > i + 1 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'o')) {
    if (i != 0) return Parsed::syntax;  // YAML allows no sign before 0x / 0o
    base = s[i + 1] == 'x' ? 16 : 8;
    i += 2;
  }
  if (i == s.size()) return Parsed::syntax;
  uint64_t magnitude = 0;
  const char* first = s.data() + i;
  const char* last = s.data() + s.size();
  const auto [end, ec] = std::from_chars(first, last, magnitude, base);
  if (end != last) return Parsed::syntax;
  if (ec == std::errc::result_out_of_range) return Parsed::overflow;
  if (ec != std::errc()) return Parsed::syntax;
  const uint64_t limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (negative ? 1 : 0);
  if (magnitude > limit) return Parsed::overflow;
  out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  return Parsed::ok;
}

/// A YAML 1.2 core number: an integer as above, or
/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`. Only finite values.
Parsed parse_double(const std::string& s, double& out) {
  int64_t as_int = 0;
  switch (parse_integer(s, as_int)) {
    case Parsed::ok:
      out = static_cast<double>(as_int);
      return Parsed::ok;
    case Parsed::overflow:
      break;  // a long decimal integer is still a valid float
    case Parsed::syntax:
      break;
  }
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  const std::size_t mantissa_start = i;
  std::size_t n = digits();
  if (i < s.size() && s[i] == '.') {
    ++i;
    n += digits();
  }
  if (n == 0) return Parsed::syntax;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return Parsed::syntax;
  }
  if (i != s.size()) return Parsed::syntax;
  // from_chars takes no '+' sign; it is locale-independent, unlike strtod.
  const std::string text = (s[0] == '-' ? "-" : "") + s.substr(mantissa_start);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec == std::errc::result_out_of_range || !std::isfinite(out)) return Parsed::overflow;
  if (ec != std::errc() || end != text.data() + text.size()) return Parsed::syntax;
  return Parsed::ok;
}

/// Whether an environment variable name is `[A-Za-z_][A-Za-z0-9_]*`.
bool is_variable_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; });
}

/// `text` with every `${NAME}` replaced by the environment variable NAME; a
/// `$` not followed by `{` stays as is. Throws on an unset or empty variable
/// and on a `${` that does not form `${NAME}`.
std::string expand_environment(const std::string& text, const At& at, const std::string& path) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size() || text[i + 1] != '{') {
      out += text[i];
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    const std::string name = close == std::string::npos ? "" : text.substr(i + 2, close - i - 2);
    if (!is_variable_name(name))
      fail(at, path,
           "malformed variable reference '" +
               one_line(text.substr(i, close == std::string::npos ? std::string::npos : close - i + 1)) +
               "' (expected ${NAME})");
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) fail(at, path, "environment variable " + name + " is not set");
    if (*value == '\0') fail(at, path, "environment variable " + name + " is empty");
    out += value;
    i = close;
  }
  return out;
}

// ---- typed readers (one per field type) -----------------------------------------

/// Throws "V is out of range (must be ...)" unless `rule` admits `x`.
void check_range(double x, const std::string& shown, const Rule& rule, const At& at, const std::string& path) {
  if (rule.admits(x)) return;
  const std::string range = describe_range(rule);
  const bool interval = rule.lo > -kInf && rule.hi < kInf;
  fail(at, path, fmt::format("{} is out of range (must be {}{})", shown, interval ? "in " : "", range));
}

/// Reads a scalar number node into `out`, or throws naming `expected`.
void read_number(const YAML::Node& node, const At& at, const std::string& path, const char* expected, bool integer,
                 double& out, int64_t& out_int) {
  const At here = at.at(node);
  if (!node.IsScalar()) fail(here, path, fmt::format("expected {}, got {}", expected, describe_node(node)));
  const std::string& text = node.Scalar();
  const Parsed p = integer ? parse_integer(text, out_int) : parse_double(text, out);
  if (p == Parsed::overflow)
    fail(here, path,
         fmt::format("{} is out of range (must fit in a {})", one_line(text), integer ? "64-bit integer" : "double"));
  if (p == Parsed::syntax) fail(here, path, fmt::format("expected {}, got {}", expected, describe_node(node)));
  if (is_quoted(node))
    fail(here, path, fmt::format("expected {}, got {} (quoted, so a string)", expected, describe_node(node)));
  if (integer) out = static_cast<double>(out_int);
}

/// Reads an integer key.
void read_value(const YAML::Node& node, const At& at, const std::string& path, const Rule& rule, int64_t& out) {
  double as_double = 0;
  int64_t value = 0;
  read_number(node, at, path, "an integer", true, as_double, value);
  check_range(as_double, std::to_string(value), rule, at.at(node), path);
  out = value;
}

/// Reads a floating-point key (integers accepted).
void read_value(const YAML::Node& node, const At& at, const std::string& path, const Rule& rule, double& out) {
  double value = 0;
  int64_t unused = 0;
  read_number(node, at, path, "a number", false, value, unused);
  check_range(value, format_number(value), rule, at.at(node), path);
  out = value;
}

/// Reads a boolean key: YAML's true / false (any capitalisation YAML 1.2 allows).
void read_value(const YAML::Node& node, const At& at, const std::string& path, const Rule&, bool& out) {
  const At here = at.at(node);
  const std::string text = node.IsScalar() ? node.Scalar() : "";
  const bool t = text == "true" || text == "True" || text == "TRUE";
  const bool f = text == "false" || text == "False" || text == "FALSE";
  if (!node.IsScalar() || (!t && !f) || is_quoted(node))
    fail(here, path,
         fmt::format("expected true or false, got {}{}", describe_node(node),
                     node.IsScalar() && is_quoted(node) ? " (quoted, so a string)" : ""));
  out = t;
}

/// Reads a string key: any scalar, with `${VAR}` expanded, checked against the choices.
void read_value(const YAML::Node& node, const At& at, const std::string& path, const Rule& rule, std::string& out) {
  const At here = at.at(node);
  if (!node.IsScalar()) fail(here, path, "expected a string, got " + describe_node(node));
  std::string value = expand_environment(node.Scalar(), here, path);
  if (!rule.choices.empty() && std::find(rule.choices.begin(), rule.choices.end(), value) == rule.choices.end())
    fail(here, path,
         fmt::format("'{}' is not one of {}{}", one_line(value), join(rule.choices, ", "),
                     did_you_mean(suggest_choice(value, rule.choices))));
  out = std::move(value);
}

/// Reads a list of numbers, each checked against the interval, of the exact
/// length the rule asks for.
void read_value(const YAML::Node& node, const At& at, const std::string& path, const Rule& rule,
                std::vector<double>& out) {
  const At here = at.at(node);
  const std::string expected =
      rule.items ? fmt::format("a list of {} numbers", rule.items) : std::string("a list of numbers");
  if (!node.IsSequence()) fail(here, path, fmt::format("expected {}, got {}", expected, describe_node(node)));
  std::vector<double> values;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::string item_path = fmt::format("{}[{}]", path, i);
    double value = 0;
    int64_t unused = 0;
    read_number(node[i], here, item_path, "a number", false, value, unused);
    values.push_back(value);
  }
  if (rule.items && values.size() != rule.items)
    fail(here, path, fmt::format("expected exactly {} numbers, got {}", rule.items, values.size()));
  for (std::size_t i = 0; i < values.size(); ++i)
    check_range(values[i], format_number(values[i]), rule, here.at(node[i]), fmt::format("{}[{}]", path, i));
  out = std::move(values);
}

/// Reads a list of integers (e.g. layer sizes), each checked against the interval.
void read_value(const YAML::Node& node, const At& at, const std::string& path, const Rule& rule,
                std::vector<int64_t>& out) {
  const At here = at.at(node);
  if (!node.IsSequence() || (node.size() == 0 && !rule.may_be_empty))
    fail(here, path,
         fmt::format("expected a {}list of integers, got {}", rule.may_be_empty ? "" : "non-empty ",
                     describe_node(node)));
  std::vector<int64_t> values;
  for (std::size_t i = 0; i < node.size(); ++i) {
    int64_t value = 0;
    read_value(node[i], here, fmt::format("{}[{}]", path, i), rule, value);
    values.push_back(value);
  }
  out = std::move(values);
}

/// Reads a list of strings (e.g. class names), each with `${VAR}` expanded; may be empty.
void read_value(const YAML::Node& node, const At& at, const std::string& path, const Rule&,
                std::vector<std::string>& out) {
  const At here = at.at(node);
  if (!node.IsSequence() && !(node.IsScalar() && node.Scalar().empty() && !is_quoted(node)))
    fail(here, path, fmt::format("expected a list of strings, got {}", describe_node(node)));
  std::vector<std::string> values;
  for (std::size_t i = 0; node.IsSequence() && i < node.size(); ++i) {
    const At item = here.at(node[i]);
    const std::string item_path = fmt::format("{}[{}]", path, i);
    if (!node[i].IsScalar() || node[i].Scalar().empty())
      fail(item, item_path, "expected a non-empty string, got " + describe_node(node[i]));
    values.push_back(expand_environment(node[i].Scalar(), item, item_path));
  }
  out = std::move(values);
}

// ---- visitor 1: loading ------------------------------------------------------

/// Schema visitor that binds every key path to a field of one Config, so a
/// YAML node can be read into it by path; also knows the section paths.
class Binder {
 public:
  /// Reads one YAML node into the field bound to a key path.
  using Assign = std::function<void(const YAML::Node&, const At&)>;

  /// Binds `path` to `field`, read with the reader for its type under `rule`.
  template <class T>
  void operator()(const char* path, T& field, const Rule& rule, const char* /*doc*/) {
    const std::string p = path;
    const auto parts = split_path(p);
    for (std::size_t n = 1; n < parts.size(); ++n) {
      std::vector<std::string> prefix(parts.begin(), parts.begin() + static_cast<std::ptrdiff_t>(n));
      if (sections_.insert(join(prefix, ".")).second) known_.push_back(join(prefix, "."));
    }
    known_.push_back(p);
    leaves_[p] = [&field, rule, p](const YAML::Node& node, const At& at) { read_value(node, at, p, rule, field); };
  }

  /// Applies the top-level node of a file.
  void apply_root(const YAML::Node& root, const Source& source) {
    const At at{&source, root.Mark()};
    if (root.IsNull()) return;  // empty file: all defaults
    if (!root.IsMap())
      throw ConfigError(fmt::format("{}: expected a map of sections at the top level, got {}",
                                    source.where(root.Mark()), describe_node(root)));
    apply_map(root, "", at);
  }

  /// Applies one `KEY=VALUE` override; VALUE is parsed as YAML (empty = "").
  void apply_override(const std::string& text) {
    const Source source{"--set " + one_line(text, SIZE_MAX), true};
    const At at{&source, YAML::Mark::null_mark()};
    const std::size_t eq = text.find('=');
    const std::string key = trim(text.substr(0, eq));
    if (eq == std::string::npos || key.empty())
      throw ConfigError(source.name + ": expected KEY=VALUE, e.g. --set train.epochs=10");
    if (!leaves_.count(key) && !sections_.count(key)) throw unknown_key(at, key);
    const std::string value = text.substr(eq + 1);
    YAML::Node node;
    if (trim(value).empty()) {
      node = YAML::Node(std::string());
    } else {
      try {
        node = YAML::Load(value);
      } catch (const YAML::Exception& e) {
        throw ConfigError(source.name + ": malformed YAML: " + e.msg);
      }
    }
    apply(key, node, at);
  }

 private:
  /// Applies `value` to the key or section at `path`.
  void apply(const std::string& path, const YAML::Node& value, const At& at) {
    if (const auto leaf = leaves_.find(path); leaf != leaves_.end()) return leaf->second(value, at);
    if (value.IsNull()) return;  // `section:` with nothing under it
    if (!value.IsMap()) fail(at.at(value), path, "expected a map of keys (a section), got " + describe_node(value));
    apply_map(value, path, at);
  }

  /// Applies every entry of the map `map`, whose path is `prefix` ("" = root).
  void apply_map(const YAML::Node& map, const std::string& prefix, const At& at) {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      const At key_at{at.source, entry.first.Mark()};
      if (!entry.first.IsScalar())
        fail(key_at, prefix.empty() ? "top level" : prefix, "keys must be names, got " + describe_node(entry.first));
      const std::string path = prefix.empty() ? entry.first.Scalar() : prefix + "." + entry.first.Scalar();
      if (!seen.insert(entry.first.Scalar()).second)
        throw ConfigError(fmt::format("{}: duplicate key '{}'", at.source->where(key_at.mark), one_line(path)));
      if (!leaves_.count(path) && !sections_.count(path)) throw unknown_key(key_at, path);
      apply(path, entry.second, key_at);
    }
  }

  /// The error for a path that names no key or section.
  ConfigError unknown_key(const At& at, const std::string& path) const {
    return ConfigError(fmt::format("{}: unknown key '{}'{}", at.source->where(at.mark), one_line(path),
                                   did_you_mean(suggest_key(path, known_))));
  }

  std::map<std::string, Assign> leaves_;
  std::set<std::string> sections_;
  std::vector<std::string> known_;  ///< sections and keys, in schema order (for suggestions)
};

// ---- visitor 2: YAML output ------------------------------------------------------

/// Schema visitor that emits every key as nested YAML maps, in schema order.
class Writer {
 public:
  /// Starts the top-level map; keys of other data kinds and encoders than
  /// `data_kind` and `encoder` are left out (see applies).
  Writer(std::string data_kind, std::string encoder) : kind_(std::move(data_kind)), encoder_(std::move(encoder)) {
    out_ << YAML::BeginMap;
  }

  /// Whether a key documented by `doc` matters to a config of this data kind
  /// and encoder: a doc line that starts with data kinds or encoders
  /// ("text_bags: ...", "mlp, histo_cnn: ...", "feature_bags, image_patches,
  /// text_bags with `abmil train`: ...") names the only ones it is for.
  bool applies(const char* doc) const {
    static const std::set<std::string> names = {"mnist_bags", "feature_bags", "image_patches", "text_bags",
                                                "feature_files", "lenet5", "mlp", "histo_cnn", "text"};
    const std::string text(doc);
    const std::string prefix = text.substr(0, text.find(':'));
    std::istringstream words(prefix);
    bool first = true, named = false;
    for (std::string w; words >> w; first = false) {
      if (!w.empty() && w.back() == ',') w.pop_back();
      if (!names.count(w)) {
        if (first) return true;  // not a list of kinds or encoders: for every config
        continue;
      }
      named = named || w == kind_ || w == encoder_;
    }
    return named || prefix == text;
  }

  /// Emits `path: field`, opening and closing section maps as the path
  /// changes; nothing for a key that does not apply.
  template <class T>
  void operator()(const char* path, T& field, const Rule& /*rule*/, const char* doc) {
    if (!applies(doc)) return;
    const auto parts = split_path(path);
    std::size_t common = 0;
    while (common < open_.size() && common + 1 < parts.size() && open_[common] == parts[common]) ++common;
    close_to(common);
    for (std::size_t i = common; i + 1 < parts.size(); ++i) {
      out_ << YAML::Key << parts[i] << YAML::Value << YAML::BeginMap;
      open_.push_back(parts[i]);
    }
    out_ << YAML::Key << parts.back() << YAML::Value;
    emit(field);
  }

  /// Closes every open map and returns the text.
  std::string finish() {
    close_to(0);
    out_ << YAML::EndMap;
    return std::string(out_.c_str()) + "\n";
  }

 private:
  /// Closes open section maps until `depth` remain.
  void close_to(std::size_t depth) {
    for (; open_.size() > depth; open_.pop_back()) out_ << YAML::EndMap;
  }
  /// Emits one value, in the form the loader reads back to the same value.
  void emit(int64_t v) { out_ << v; }
  void emit(double v) { out_ << format_float(v); }  // shortest text that reads back exactly
  void emit(bool v) { out_ << YAML::TrueFalseBool << v; }
  void emit(const std::string& v) { out_ << v; }  // the emitter quotes "", "null", "a: b", ...
  void emit(const std::vector<double>& v) {
    out_ << YAML::Flow << YAML::BeginSeq;
    for (double x : v) out_ << format_float(x);
    out_ << YAML::EndSeq;
  }
  void emit(const std::vector<int64_t>& v) {
    out_ << YAML::Flow << YAML::BeginSeq;
    for (int64_t x : v) out_ << x;
    out_ << YAML::EndSeq;
  }
  void emit(const std::vector<std::string>& v) {
    out_ << YAML::Flow << YAML::BeginSeq;
    for (const std::string& x : v) out_ << x;
    out_ << YAML::EndSeq;
  }

  YAML::Emitter out_;
  std::vector<std::string> open_;
  std::string kind_, encoder_;
};

// ---- visitor 3: reference table --------------------------------------------------

/// Schema visitor that collects one row per key: path, type, default, allowed values, doc.
class Reference {
 public:
  /// Starts the table with its header row.
  Reference() { rows_.push_back({"KEY", "TYPE", "DEFAULT", "ALLOWED", "DESCRIPTION"}); }

  /// Adds the row of one key; `field` holds its default.
  template <class T>
  void operator()(const char* path, T& field, const Rule& rule, const char* doc) {
    std::string allowed = rule.choices.empty() ? describe_range(rule) : join(rule.choices, "|");
    rows_.push_back({path, type_name(field, rule), default_text(field), std::move(allowed), doc});
  }

  /// The aligned table with a header line.
  std::string table() const {
    std::array<std::size_t, 4> width{};
    for (const auto& row : rows_)
      for (std::size_t c = 0; c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
    std::string out;
    for (const auto& row : rows_) {
      for (std::size_t c = 0; c < width.size(); ++c) out += fmt::format("{:<{}}  ", row[c], width[c]);
      out += row[4] + "\n";
    }
    return out;
  }

 private:
  /// The TYPE column: int, float, bool, string or float[N].
  static std::string type_name(int64_t, const Rule&) { return "int"; }
  static std::string type_name(double, const Rule&) { return "float"; }
  static std::string type_name(bool, const Rule&) { return "bool"; }
  static std::string type_name(const std::string&, const Rule&) { return "string"; }
  static std::string type_name(const std::vector<double>&, const Rule& rule) {
    return rule.items ? fmt::format("float[{}]", rule.items) : "float[]";
  }
  static std::string type_name(const std::vector<int64_t>&, const Rule&) { return "int[]"; }
  static std::string type_name(const std::vector<std::string>&, const Rule&) { return "string[]"; }
  /// The DEFAULT column, written as in a YAML file ("" for an empty string).
  static std::string default_text(int64_t v) { return std::to_string(v); }
  static std::string default_text(double v) { return format_float(v); }
  static std::string default_text(bool v) { return v ? "true" : "false"; }
  static std::string default_text(const std::string& v) { return v.empty() ? "\"\"" : v; }
  static std::string default_text(const std::vector<int64_t>& v) {
    std::vector<std::string> items;
    for (int64_t x : v) items.push_back(std::to_string(x));
    return "[" + join(items, ", ") + "]";
  }
  static std::string default_text(const std::vector<std::string>& v) { return "[" + join(v, ", ") + "]"; }
  static std::string default_text(const std::vector<double>& v) {
    std::vector<std::string> items;
    for (double x : v) items.push_back(format_float(x));
    return "[" + join(items, ", ") + "]";
  }

  std::vector<std::array<std::string, 5>> rows_;
};

/// Counts the documents of a YAML stream without building them.
class DocumentCounter : public YAML::EventHandler {
 public:
  YAML::Mark last_start;  ///< where the latest document began
  void OnDocumentStart(const YAML::Mark& mark) override { last_start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

/// yaml-cpp 0.7's LoadAll never returns on a stray ',' outside brackets (it
/// makes empty documents until memory runs out; found by fuzz/fuzz_config):
/// walk the documents with a bound first. Throws ConfigError naming the
/// place, or YAML::Exception for what LoadAll would reject too.
void check_documents_end(const std::string& text, const Source& file) {
  constexpr int kMaxDocuments = 1000;
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  for (int docs = 0; parser.HandleNextDocument(counter);)
    if (++docs > kMaxDocuments)
      throw ConfigError(
          fmt::format("{}: malformed YAML: the parser makes no progress here (a stray ',' outside "
                      "[] or {{}}?)",
                      file.where(counter.last_start)));
}

}  // namespace

// ---- public API --------------------------------------------------------------

/// Parses YAML text (first document), then applies the overrides in order.
Config parse_config(const std::string& yaml_text, const std::string& source_name,
                    const std::vector<std::string>& overrides) {
  Config config;
  // Defaults that follow the file: filled in below when nothing sets them.
  config.experiment.name.clear();
  config.model.encoder.clear();
  Binder binder;
  visit_schema(config, binder);
  const Source file{source_name, false};
  std::vector<YAML::Node> documents;
  try {
    // Without the trailing line breaks: yaml-cpp 0.7 reports a quoted string
    // left open only when the text ends right after it, and otherwise takes
    // the rest of the file into the string without a word.
    const std::string text = yaml_text.substr(0, yaml_text.find_last_not_of(" \t\r\n") + 1);
    check_documents_end(text, file);
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}: malformed YAML: {}", file.where(e.mark), e.msg));
  }
  for (std::size_t i = 1; i < documents.size(); ++i)
    if (!documents[i].IsNull())
      throw ConfigError(fmt::format("{}: a config file holds one YAML document, found another here",
                                    file.where(documents[i].Mark())));
  if (!documents.empty()) binder.apply_root(documents[0], file);
  for (const auto& text : overrides) binder.apply_override(text);
  if (config.experiment.name.empty()) {
    const std::filesystem::path p(source_name);
    const std::string ext = p.extension().string();
    config.experiment.name = ext == ".yaml" || ext == ".yml" ? p.stem().string() : Config().experiment.name;
  }
  if (config.model.encoder.empty()) config.model.encoder = default_encoder(config.data.kind);
  return config;
}

std::string default_encoder(const std::string& data_kind) {
  if (data_kind == "feature_bags" || data_kind == "feature_files") return "mlp";
  if (data_kind == "image_patches") return "histo_cnn";
  if (data_kind == "text_bags") return "text";
  return "lenet5";
}

/// Reads `path` whole and hands it to parse_config under its own name.
namespace {

/// `value` made absolute against `base` (normalised); empty and absolute
/// values as they are.
std::string absolute_data_path(const std::string& value, const std::filesystem::path& base) {
  if (value.empty() || std::filesystem::path(value).is_absolute()) return value;
  return (std::filesystem::absolute(base) / value).lexically_normal().string();
}

/// Whether YAML `text` holds no document with content (0 bytes, only
/// comments, or null documents); malformed YAML is parse_config's to report.
bool sets_no_key(const std::string& text) {
  try {
    for (const YAML::Node& document : YAML::LoadAll(text))
      if (!document.IsNull()) return false;
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

}  // namespace

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw ConfigError(path + ": cannot read config file: it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read config file: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read config file: read error");
  // A 0-byte or comments-only file (a truncated copy, a wrong path to a
  // placeholder) would start a long run with every default: refuse it.
  if (overrides.empty() && sets_no_key(text.str()))
    throw ConfigError(path +
                      ": the config file sets no key (empty or only comments); refusing to run with every "
                      "default: set at least data.kind, in the file or with --set (see `abmil config`)");
  Config config = parse_config(text.str(), path, overrides);
  // Data paths: relative to the config file's folder when the file gives
  // them, to the current directory when --set does; made absolute, so a run's
  // saved config.yaml means the same files wherever it is read from.
  const Config from_file = overrides.empty() ? config : parse_config(text.str(), path);
  const std::filesystem::path config_dir = std::filesystem::absolute(path).parent_path();
  const std::filesystem::path cwd = std::filesystem::current_path();
  const auto resolve = [&](std::string& value, const std::string& file_value) {
    value = absolute_data_path(value, value == file_value ? config_dir : cwd);
  };
  resolve(config.data.path, from_file.data.path);
  resolve(config.data.root, from_file.data.root);
  resolve(config.data.image_root, from_file.data.image_root);
  resolve(config.data.bag_list, from_file.data.bag_list);
  resolve(config.data.features, from_file.data.features);
  resolve(config.data.split_csv, from_file.data.split_csv);
  resolve(config.data.instance_labels, from_file.data.instance_labels);
  resolve(config.data.slide_dir, from_file.data.slide_dir);
  return config;
}

void make_data_paths_absolute(Config& config, const std::filesystem::path& base) {
  for (std::string* value : {&config.data.path, &config.data.root, &config.data.image_root, &config.data.bag_list,
                             &config.data.features, &config.data.split_csv, &config.data.instance_labels, &config.data.slide_dir})
    *value = absolute_data_path(*value, base);
}

/// Emits every key of `config` through the Writer visitor.
std::string config_to_yaml(const Config& config) {
  Config copy = config;  // visit_schema takes a mutable tree; the writer only reads it
  Writer writer(config.data.kind, config.model.encoder);
  visit_schema(copy, writer);
  return writer.finish();
}

/// Lists every key of a default Config through the Reference visitor.
std::string config_reference() {
  Config defaults;
  Reference reference;
  visit_schema(defaults, reference);
  return reference.table();
}

}  // namespace abmil
