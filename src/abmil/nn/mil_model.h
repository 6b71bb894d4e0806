// The MIL model: instance encoder, pooling, bag classifier (README, "Architecture").
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string>
#include <vector>

#include "abmil/nn/encoders.h"
#include "abmil/nn/pooling.h"

namespace abmil {

struct ModelConfig;

/// Output of MilModel for a packed batch of B bags with N instances.
struct MilOutput {
  /// [B] logit of P(Y=1 | bag) (one output); [B, C] class logits (C outputs, softmax)
  torch::Tensor bag_logits;
  /// [N] raw attention scores (with C branches: the branch of the bag's predicted class); undefined without attention
  torch::Tensor attention_logits;
  /// [N] attention weights a_k, sum 1 per bag (with C branches: the branch
  /// of the bag's predicted class); undefined without attention
  torch::Tensor attention;
  /// [N, C] the weights of every branch (model.attention_branches per_class);
  /// undefined with one branch
  torch::Tensor branch_attention;
  /// [N] instance classifier logits: instance-level poolings, and dsmil (its
  /// instance stream; with C outputs the predicted class's column)
  torch::Tensor instance_logits;
  /// dsmil: [B] (one output) or [B, C] the largest instance score of each
  /// bag and class, for the max-instance loss; undefined otherwise
  torch::Tensor max_instance_logits;
  /// [N, h] each head's (multihead_gated_attention) or seed's (pma) weights;
  /// `attention` is their mean; undefined for the other poolings
  torch::Tensor head_attention;
  /// [B, D] the bag embedding z before the classifier (and before
  /// model.normalize_embedding; C branches flattened, D = C M); undefined for
  /// instance-level poolings
  torch::Tensor bag_embedding;
  /// [N, T] the encoder's inner weights (text: token weights of each sentence,
  /// each row sums to 1); undefined for encoders without (see EncoderOutput)
  torch::Tensor inner_attention;
  /// [N, M] the instance embeddings H the pooling saw; set only when the
  /// model has CLAM's instance classifiers (MilModelImpl::instance_k > 0)
  torch::Tensor embeddings;
};

/// theta(X) = g(sigma(f(X))): encoder f, MIL pooling sigma, classifier g (paper eq. 5).
/// Embedding-level: H = f(x) [N,M] -> z = pooling(H) [B,M] -> g(z) = fc(M->1),
/// or fc(M->C) for C > 2 classes (CLAM's multi-class head).
/// Instance-level (instance_max, instance_mean): s_k = fc(h_k), then the
/// bag logit pools the instance scores (pool_instance_logits).
/// The classifier takes the pooling's output_dim(M) (h M for concatenated
/// heads, k M for pma seeds, C M for dsmil).
/// model.attention_branches per_class (CLAM-MB, Lu et al., Nat. Biomed. Eng.
/// 2021): C attention branches (C classes; 2 for binary data) give C bag
/// embeddings z_c [B, C, M] and one classifier per class, logit_c = w_c^T z_c
/// + b_c; binary data: the logit of P(Y=1) is logit_1 - logit_0 (the softmax
/// of the two, as CLAM_MB with two classes).
class MilModelImpl : public torch::nn::Module {
 public:
  /// Builds the model of `config` for instances of `instance_shape`;
  /// `vocabulary_size` > 0 for token-id instances (text_bags: the rows of
  /// model.encoder text's embedding table, MilData::vocabulary.size()).
  /// `outputs`: 1 (binary, a logit of P(Y=1)) or C > 2 class logits
  /// (MilData::num_outputs()).
  /// Throws std::invalid_argument for unknown encoder/pooling/classifier
  /// names, an encoder that cannot take the instances, outputs < 1, an
  /// instance-level pooling with more than one output, per_class
  /// branches or an instance loss with a pooling without attention, and
  /// the pooling errors of make_pooling(PoolingSpec).
  MilModelImpl(const ModelConfig& config, const std::vector<int64_t>& instance_shape, int64_t vocabulary_size = 0,
               int64_t outputs = 1);

  /// instances [N, ...], bag_index [N] int64 in [0, num_bags) -> MilOutput
  /// (with the encoder's inner_attention when it has one).
  MilOutput forward(const torch::Tensor& instances, const torch::Tensor& bag_index, int64_t num_bags);

  /// Pooling and classifier on given embeddings H [N, M] (used when the
  /// encoder runs in chunks, see evaluate()).
  MilOutput forward_embeddings(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags);

  /// CLAM's instance-level clustering loss (Lu et al., Nat. Biomed. Eng.
  /// 2021, "Instance-level clustering"; CLAM's inst_eval / inst_eval_out)
  /// for `out` of a packed batch (bag_index [N], bags contiguous) with bag
  /// labels `labels` [B] (0/1, or class indices). For each bag of class y,
  /// classifier y (fc M -> 2) takes the k = min(instance_k, n) instances
  /// with the highest weights of branch y (the one branch with
  /// attention_branches 1) as class 1 and the k lowest as class 0; with
  /// instance_out_of_class, every other classifier c takes branch c's k
  /// highest as class 0, and the bag's sum is divided by the number of
  /// classifiers. Each term is the cross-entropy mean over its 2k (or k)
  /// instances; the result is the mean over bags, a scalar. Gradients reach
  /// H and the instance classifiers, not the attention (the ranking only
  /// picks rows). Throws std::logic_error without instance classifiers or
  /// embeddings, std::invalid_argument for a label outside [0, classifiers).
  torch::Tensor instance_clustering_loss(const MilOutput& out, const torch::Tensor& bag_index,
                                         const torch::Tensor& labels) const;

  std::shared_ptr<InstanceEncoderImpl> encoder;
  std::shared_ptr<MilPoolingImpl> pooling;  ///< null for instance-level poolings
  torch::nn::Linear classifier{nullptr};  ///< fc M -> outputs; null with C branches
  /// C branches: the C classifiers' weights [C, M] and biases [C]; undefined with one branch
  torch::Tensor branch_weight, branch_bias;
  /// model.instance_loss ce: CLAM's instance classifiers, one fc M -> 2 per
  /// class (2 for binary data): weights [K, 2, M], biases [K, 2]; undefined otherwise
  torch::Tensor instance_weight, instance_bias;
  int64_t instance_k = 0;              ///< model.instance_k with instance_loss ce; 0 = no instance loss
  bool instance_out_of_class = false;  ///< model.instance_out_of_class
  /// model.normalize_embedding: the classifier sees embedding_scale z / ||z||_2
  /// (per branch); a [1] learned scale, initialised to sqrt(D); undefined otherwise
  torch::Tensor embedding_scale;
  std::string pooling_name;
  int64_t outputs = 1;   ///< 1 or C
  int64_t branches = 1;  ///< attention branches: 1, or C (2 for one output) with per_class
  /// The C outputs are independent labels (MilData::multi_label): one
  /// sigmoid each, not a softmax; set by whoever builds the model.
  bool multi_label = false;
};
TORCH_MODULE(MilModel);

}  // namespace abmil
