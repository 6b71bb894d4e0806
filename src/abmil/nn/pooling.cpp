#include "abmil/nn/pooling.h"

#include <cmath>
#include <stdexcept>
#include <vector>

#include "abmil/nn/dropout.h"
#include "abmil/nn/dsmil_pooling.h"
#include "abmil/nn/multihead_attention_pooling.h"
#include "abmil/nn/pma_pooling.h"
#include "abmil/nn/smooth_max_pooling.h"
#include "abmil/nn/transformer_pooling.h"
#include "abmil/nn/segment.h"

namespace abmil {

PoolingOutput MeanPoolingImpl::forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) {
  return {segment_mean(H, bag_index, num_bags), {}, {}, {}, {}};
}

PoolingOutput MaxPoolingImpl::forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) {
  return {segment_max(H, bag_index, num_bags), {}, {}, {}, {}};
}

AttentionPoolingImpl::AttentionPoolingImpl(const AttentionPoolingOptions& options_) : options(options_) {
  V = register_module("V", torch::nn::Linear(options.embedding_dim(), options.attention_dim()));
  w = register_module("w", torch::nn::Linear(options.attention_dim(), options.branches()));
}

namespace {

/// [N, 1] scores -> [N] (one branch); [N, C] stays.
torch::Tensor branch_scores(const torch::Tensor& s) { return s.size(1) == 1 ? s.squeeze(1) : s; }

}  // namespace

torch::Tensor AttentionPoolingImpl::scores(const torch::Tensor& H) {
  return branch_scores(w->forward(torch::tanh(V->forward(H))));
}

PoolingOutput AttentionPoolingImpl::forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) {
  PoolingOutput out;
  out.attention_logits = scores(H);                                            // [N] or [N, C]
  out.attention = segment_softmax(out.attention_logits, bag_index, num_bags);  // same shape, softmax per column
  const torch::Tensor a =
      options.dropout() > 0 && is_training() ? abmil::dropout(out.attention, options.dropout(), true) : out.attention;
  if (a.dim() == 1) {
    out.z = segment_sum(a.unsqueeze(1) * H, bag_index, num_bags);  // [B, M]
    return out;
  }
  // C branches: z_c = sum_k a_kc h_k, one [N, M] product at a time (not [N, C, M]).
  std::vector<torch::Tensor> z;
  for (int64_t c = 0; c < a.size(1); ++c) z.push_back(segment_sum(a.select(1, c).unsqueeze(1) * H, bag_index, num_bags));
  out.z = torch::stack(z, 1);  // [B, C, M]
  return out;
}

GatedAttentionPoolingImpl::GatedAttentionPoolingImpl(const GatedAttentionPoolingOptions& options_)
    : AttentionPoolingImpl(options_) {
  U = register_module("U", torch::nn::Linear(options.embedding_dim(), options.attention_dim()));
}

torch::Tensor GatedAttentionPoolingImpl::scores(const torch::Tensor& H) {
  return branch_scores(w->forward(torch::tanh(V->forward(H)) * torch::sigmoid(U->forward(H))));
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

const std::vector<std::string>& pooling_names() {
  static const std::vector<std::string> names = {
      "gated_attention",           "attention", "mean",        "max",  "lse", "topk_mean",
      "multihead_gated_attention", "pma",       "transformer", "dsmil"};
  return names;
}

std::shared_ptr<MilPoolingImpl> make_pooling(const PoolingSpec& spec) {
  const std::string& pooling = spec.name;
  const int64_t M = spec.embedding_dim;
  if (spec.branches < 1)
    throw std::invalid_argument("make_pooling: branches must be >= 1, got " + std::to_string(spec.branches));
  if (spec.branches > 1 && pooling != "attention" && pooling != "gated_attention")
    throw std::invalid_argument("model.attention_branches per_class needs an attention pooling (gated_attention, "
                                "attention), not '" + pooling + "'");
  if (pooling == "mean") return MeanPooling().ptr();
  if (pooling == "max") return MaxPooling().ptr();
  if (pooling == "lse") return LsePooling(spec.lse_r).ptr();
  if (pooling == "topk_mean") return TopKMeanPooling(spec.pool_k).ptr();
  if (pooling == "multihead_gated_attention")
    return MultiheadGatedAttentionPooling(M, spec.attention_dim, spec.heads, spec.merge, spec.dropout).ptr();
  if (pooling == "pma") return PmaPooling(M, spec.heads, spec.seeds, spec.merge, spec.dropout).ptr();
  if (pooling == "transformer")
    return TransformerPooling(M, spec.heads, spec.layers, spec.dropout, spec.memory_mib).ptr();
  if (pooling == "dsmil") return DsmilPooling(M, spec.attention_dim, spec.classes, spec.dropout).ptr();
  const auto options =
      AttentionPoolingOptions(M).attention_dim(spec.attention_dim).dropout(spec.dropout).branches(spec.branches);
  if (pooling == "attention") return AttentionPooling(options).ptr();
  if (pooling == "gated_attention") return GatedAttentionPooling(options).ptr();
  throw std::invalid_argument("make_pooling: unknown embedding-level pooling '" + pooling + "'");
}

std::shared_ptr<MilPoolingImpl> make_pooling(const std::string& pooling, int64_t embedding_dim, int64_t attention_dim,
                                             double attention_dropout, int64_t branches) {
  if (pooling != "mean" && pooling != "max" && pooling != "attention" && pooling != "gated_attention")
    throw std::invalid_argument("make_pooling: unknown embedding-level pooling '" + pooling + "'");
  PoolingSpec spec;
  spec.name = pooling;
  spec.embedding_dim = embedding_dim;
  spec.attention_dim = attention_dim;
  spec.dropout = attention_dropout;
  spec.branches = branches;
  return make_pooling(spec);
}

}  // namespace abmil
