// Pooling by multi-head attention (Set Transformer PMA; README, "Poolings").
#pragma once

#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "abmil/nn/multihead_projection.h"
#include "abmil/nn/pooling.h"

namespace abmil {

/// PMA_k (Lee et al., ICML 2019, "Set Transformer", eq. 11 with eq. 6-7):
///   PMA(S, X) = MAB(S, rFF(X)),  MAB(Q, Y) = LN(H + rFF(H)),
///   H = LN(Q + Multihead(Q, Y, Y)),  rFF(x) = relu(W x + b),
/// with k learned seed vectors S [k, M] and h heads of M / h
/// (torch.nn.MultiheadAttention's projections). Per bag and seed, the
/// attention over the bag's instances is a softmax within the bag, so bags
/// of any size pack into one batch without padding. z: the k outputs
/// concatenated ([B, k M], merge concat) or averaged ([B, M], merge mean);
/// k = 1 is single learned-query cross-attention pooling.
/// PoolingOutput::head_attention [N, k]: each seed's weights, mean over the
/// heads (each column sums to 1 per bag); `attention` their mean over seeds,
/// `attention_logits` the mean scaled dot product.
class PmaPoolingImpl : public MilPoolingImpl {
 public:
  /// Throws std::invalid_argument for seeds < 1, heads < 1, heads not
  /// dividing M, or merge not concat/mean.
  PmaPoolingImpl(int64_t embedding_dim, int64_t heads, int64_t seeds, const std::string& merge, double dropout);
  PoolingOutput forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) override;
  std::string name() const override { return "pma"; }
  int64_t output_dim(int64_t embedding_dim) const override { return concat ? seeds * embedding_dim : embedding_dim; }
  std::string head_column() const override { return "seed"; }

  int64_t seeds;
  bool concat;
  double dropout;
  torch::Tensor S;                   ///< [k, M] seed vectors (Xavier-uniform, as the Set Transformer code)
  torch::nn::Linear rff{nullptr};    ///< rFF on the instances, fc M -> M
  MultiheadProjection mha{nullptr};  ///< Multihead(Q, Y, Y)
  torch::nn::LayerNorm ln0{nullptr}, ln1{nullptr};
  torch::nn::Linear fc_o{nullptr};  ///< rFF(H), fc M -> M
};
TORCH_MODULE(PmaPooling);

}  // namespace abmil
