// CLS-token pooling over a transformer encoder of each bag's instances
// (TransMIL-style, Shao et al., NeurIPS 2021; README, "Poolings").
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "abmil/nn/multihead_projection.h"
#include "abmil/nn/pooling.h"

namespace abmil {

/// One pre-norm transformer encoder layer, as torch.nn.TransformerEncoderLayer
/// (norm_first=True, activation relu, dim_feedforward F = 2 M, no dropout
/// but on the attention weights):
///   x = x + MHA(LN1(x)),  x = x + W2 relu(W1 LN2(x)).
class TransformerLayerImpl : public torch::nn::Module {
 public:
  /// Throws std::invalid_argument when h does not divide M.
  TransformerLayerImpl(int64_t embedding_dim, int64_t heads, double dropout);
  /// x [n, M] -> [n, M]; with `cls_only`, the CLS row alone ([1, M]; only
  /// row 0 queries) and its attention over the n rows in `cls_attention`
  /// [h, n] and the scaled scores in `cls_scores` [h, n].
  torch::Tensor forward(const torch::Tensor& x, bool cls_only = false, torch::Tensor* cls_attention = nullptr,
                        torch::Tensor* cls_scores = nullptr);

  double dropout;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  MultiheadProjection self_attn{nullptr};
  torch::nn::Linear linear1{nullptr}, linear2{nullptr};
};
TORCH_MODULE(TransformerLayer);

/// The largest bag (instances) whose exact self-attention fits `memory_mib`
/// in training: the n^2 attention matrices of layers 1..n-1 (the last layer
/// queries with the CLS row only, O(n)), 24 h (n + 1)^2 bytes per layer: six
/// float32 copies of [h, n + 1, n + 1] (scores, softmax, their gradients and
/// the allocator's slack), as measured with `abmil_bench large --pooling
/// transformer` (7,706 MiB peak at 9,000 instances, h 4, 2 layers).
/// Unbounded (INT64_MAX) with one layer.
int64_t transformer_max_instances(int64_t heads, int64_t layers, double memory_mib);

/// A learned CLS token x_0 [M] prepended to each bag, n layers of
/// multi-head self-attention among the bag's own instances only (bags are
/// attended one at a time: no padding, no attention across bags), a final
/// LayerNorm, read out at the CLS position: z [B, M]. The instance weights
/// (PoolingOutput::attention) are the CLS row's attention in the last layer,
/// mean over heads, over the instances (the CLS self-weight dropped and the
/// rest renormalised to sum 1 per bag); `attention_logits` the heads' mean
/// scaled score. Exact attention is O(K^2) per bag: forward throws
/// std::invalid_argument for a bag above transformer_max_instances, naming
/// the poolings without that limit.
class TransformerPoolingImpl : public MilPoolingImpl {
 public:
  /// Throws std::invalid_argument for layers < 1, heads < 1 or not dividing M.
  TransformerPoolingImpl(int64_t embedding_dim, int64_t heads, int64_t layers, double dropout, double memory_mib);
  PoolingOutput forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) override;
  std::string name() const override { return "transformer"; }

  torch::Tensor cls;  ///< [1, M], N(0, 1) as TransMIL's cls_token
  std::vector<TransformerLayer> layers;
  torch::nn::LayerNorm norm{nullptr};
  int64_t max_instances;  ///< transformer_max_instances(heads, layers, memory_mib)
  double memory_mib;
};
TORCH_MODULE(TransformerPooling);

}  // namespace abmil
