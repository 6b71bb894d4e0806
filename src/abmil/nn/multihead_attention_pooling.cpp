#include "abmil/nn/multihead_attention_pooling.h"

#include <cmath>
#include <stdexcept>
#include <vector>

#include "abmil/nn/dropout.h"
#include "abmil/nn/segment.h"

namespace abmil {

MultiheadGatedAttentionPoolingImpl::MultiheadGatedAttentionPoolingImpl(int64_t embedding_dim, int64_t attention_dim_,
                                                                       int64_t heads_, const std::string& merge,
                                                                       double dropout_)
    : attention_dim(attention_dim_), heads(heads_), concat(merge == "concat"), dropout(dropout_) {
  if (heads < 1) throw std::invalid_argument("model.heads must be >= 1, got " + std::to_string(heads));
  if (merge != "concat" && merge != "mean")
    throw std::invalid_argument("unknown model.merge '" + merge + "' (expected concat or mean)");
  V = register_module("V", torch::nn::Linear(embedding_dim, heads * attention_dim));
  U = register_module("U", torch::nn::Linear(embedding_dim, heads * attention_dim));
  // h fc L -> 1, initialised as torch.nn.Linear: U(-1/sqrt(L), 1/sqrt(L))
  const double bound = 1.0 / std::sqrt(static_cast<double>(attention_dim));
  w = register_parameter("w", torch::empty({heads, attention_dim}).uniform_(-bound, bound));
  w_bias = register_parameter("w_bias", torch::empty({heads}).uniform_(-bound, bound));
}

PoolingOutput MultiheadGatedAttentionPoolingImpl::forward(const torch::Tensor& H, const torch::Tensor& bag_index,
                                                          int64_t num_bags) {
  const int64_t N = H.size(0);
  const torch::Tensor G = (torch::tanh(V->forward(H)) * torch::sigmoid(U->forward(H))).view({N, heads, attention_dim});
  const torch::Tensor s = (G * w.unsqueeze(0)).sum(2) + w_bias;  // [N, h]
  PoolingOutput out;
  out.head_attention = segment_softmax(s, bag_index, num_bags);  // [N, h], per column 1 per bag
  out.attention = out.head_attention.mean(1);
  out.attention_logits = s.mean(1);
  const torch::Tensor a =
      dropout > 0 && is_training() ? abmil::dropout(out.head_attention, dropout, true) : out.head_attention;
  std::vector<torch::Tensor> z;  // one [N, M] product at a time, not [N, h, M]
  for (int64_t j = 0; j < heads; ++j) z.push_back(segment_sum(a.select(1, j).unsqueeze(1) * H, bag_index, num_bags));
  out.z = concat ? torch::cat(z, 1) : torch::stack(z, 1).mean(1);  // [B, h M] or [B, M]
  return out;
}

}  // namespace abmil
