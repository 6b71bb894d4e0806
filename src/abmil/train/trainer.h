// Training and evaluation of a MilModel on bag splits.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "abmil/data/bag.h"
#include "abmil/metrics/metrics.h"
#include "abmil/nn/mil_model.h"
#include "abmil/train/adam.h"

namespace abmil {

struct Config;
struct TrainConfig;
struct MilData;

/// Model outputs for every bag of a split, in split order.
struct BagPredictions {
  /// [B] P(Y=1 | bag) (one output); with C > 2 classes the probability of
  /// the predicted class (the largest of class_probabilities' row)
  std::vector<double> probabilities;
  std::vector<int> labels;  ///< [B] bag labels: 0/1, or class indices with C classes (-1: unknown)
  /// [B, C] float64 softmax class probabilities (C > 2 outputs), or multi-label
  /// the C sigmoids; undefined for one output
  torch::Tensor class_probabilities;
  bool multi_label = false;  ///< class_probabilities are C independent labels (MilModelImpl::multi_label)
  /// multi-label: [B, C] float64 0/1 true labels (Bag::targets); undefined otherwise
  torch::Tensor targets;
  /// mean negative log-likelihood over the bags, nats (Bernoulli, or
  /// categorical with C classes); NaN when a label is unknown
  double loss = 0;
  torch::Tensor attention;         ///< [N_total] a_k aligned with split.instances rows; undefined without attention
  torch::Tensor attention_logits;  ///< [N_total] raw scores before the softmax; undefined without attention
  /// [N_total, C] every branch's weights (model.attention_branches per_class;
  /// `attention` is then the predicted class's column); undefined with one branch
  torch::Tensor branch_attention;
  /// [N_total] sigm(s_k) of instance-level poolings and of dsmil's instance
  /// stream; else undefined
  torch::Tensor instance_probabilities;
  /// [N_total, h] each head's / seed's weights (multihead_gated_attention,
  /// pma; `attention` is their mean); undefined for the other poolings
  torch::Tensor head_attention;
  std::string head_column = "head";  ///< what a head_attention column is: head | seed
  /// [B, D] float32 bag embeddings z before the classifier (MilOutput::bag_embedding); undefined for instance-level
  /// poolings
  torch::Tensor bag_embeddings;
  /// [N_total, T] the encoder's inner weights (text: token weights of each
  /// sentence, 0 at <pad>); undefined for encoders without
  torch::Tensor inner_attention;
};

/// Bags pooled together in one evaluation group hold at most this many
/// instances (H of a group: at most this x M floats); a larger bag is a group
/// of its own.
constexpr int64_t kPoolingGroupInstances = 32768;

/// Runs `model` in eval mode without gradients over all bags of `split`.
/// The encoder runs in forward passes of at most `max_instances_per_pass`
/// instances, each distinct source instance of a group encoded once (bags
/// drawn with replacement share instances: 37% of the MNIST-bags test draws);
/// then each group of bags is pooled whole. The result equals the
/// one-bag-at-a-time computation, however large a bag is. With
/// `deduplicate` false every instance is encoded, repeats included.
BagPredictions predict(MilModel& model, const BagSplit& split, int64_t max_instances_per_pass, torch::Device device,
                       bool deduplicate = true);

/// The bag metrics of `p`: classification_metrics of the probabilities at
/// `threshold` (one output), or with C classes accuracy and error plus the
/// macro averages of multiclass_metrics in precision, recall, f1 and auc
/// (macro one-vs-rest AUC); multi-label, multilabel_metrics at `threshold`:
/// accuracy = exact match, f1 = macro F1, auc = macro AUC, precision and
/// recall NaN. No bags, or a bag with label -1, makes every multi-class or
/// multi-label metric NaN.
ClassificationMetrics prediction_metrics(const BagPredictions& p, double threshold);

/// The rows of multi-label targets [B, C] (0/1, any dtype) as B vectors of C ints.
std::vector<std::vector<int>> target_rows(const torch::Tensor& targets);

/// The rows of class probabilities [B, C] as B vectors of C float64s.
std::vector<std::vector<double>> class_probability_rows(const torch::Tensor& class_probabilities);

/// The loss of bag logits against labels: binary cross-entropy on logits
/// [B] (labels [B] float 0/1); with logits [B, C] and labels [B, C] 0/1
/// (multi-label) binary cross-entropy of each of the C sigmoids, mean over
/// the B x C terms (torch.nn.BCEWithLogitsLoss; class_weights not allowed:
/// std::invalid_argument); with logits [B, C] cross-entropy against
/// labels [B] (class indices, any dtype), weighted per class by
/// `class_weights` [C] when defined (train.class_balance loss_weights; [2]
/// for the binary loss, indexed by the 0/1 label). Mean over the bags; with
/// class weights the weighted mean sum(w_y l) / sum(w_y), as PyTorch's
/// cross_entropy(weight=...).
torch::Tensor bag_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                       const torch::Tensor& class_weights = {});

/// One row of metrics.csv: one epoch and one split.
struct EpochLog {
  int64_t epoch = 0;  ///< 1-based
  std::string split;  ///< train | validation | test
  double loss = 0;    ///< mean bag loss, nats
  ClassificationMetrics metrics;
  double seconds = 0;  ///< wall time of this split's pass
};

/// What fit() did.
struct TrainResult {
  std::vector<EpochLog> history;
  int64_t best_epoch = 0;  ///< epoch whose weights were restored
  int64_t epochs_run = 0;
  bool stopped_early = false;
  double train_seconds = 0;  ///< wall time of all epochs, validation included
};

/// Called after every epoch with that epoch's train and validation rows.
using EpochCallback = std::function<void(const EpochLog& train, const EpochLog* validation)>;

struct TrainState;  // train/checkpoint.h

/// Called with the whole training state after each epoch to checkpoint.
using CheckpointCallback = std::function<void(const TrainState& state)>;

/// Training stopped because the loss or a gradient was NaN or infinite;
/// what() names the epoch and step ("training diverged: non-finite loss
/// (nan) at epoch 3, step 17 of 180").
class TrainingDiverged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// How fit() reports and where it starts.
struct FitOptions {
  EpochCallback on_epoch;  ///< after every epoch
  /// After each epoch that sets a new best monitored loss and every
  /// train.checkpoint_every epochs (not after the last epoch of the run).
  CheckpointCallback on_checkpoint;
  const TrainState* resume = nullptr;  ///< go on from this state (a checkpoint) instead of epoch 0
  bool show_progress = false;          ///< progress bar on stderr
};

/// Throws std::invalid_argument when `data` cannot be trained as `config`
/// says: on multi-label data, train.class_balance other than none (the
/// balancing weighs single-label classes) or a model.instance_loss (CLAM's
/// instance classifiers take one class per bag). fit() checks it;
/// run_train checks it before making a run directory.
void check_trainable(const Config& config, const MilData& data);

/// FusedAdam's options from train.optimizer (lr, betas, weight decay), as
/// fit() trains with them. Throws std::out_of_range when betas has fewer
/// than two values (load_config refuses such a config first).
AdamOptions adam_options(const TrainConfig& tc);

/// Trains `model` on `data.train` with Adam (config.train.optimizer), B =
/// train.bags_per_step bags per step, loss = mean over the batch's bags of
/// the negative Bernoulli log-likelihood (binary cross-entropy on logits,
/// stable for any logit), or with C > 2 classes the cross-entropy
/// (bag_loss); train.class_balance weights the classes' losses
/// (loss_weights: N / (C N_c)) or draws each epoch's N bags with
/// replacement, a bag of class c with probability proportional to 1 / N_c
/// (sampler, CLAM's weighted sampling). A streamed split (feature_files)
/// reads the next step's bags in a background thread while a step computes. Early stopping on the validation loss
/// (train.early_stopping; the training loss when there is no validation
/// split; epochs up to train.early_stopping.start_epoch are a warm-up, not
/// monitored); the weights of the best epoch are restored at the end (the
/// last weights when the run ends within the warm-up).
/// Bag order is shuffled each epoch from experiment.seed. uint8 image
/// instances (image_patches) are augmented per step as config.data.augment
/// says (augment_patches, LibTorch's default generator), then scaled
/// (model_input); validation and test instances are never augmented.
TrainResult fit(MilModel& model, const MilData& data, const Config& config, torch::Device device,
                const EpochCallback& on_epoch = {}, bool show_progress = false);

/// fit() with checkpoints and resume. With `options.resume` the model,
/// Adam's moments and step count, the early-stopping state, the epoch log
/// and both random number generators (bag order; LibTorch's CPU generator,
/// i.e. dropout) are set from it, and training goes on at its epoch + 1:
/// the result is identical to a run never interrupted (same threads, same
/// data). Throws TrainingDiverged on a non-finite loss or gradient, and
/// CheckpointError when `resume` does not fit the model.
TrainResult fit(MilModel& model, const MilData& data, const Config& config, torch::Device device,
                const FitOptions& options);

/// Instance-level AUC of attention weights: over the instances of the
/// positive bags (label > 0: label 1, or any class but the first) of `split` that have known instance labels, ROC AUC of
/// `weights` [N_total] against the instance labels. NaN when undefined.
double instance_auc(const BagSplit& split, const torch::Tensor& weights);

/// Instance-level AUC within each bag, averaged: for every positive bag of
/// `split` (as instance_auc) holding both instance labels, ROC AUC of its
/// `weights` [N_total] rows against its instance labels; the mean over those
/// bags, NaN when there are none. Unlike instance_auc it does not compare
/// weights across bags, whose softmax scales differ with bag size and
/// witness fraction (slides of 1,000-100,000 patches): it asks how well the
/// attention ranks each slide's own positive instances, as a heatmap shows.
double instance_auc_per_bag(const BagSplit& split, const torch::Tensor& weights);

/// The weights of each bag's own class's branch: row r of
/// `branch_attention` [N_total, C] at column label(bag of r), [N_total]
/// (instance_auc "for the true class's branch"); a bag with label < 0 takes
/// column 0. Throws std::invalid_argument when a label is >= C or the rows
/// differ from split.num_instances().
torch::Tensor true_class_branch(const BagSplit& split, const torch::Tensor& branch_attention);

/// Precision and recall of the top-k instances by `weights` [N_total] within
/// each positive bag of `split` with instance labels (see top_k_instances).
TopKMetrics instance_top_k(const BagSplit& split, const torch::Tensor& weights, int64_t k);

}  // namespace abmil
