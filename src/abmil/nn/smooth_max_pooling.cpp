#include "abmil/nn/smooth_max_pooling.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "abmil/nn/segment.h"

namespace abmil {

LsePoolingImpl::LsePoolingImpl(double r_) : r(r_) {
  if (!(r > 0) || !std::isfinite(r))
    throw std::invalid_argument(fmt::format("model.lse_r must be a finite number > 0, got {}", r));
}

PoolingOutput LsePoolingImpl::forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) {
  const torch::Tensor log_k = segment_counts(bag_index, num_bags, H.scalar_type()).log().unsqueeze(1);  // [B, 1]
  return {(segment_logsumexp(H * r, bag_index, num_bags) - log_k) / r, {}, {}, {}, {}};
}

TopKMeanPoolingImpl::TopKMeanPoolingImpl(int64_t k_) : k(k_) {
  if (k < 1) throw std::invalid_argument("model.pool_k must be >= 1, got " + std::to_string(k));
}

PoolingOutput TopKMeanPoolingImpl::forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) {
  std::vector<torch::Tensor> z;
  for (const torch::Tensor& rows : segment_rows(bag_index, num_bags)) {
    const torch::Tensor h = num_bags == 1 ? H : H.index_select(0, rows);  // [n, M]
    z.push_back(std::get<0>(h.topk(std::min<int64_t>(k, h.size(0)), 0)).mean(0));
  }
  return {torch::stack(z), {}, {}, {}, {}};
}

}  // namespace abmil
