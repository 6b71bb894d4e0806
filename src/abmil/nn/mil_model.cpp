#include "abmil/nn/mil_model.h"

#include <stdexcept>

#include "abmil/config/config.h"

namespace abmil {

MilModelImpl::MilModelImpl(const ModelConfig& config, const std::vector<int64_t>& instance_shape,
                           int64_t vocabulary_size, int64_t num_outputs)
    : pooling_name(config.pooling), outputs(num_outputs) {
  if (config.classifier != "linear")
    throw std::invalid_argument("unknown model.classifier '" + config.classifier + "'");
  if (outputs < 1) throw std::invalid_argument("MilModel: outputs must be >= 1, got " + std::to_string(outputs));
  if (outputs > 1 && is_instance_level(config.pooling))
    throw std::invalid_argument("model.pooling " + config.pooling + " scores instances for a binary label only; with " +
                                std::to_string(outputs) + " classes use an embedding-level pooling (gated_attention, "
                                "attention, mean, max)");
  encoder = register_module("encoder", make_encoder(config, instance_shape, vocabulary_size));
  const int64_t M = encoder->embedding_dim();
  if (!is_instance_level(config.pooling))
    pooling =
        register_module("pooling", make_pooling(config.pooling, M, config.attention_dim, config.attention_dropout));
  classifier = register_module("classifier", torch::nn::Linear(M, outputs));
}

MilOutput MilModelImpl::forward_embeddings(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) {
  MilOutput out;
  if (pooling) {
    PoolingOutput p = pooling->forward(H, bag_index, num_bags);
    out.bag_logits = classifier->forward(p.z);
    if (outputs == 1) out.bag_logits = out.bag_logits.squeeze(1);
    out.attention_logits = p.attention_logits;
    out.attention = p.attention;
  } else {
    out.instance_logits = classifier->forward(H).squeeze(1);
    out.bag_logits = pool_instance_logits(out.instance_logits, bag_index, num_bags, pooling_name);
  }
  return out;
}

MilOutput MilModelImpl::forward(const torch::Tensor& instances, const torch::Tensor& bag_index, int64_t num_bags) {
  EncoderOutput e = encoder->encode(instances);
  MilOutput out = forward_embeddings(e.H, bag_index, num_bags);
  out.inner_attention = e.inner_attention;
  return out;
}

}  // namespace abmil
