#include "abmil/nn/encoders.h"

#include <torch/nn/functional/pooling.h>

#include <stdexcept>

#include "abmil/nn/dropout.h"
#include "abmil/config/config.h"
#include "abmil/nn/pooling.h"

namespace abmil {

namespace F = torch::nn::functional;

LeNet5Impl::LeNet5Impl(const LeNet5Options& options_) : options(options_) {
  conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(options.in_channels(), 20, 5)));
  conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(20, 50, 5)));
  const int64_t side = ((options.image_size() - 4) / 2 - 4) / 2;  // 28 -> 24 -> 12 -> 8 -> 4
  fc = register_module("fc", torch::nn::Linear(50 * side * side, options.embedding_dim()));
  // Channels-last (NHWC) weights and activations: oneDNN's convolutions and
  // the max-pooling run faster on CPU than in NCHW. Values are unchanged.
  for (auto* conv : {&conv1, &conv2})
    (*conv)->weight.set_data((*conv)->weight.data().contiguous(torch::MemoryFormat::ChannelsLast));
}

torch::Tensor LeNet5Impl::forward(const torch::Tensor& x) {
  // Channels-last throughout. With one input channel LibTorch cannot tell NHWC
  // from NCHW and hands conv1's output back as NCHW, where max-pooling is ~8x
  // slower, hence the explicit layout change.
  // maxpool(relu(c)) == relu(maxpool(c)) in values and gradients (ReLU is
  // monotone and passes no gradient at or below 0), so the ReLU runs on the
  // 4x smaller pooled map.
  const auto nhwc = torch::MemoryFormat::ChannelsLast;
  torch::Tensor h = conv1->forward(x.contiguous(nhwc)).contiguous(nhwc);
  h = torch::relu(F::max_pool2d(h, F::MaxPool2dFuncOptions(2)));
  h = torch::relu(F::max_pool2d(conv2->forward(h), F::MaxPool2dFuncOptions(2)));
  return torch::relu(fc->forward(h.flatten(1)));
}

HistoCnnImpl::HistoCnnImpl(const HistoCnnOptions& options_) : options(options_) {
  conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(options.in_channels(), 36, 4)));
  conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(36, 48, 3)));
  const int64_t side = ((options.image_size() - 3) / 2 - 2) / 2;  // 32 -> 29 -> 14 -> 12 -> 6
  fc1 = register_module("fc1", torch::nn::Linear(48 * side * side, options.embedding_dim()));
  fc2 = register_module("fc2", torch::nn::Linear(options.embedding_dim(), options.embedding_dim()));
  for (auto* conv : {&conv1, &conv2})  // channels-last, as in LeNet5Impl
    (*conv)->weight.set_data((*conv)->weight.data().contiguous(torch::MemoryFormat::ChannelsLast));
}

torch::Tensor HistoCnnImpl::forward(const torch::Tensor& x) {
  // ReLU after the pooling: same values and gradients, 4x fewer elements (see LeNet5Impl::forward).
  const auto nhwc = torch::MemoryFormat::ChannelsLast;
  torch::Tensor h = conv1->forward(x.contiguous(nhwc)).contiguous(nhwc);
  h = torch::relu(F::max_pool2d(h, F::MaxPool2dFuncOptions(2)));
  h = torch::relu(F::max_pool2d(conv2->forward(h), F::MaxPool2dFuncOptions(2)));
  h = torch::relu(fc1->forward(h.flatten(1)));
  if (options.dropout() > 0) h = abmil::dropout(h, options.dropout(), is_training());
  h = torch::relu(fc2->forward(h));
  if (options.dropout() > 0) h = abmil::dropout(h, options.dropout(), is_training());
  return h;
}

MlpEncoderImpl::MlpEncoderImpl(const MlpEncoderOptions& options_) : options(options_) {
  if (options.hidden_dims().empty()) throw std::invalid_argument("MlpEncoder needs at least one hidden size");
  int64_t in = options.input_dim();
  for (size_t i = 0; i < options.hidden_dims().size(); ++i) {
    layers.push_back(register_module("fc" + std::to_string(i + 1), torch::nn::Linear(in, options.hidden_dims()[i])));
    in = options.hidden_dims()[i];
  }
}

torch::Tensor MlpEncoderImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = x;
  for (auto& layer : layers) {
    h = torch::relu(layer->forward(h));
    if (options.dropout() > 0) h = abmil::dropout(h, options.dropout(), is_training());
  }
  return h;
}

TextEncoderImpl::TextEncoderImpl(const TextEncoderOptions& options_) : options(options_) {
  if (options.vocabulary_size() < 2)
    throw std::invalid_argument("TextEncoder needs a vocabulary of at least <pad> and <unk>");
  embedding = register_module(
      "embedding", torch::nn::Embedding(
                       torch::nn::EmbeddingOptions(options.vocabulary_size(), options.embedding_dim()).padding_idx(0)));
  {
    // Small initial embeddings (Keras' uniform +-0.05 scale): with LibTorch's
    // N(0, 1) the random part dominates a word's embedding for many epochs
    // of Adam steps, and a review's mean of ~700 of them is noise to overfit.
    torch::NoGradGuard no_grad;
    embedding->weight.normal_(0.0, options.init_std());
    embedding->weight[0].zero_();
  }
  token_pooling = register_module("token_pooling", make_pooling(options.token_pooling(), options.embedding_dim(),
                                                                options.attention_dim(), options.attention_dropout()));
}

EncoderOutput TextEncoderImpl::encode(const torch::Tensor& x) {
  if (x.scalar_type() != torch::kLong || x.dim() != 2)
    throw std::invalid_argument("TextEncoder: want int64 token ids [N, T]");
  const int64_t N = x.size(0), T = x.size(1);
  auto drop = [&](const torch::Tensor& e) {
    return options.dropout() > 0 ? abmil::dropout(e, options.dropout(), is_training()) : e;
  };
  auto word_drop = [&](const torch::Tensor& ids) {  // ids without <pad>
    if (options.word_dropout() <= 0 || !is_training()) return ids;
    return torch::where(torch::rand(ids.sizes()).lt(options.word_dropout()), torch::ones_like(ids), ids);
  };
  if (T == 1) return {drop(embedding->forward(word_drop(x.select(1, 0)))), {}};
  const torch::Tensor mask = x.ne(0 /* Vocabulary::kPad */);
  if (N > 0 && !mask.any(1).all().item<bool>())
    throw std::invalid_argument("TextEncoder: a sentence row holds only <pad> ids");
  const torch::Tensor flat = mask.reshape(-1).nonzero().squeeze(1);  // [n] positions of the tokens in [N*T]
  const torch::Tensor ids = x.reshape(-1).index_select(0, flat);
  const torch::Tensor sentence = flat.div(T, "floor");  // [n] non-decreasing
  PoolingOutput p = token_pooling->forward(drop(embedding->forward(word_drop(ids))), sentence, N);
  EncoderOutput out{p.z, {}};
  if (p.attention.defined())
    out.inner_attention = torch::zeros({N * T}, p.attention.options()).index_copy(0, flat, p.attention).view({N, T});
  return out;
}

namespace {

/// "; encoders that fit these instances: A, B" (or a note that none does).
std::string fitting_encoders(const std::vector<int64_t>& shape, int64_t vocabulary_size) {
  std::vector<std::string> fit;
  const bool square = shape.size() == 3 && shape[1] == shape[2];
  if (vocabulary_size >= 2 && shape.size() == 1) fit.push_back("text");
  if (vocabulary_size == 0 && shape.size() == 1) fit.push_back("mlp");
  if (vocabulary_size == 0 && square && shape[1] >= 16) fit.push_back("lenet5");
  if (vocabulary_size == 0 && square && shape[1] >= 10) fit.push_back("histo_cnn");
  std::string out = "; encoders that fit these instances:";
  for (size_t i = 0; i < fit.size(); ++i) out += (i ? ", " : " ") + fit[i];
  return fit.empty() ? "; no encoder fits these instances" : out;
}

}  // namespace

std::shared_ptr<InstanceEncoderImpl> make_encoder(const ModelConfig& model, const std::vector<int64_t>& shape,
                                                  int64_t vocabulary_size) {
  if (model.encoder == "text") {
    if (shape.size() != 1 || vocabulary_size < 2)
      throw std::invalid_argument("model.encoder text needs token-id instances and a vocabulary (data.kind text_bags)" +
                                  fitting_encoders(shape, vocabulary_size));
    return TextEncoder(TextEncoderOptions(vocabulary_size)
                           .embedding_dim(model.embedding_dim)
                           .token_pooling(model.token_pooling)
                           .attention_dim(model.attention_dim)
                           .dropout(model.dropout)
                           .attention_dropout(model.attention_dropout)
                           .word_dropout(model.word_dropout))
        .ptr();
  }
  if (vocabulary_size > 0)
    throw std::invalid_argument("model.encoder " + model.encoder +
                                " cannot take token ids (data.kind text_bags needs model.encoder text)");
  if (model.encoder == "lenet5") {
    if (shape.size() != 3 || shape[1] != shape[2] || shape[1] < 16)
      throw std::invalid_argument("model.encoder lenet5 needs square images of at least 16x16 pixels" +
                                  fitting_encoders(shape, vocabulary_size));
    return LeNet5(LeNet5Options().in_channels(shape[0]).image_size(shape[1]).embedding_dim(model.embedding_dim)).ptr();
  }
  if (model.encoder == "histo_cnn") {
    if (shape.size() != 3 || shape[1] != shape[2] || shape[1] < 10)
      throw std::invalid_argument("model.encoder histo_cnn needs square image patches of at least 10x10 pixels" +
                                  fitting_encoders(shape, vocabulary_size));
    return HistoCnn(HistoCnnOptions()
                        .in_channels(shape[0])
                        .image_size(shape[1])
                        .embedding_dim(model.embedding_dim)
                        .dropout(model.dropout))
        .ptr();
  }
  if (model.encoder == "mlp") {
    if (shape.size() != 1)
      throw std::invalid_argument("model.encoder mlp needs feature-vector instances (data.kind feature_bags)" +
                                  fitting_encoders(shape, vocabulary_size));
    return MlpEncoder(MlpEncoderOptions(shape[0]).hidden_dims(model.hidden_dims).dropout(model.dropout)).ptr();
  }
  throw std::invalid_argument("unknown model.encoder '" + model.encoder + "'");
}

}  // namespace abmil
