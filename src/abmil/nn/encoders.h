// Instance encoders f: x_k -> h_k in R^M (paper Sec. 2.3, "embedding-level approach").
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/arg.h>

#include <memory>
#include <string>
#include <vector>

namespace abmil {

class MilPoolingImpl;

/// What an encoder gives for N instances: their embeddings and, for an
/// encoder that pools parts of each instance (TextEncoder: the tokens of a
/// sentence), the weights of that inner pooling.
struct EncoderOutput {
  torch::Tensor H;                ///< [N, M] instance embeddings h_k
  torch::Tensor inner_attention;  ///< [N, T] weights of the parts of each instance (0 at padding), sum 1 per row;
                                  ///< undefined when none
};

/// Base class of instance encoders, so a model can hold any of them.
class InstanceEncoderImpl : public torch::nn::Module {
 public:
  /// x [N, ...instance shape] -> H [N, M].
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  /// forward() with the inner attention weights, when the encoder has any
  /// (the default: none, inner_attention undefined).
  virtual EncoderOutput encode(const torch::Tensor& x) { return {forward(x), {}}; }
  /// M, the size of one instance embedding.
  virtual int64_t embedding_dim() const = 0;
};

/// Options of LeNet5.
struct LeNet5Options {
  TORCH_ARG(int64_t, in_channels) = 1;
  TORCH_ARG(int64_t, image_size) = 28;      ///< square input side, pixels
  TORCH_ARG(int64_t, embedding_dim) = 500;  ///< M
};

/// LeNet-5 as in the paper's MNIST-bags experiments (Table 9 of the appendix):
/// conv 5x5 1->20 + ReLU, maxpool 2, conv 5x5 20->50 + ReLU, maxpool 2,
/// fc 800->M + ReLU. x [N, 1, 28, 28] -> H [N, M].
class LeNet5Impl : public InstanceEncoderImpl {
 public:
  explicit LeNet5Impl(const LeNet5Options& options = {});
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t embedding_dim() const override { return options.embedding_dim(); }
  LeNet5Options options;

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(LeNet5);

/// Options of MlpEncoder.
struct MlpEncoderOptions {
  /* implicit */ MlpEncoderOptions(int64_t input_dim) : input_dim_(input_dim) {}
  TORCH_ARG(int64_t, input_dim);                                  ///< D, features per instance
  TORCH_ARG(std::vector<int64_t>, hidden_dims) = {256, 128, 64};  ///< sizes of the fc layers; M is the last
  TORCH_ARG(double, dropout) = 0.0;                               ///< dropout after each ReLU (training only)
};

/// Multi-layer perceptron for feature-vector instances: fc + ReLU (+ dropout)
/// per hidden size; the paper's classical-MIL network is fc 256-128-64 (Sec. 4.1).
/// x [N, D] -> H [N, M], M = hidden_dims.back().
class MlpEncoderImpl : public InstanceEncoderImpl {
 public:
  explicit MlpEncoderImpl(const MlpEncoderOptions& options);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t embedding_dim() const override { return options.hidden_dims().back(); }
  MlpEncoderOptions options;

 private:
  std::vector<torch::nn::Linear> layers;
};
TORCH_MODULE(MlpEncoder);

/// Options of HistoCnn.
struct HistoCnnOptions {
  TORCH_ARG(int64_t, in_channels) = 3;
  TORCH_ARG(int64_t, image_size) = 32;      ///< square input side, pixels
  TORCH_ARG(int64_t, embedding_dim) = 512;  ///< M, size of both fc layers
  TORCH_ARG(double, dropout) = 0.0;         ///< after each fc + ReLU (training only)
};

/// The paper's encoder for 32 x 32 histopathology patches (Ilse et al. 2018,
/// appendix, Table 10 / Sec. 4.4): conv 4x4 3->36 + ReLU, maxpool 2,
/// conv 3x3 36->48 + ReLU, maxpool 2, fc -> M + ReLU + dropout,
/// fc M -> M + ReLU + dropout (M = 512 in the paper).
/// x [N, 3, P, P] float -> H [N, M]; P = 32 gives 48 x 6 x 6 = 1728 inputs to the first fc.
class HistoCnnImpl : public InstanceEncoderImpl {
 public:
  explicit HistoCnnImpl(const HistoCnnOptions& options = {});
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t embedding_dim() const override { return options.embedding_dim(); }
  HistoCnnOptions options;

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(HistoCnn);

/// Options of TextEncoder.
struct TextEncoderOptions {
  /* implicit */ TextEncoderOptions(int64_t vocabulary_size) : vocabulary_size_(vocabulary_size) {}
  TORCH_ARG(int64_t, vocabulary_size);                        ///< rows of the embedding table (id 0 = <pad>)
  TORCH_ARG(int64_t, embedding_dim) = 100;                    ///< M, size of a token and of a sentence embedding
  TORCH_ARG(std::string, token_pooling) = "gated_attention";  ///< mean | max | attention | gated_attention
  TORCH_ARG(int64_t, attention_dim) = 64;                     ///< L of the token-level attention network
  TORCH_ARG(double, dropout) = 0.0;                           ///< on the token embeddings (training only)
  TORCH_ARG(double, attention_dropout) = 0.0;                 ///< token-level AttentionPoolingOptions::dropout
  /// Word dropout (Iyyer et al. 2015, "Deep Unordered Composition"): in
  /// training, each token id is replaced by <unk> (1) with this probability.
  TORCH_ARG(double, word_dropout) = 0.0;
  TORCH_ARG(double, init_std) = 0.05;  ///< initial embeddings ~ N(0, init_std^2), <pad> row 0
};

/// Encoder of text instances given as token ids (data.kind text_bags):
/// - a sentence [T] (ids left-aligned, 0 = <pad> after the last token):
///   token embeddings e_t = E[id_t] in R^M, then the MIL pooling
///   `token_pooling` over the sentence's non-pad tokens (the same modules as
///   the bag level, Ilse et al. 2018 eq. 8-9 over tokens), giving one
///   sentence embedding h_k in R^M; encode() also returns the token weights;
/// - a single token [1] (data.text_instances tokens): h_k = E[id].
/// In training, token ids become <unk> with probability word_dropout and
/// the embeddings are dropped out with probability dropout.
/// x int64 [N, T] -> H [N, M]. Throws std::invalid_argument for another
/// dtype or rank, and for a row of only <pad> ids (T > 1).
class TextEncoderImpl : public InstanceEncoderImpl {
 public:
  explicit TextEncoderImpl(const TextEncoderOptions& options);
  torch::Tensor forward(const torch::Tensor& x) override { return encode(x).H; }
  /// H [N, M] and, for T > 1 with an attention token pooling, the token
  /// weights [N, T] (0 at <pad>, each row sums to 1).
  EncoderOutput encode(const torch::Tensor& x) override;
  int64_t embedding_dim() const override { return options.embedding_dim(); }
  TextEncoderOptions options;

 private:
  torch::nn::Embedding embedding{nullptr};
  std::shared_ptr<MilPoolingImpl> token_pooling;
};
TORCH_MODULE(TextEncoder);

struct ModelConfig;

/// The encoder of `model.encoder` for instances of `instance_shape`: lenet5
/// (images {C, H, W}, M = model.embedding_dim), mlp (feature vectors {D},
/// model.hidden_dims, model.dropout; M = the last hidden size) or histo_cnn
/// (images {C, P, P}, P >= 10, M = model.embedding_dim, model.dropout) or
/// text (token ids {T}, `vocabulary_size` >= 2 rows, M = model.embedding_dim,
/// model.token_pooling, L = model.attention_dim, model.dropout).
/// Throws std::invalid_argument for an unknown name or a shape the encoder
/// cannot take.
std::shared_ptr<InstanceEncoderImpl> make_encoder(const ModelConfig& model, const std::vector<int64_t>& instance_shape,
                                                  int64_t vocabulary_size = 0);

}  // namespace abmil
