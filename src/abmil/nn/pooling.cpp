#include "abmil/nn/pooling.h"

#include <cmath>
#include <stdexcept>

#include "abmil/nn/segment.h"

namespace abmil {

PoolingOutput MeanPoolingImpl::forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) {
  return {segment_mean(H, bag_index, num_bags), {}, {}};
}

PoolingOutput MaxPoolingImpl::forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) {
  return {segment_max(H, bag_index, num_bags), {}, {}};
}

AttentionPoolingImpl::AttentionPoolingImpl(const AttentionPoolingOptions& options_) : options(options_) {
  V = register_module("V", torch::nn::Linear(options.embedding_dim(), options.attention_dim()));
  w = register_module("w", torch::nn::Linear(options.attention_dim(), 1));
}

torch::Tensor AttentionPoolingImpl::scores(const torch::Tensor& H) {
  return w->forward(torch::tanh(V->forward(H))).squeeze(1);
}

PoolingOutput AttentionPoolingImpl::forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) {
  PoolingOutput out;
  out.attention_logits = scores(H);                                            // [N]
  out.attention = segment_softmax(out.attention_logits, bag_index, num_bags);  // [N]
  const torch::Tensor a =
      options.dropout() > 0 && is_training() ? torch::dropout(out.attention, options.dropout(), true) : out.attention;
  out.z = segment_sum(a.unsqueeze(1) * H, bag_index, num_bags);  // [B, M]
  return out;
}

GatedAttentionPoolingImpl::GatedAttentionPoolingImpl(const GatedAttentionPoolingOptions& options_)
    : AttentionPoolingImpl(options_) {
  U = register_module("U", torch::nn::Linear(options.embedding_dim(), options.attention_dim()));
}

torch::Tensor GatedAttentionPoolingImpl::scores(const torch::Tensor& H) {
  return w->forward(torch::tanh(V->forward(H)) * torch::sigmoid(U->forward(H))).squeeze(1);
}

bool is_instance_level(const std::string& pooling) { return pooling == "instance_max" || pooling == "instance_mean"; }

torch::Tensor pool_instance_logits(const torch::Tensor& s, const torch::Tensor& bag_index, int64_t num_bags,
                                   const std::string& mode) {
  if (mode == "instance_max") return segment_max(s, bag_index, num_bags);
  if (mode == "instance_mean") {
    torch::Tensor log_k = segment_counts(bag_index, num_bags, s.scalar_type()).log();
    torch::Tensor log_p = segment_logsumexp(torch::log_sigmoid(s), bag_index, num_bags) - log_k;
    torch::Tensor log_q = segment_logsumexp(torch::log_sigmoid(-s), bag_index, num_bags) - log_k;
    return log_p - log_q;
  }
  throw std::invalid_argument("pool_instance_logits: unknown mode '" + mode + "'");
}

std::shared_ptr<MilPoolingImpl> make_pooling(const std::string& pooling, int64_t embedding_dim, int64_t attention_dim,
                                             double attention_dropout) {
  if (pooling == "mean") return MeanPooling().ptr();
  if (pooling == "max") return MaxPooling().ptr();
  const auto options = AttentionPoolingOptions(embedding_dim).attention_dim(attention_dim).dropout(attention_dropout);
  if (pooling == "attention") return AttentionPooling(options).ptr();
  if (pooling == "gated_attention") return GatedAttentionPooling(options).ptr();
  throw std::invalid_argument("make_pooling: unknown embedding-level pooling '" + pooling + "'");
}

}  // namespace abmil
