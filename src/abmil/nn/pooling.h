// MIL pooling operators (Ilse, Tomczak & Welling 2018, Sec. 2.3-2.4).
//
// Every pooling works on a packed batch: H [N, M] instance embeddings,
// bag_index [N] (bag of each instance, 0..B-1) and B; it returns one
// bag embedding z [B, M] per bag. Attention poolings also return the raw
// attention scores and the softmax weights a_k [N] (sum 1 within each bag).
//
// Example:
//   GatedAttentionPooling pool(GatedAttentionPoolingOptions(500).attention_dim(128));
//   PoolingOutput out = pool->forward(H, bag_index, B);   // out.z: [B, 500]
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/arg.h>

#include <memory>
#include <string>
#include <vector>

namespace abmil {

/// Result of a pooling over a packed batch of B bags with N instances.
struct PoolingOutput {
  /// [B, M] bag embeddings; [B, C, M] with C attention branches (one z per branch)
  torch::Tensor z;
  /// [N] raw scores w^T(...) before the softmax ([N, C] with C branches); undefined without attention
  torch::Tensor attention_logits;
  /// [N] weights a_k, sum 1 per bag ([N, C] with C branches, each column sums
  /// to 1 per bag); undefined without attention
  torch::Tensor attention;
  /// [N, h] the weights of each of h heads (multihead_gated_attention) or
  /// seeds (pma), each column summing to 1 per bag; `attention` is their
  /// mean. Undefined for the other poolings.
  torch::Tensor head_attention;
  /// [N, C] instance scores of a pooling with an instance classifier (dsmil:
  /// C = the model's outputs); undefined otherwise
  torch::Tensor instance_logits;
};

/// Base class of the embedding-level poolings, so a model can hold any of them.
class MilPoolingImpl : public torch::nn::Module {
 public:
  /// H [N, M] float, bag_index [N] int64 in [0, num_bags) -> PoolingOutput.
  virtual PoolingOutput forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) = 0;
  /// Pooling name as in the config (model.pooling).
  virtual std::string name() const = 0;
  /// Size of z per bag (per branch) for instance embeddings of size M: M,
  /// or h M / k M when heads or seeds are concatenated.
  virtual int64_t output_dim(int64_t embedding_dim) const { return embedding_dim; }
  /// What a column of PoolingOutput::head_attention is ("head" or "seed"):
  /// the attention CSV names them attention_<head_column><i>.
  virtual std::string head_column() const { return "head"; }
};

/// Mean pooling z = (1/K) sum_k h_k (paper eq. 3-4 with the mean operator).
class MeanPoolingImpl : public MilPoolingImpl {
 public:
  PoolingOutput forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) override;
  std::string name() const override { return "mean"; }
};
TORCH_MODULE(MeanPooling);

/// Max pooling z_m = max_k h_km (paper eq. 3 with the max operator).
class MaxPoolingImpl : public MilPoolingImpl {
 public:
  PoolingOutput forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) override;
  std::string name() const override { return "max"; }
};
TORCH_MODULE(MaxPooling);

/// Options of AttentionPooling and GatedAttentionPooling.
struct AttentionPoolingOptions {
  /* implicit */ AttentionPoolingOptions(int64_t embedding_dim) : embedding_dim_(embedding_dim) {}
  TORCH_ARG(int64_t, embedding_dim);        ///< M, size of h_k
  TORCH_ARG(int64_t, attention_dim) = 128;  ///< L, hidden size of the attention network
  /// Dropout on the weights a_k in training (kept ones scaled by 1 / (1 - p), as
  /// torch.nn.MultiheadAttention's dropout): z is pooled with fewer instances;
  /// PoolingOutput::attention stays the softmax weights. 0 = none (the paper).
  TORCH_ARG(double, dropout) = 0.0;
  /// C, attention branches (CLAM-MB, Lu et al. 2021): w in R^{L x C} gives C
  /// scores per instance, one softmax per branch, and one bag embedding per
  /// branch, z [B, C, M]. 1 = the paper's single branch, z [B, M].
  TORCH_ARG(int64_t, branches) = 1;
};
using GatedAttentionPoolingOptions = AttentionPoolingOptions;

/// Attention pooling, paper eq. 8:
///   a_k = exp(w^T tanh(V h_k)) / sum_j exp(w^T tanh(V h_j)),  z = sum_k a_k h_k,
/// with V in R^{L x M} (with bias, as the reference code) and w in R^{L x 1}
/// (R^{L x C} with C branches: a_kc = softmax_k(w_c^T tanh(V h_k)), z_c = sum_k a_kc h_k).
class AttentionPoolingImpl : public MilPoolingImpl {
 public:
  explicit AttentionPoolingImpl(const AttentionPoolingOptions& options);
  PoolingOutput forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) override;
  std::string name() const override { return "attention"; }
  AttentionPoolingOptions options;

 protected:
  /// The raw scores w^T tanh(V h_k): H [N, M] -> [N] ([N, C] with C branches).
  virtual torch::Tensor scores(const torch::Tensor& H);
  torch::nn::Linear V{nullptr}, w{nullptr};
};
TORCH_MODULE(AttentionPooling);

/// Gated attention pooling, paper eq. 9:
///   a_k = softmax_k( w^T (tanh(V h_k) ⊙ sigm(U h_k)) ),  z = sum_k a_k h_k,
/// with U in R^{L x M} the gate. Same shapes as AttentionPooling.
class GatedAttentionPoolingImpl : public AttentionPoolingImpl {
 public:
  explicit GatedAttentionPoolingImpl(const GatedAttentionPoolingOptions& options);
  std::string name() const override { return "gated_attention"; }

 protected:
  torch::Tensor scores(const torch::Tensor& H) override;
  torch::nn::Linear U{nullptr};
};
TORCH_MODULE(GatedAttentionPooling);

/// Instance-level MIL pooling of instance scores s_k (logits of the instance
/// classifier; paper Sec. 2.2, mi-Net style): returns bag logits [B].
///   instance_max:  P(Y=1) = max_k sigm(s_k)  =>  logit = max_k s_k
///   instance_mean: P(Y=1) = (1/K) sum_k sigm(s_k), logit = log P - log(1-P)
///                  computed with log-sum-exp of log-sigmoids (stable).
/// `mode` is "instance_max" or "instance_mean"; throws std::invalid_argument otherwise.
torch::Tensor pool_instance_logits(const torch::Tensor& instance_logits, const torch::Tensor& bag_index,
                                   int64_t num_bags, const std::string& mode);

/// True for the poolings that pool instance scores instead of embeddings.
bool is_instance_level(const std::string& pooling);

/// Everything an embedding-level pooling is built from (the model.* keys of
/// the same names; README, "Poolings").
struct PoolingSpec {
  std::string name;              ///< model.pooling
  int64_t embedding_dim = 0;     ///< M, size of h_k
  int64_t attention_dim = 128;   ///< L (attention, gated, multihead: hidden size; dsmil: size of the queries)
  double dropout = 0.0;          ///< dropout on the attention weights in training
  int64_t branches = 1;          ///< C attention branches (attention, gated_attention)
  int64_t heads = 4;             ///< h: multihead_gated_attention, pma, transformer
  std::string merge = "concat";  ///< heads (multihead) / seeds (pma): concat | mean
  int64_t seeds = 1;             ///< k learned seed vectors (pma)
  int64_t layers = 2;            ///< self-attention layers (transformer)
  double lse_r = 5.0;            ///< r of lse pooling
  int64_t pool_k = 3;            ///< k of topk_mean
  int64_t classes = 1;           ///< C of the model's outputs (dsmil: one critical instance per output)
  double memory_mib = 4096;      ///< transformer: bags whose exact attention needs more are refused
};

/// The embedding-level pooling of `spec` (the registry: mean | max | lse |
/// topk_mean | attention | gated_attention | multihead_gated_attention | pma
/// | transformer | dsmil). Throws std::invalid_argument with a one-line
/// reason for an unknown name, branches > 1 with a pooling other than
/// attention/gated_attention or branches < 1, heads that do not divide M
/// (pma, transformer), and k, heads, seeds, layers or r out of range.
std::shared_ptr<MilPoolingImpl> make_pooling(const PoolingSpec& spec);

/// make_pooling(PoolingSpec) for the four poolings of the paper (mean | max |
/// attention | gated_attention), as the text encoder's token pooling uses.
std::shared_ptr<MilPoolingImpl> make_pooling(const std::string& pooling, int64_t embedding_dim, int64_t attention_dim,
                                             double attention_dropout = 0.0, int64_t branches = 1);

/// The names make_pooling(PoolingSpec) knows, in registry order.
const std::vector<std::string>& pooling_names();

}  // namespace abmil
