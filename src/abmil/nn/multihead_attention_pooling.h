// Multi-head gated attention pooling (MAD-MIL style; README, "Poolings").
#pragma once

#include <torch/nn/modules/linear.h>

#include "abmil/nn/pooling.h"

namespace abmil {

/// h independent gated-attention heads (Ilse et al. 2018, eq. 9, each with
/// its own V_j, U_j in R^{L x M} and w_j in R^L) over the same embeddings:
///   a_kj = softmax_k( w_j^T (tanh(V_j h_k) ⊙ sigm(U_j h_k)) + b_j ),
///   z_j  = sum_k a_kj h_k,
/// z = [z_1; ...; z_h] (merge concat, [B, h M]) or (1/h) sum_j z_j (merge
/// mean, [B, M]). PoolingOutput::head_attention is a [N, h]; `attention` is
/// the heads' mean (sums to 1 per bag) and `attention_logits` the mean of
/// the heads' scores. The h heads are computed as one fc M -> h L for V and
/// for U, so V.weight rows [j L, (j+1) L) are head j's V_j.
class MultiheadGatedAttentionPoolingImpl : public MilPoolingImpl {
 public:
  /// Throws std::invalid_argument for heads < 1 or merge not concat/mean.
  MultiheadGatedAttentionPoolingImpl(int64_t embedding_dim, int64_t attention_dim, int64_t heads,
                                     const std::string& merge, double dropout);
  PoolingOutput forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) override;
  std::string name() const override { return "multihead_gated_attention"; }
  int64_t output_dim(int64_t embedding_dim) const override { return concat ? heads * embedding_dim : embedding_dim; }

  int64_t attention_dim, heads;
  bool concat;
  double dropout;
  torch::nn::Linear V{nullptr}, U{nullptr};
  torch::Tensor w;       ///< [h, L]
  torch::Tensor w_bias;  ///< [h]
};
TORCH_MODULE(MultiheadGatedAttentionPooling);

}  // namespace abmil
