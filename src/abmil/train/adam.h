// Adam in one fused pass per parameter tensor.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace abmil {

/// Hyper-parameters of FusedAdam (the names of torch.optim.Adam).
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;  ///< L2 penalty added to the gradient (Adam, not AdamW)
};

/// Adam (Kingma & Ba, ICLR 2015, Algorithm 1) with the update of
/// torch.optim.Adam (amsgrad off): g += wd p; m = b1 m + (1-b1) g;
/// v = b2 v + (1-b2) g^2; p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
/// LibTorch 1.13's Adam spends ~9 tensor passes and 3 temporaries per
/// parameter; this does one pass over contiguous float32 CPU parameters
/// (parallel over elements), which matters when steps are many and small
/// (one bag per step). Other parameters fall back to the same formula in
/// tensor ops. Parameters without a gradient are skipped.
class FusedAdam {
 public:
  /// `params`: the tensors to update (shared with the model).
  FusedAdam(std::vector<torch::Tensor> params, const AdamOptions& options);

  /// Drops every gradient (the next backward writes fresh ones, no zero fill).
  void zero_grad();

  /// One update of every parameter with a gradient. Returns false when a
  /// gradient held a NaN or infinity (the update is then applied anyway and
  /// the parameters are no longer finite: stop training).
  bool step();

  int64_t steps_taken() const { return step_; }
  /// Sets Adam's t (resuming from a checkpoint, with exp_avg/exp_avg_sq restored).
  void set_steps_taken(int64_t steps);
  const AdamOptions& options() const { return options_; }
  /// First and second moment estimates m and v, one per parameter (for checkpoints).
  std::vector<torch::Tensor>& exp_avg() { return exp_avg_; }
  std::vector<torch::Tensor>& exp_avg_sq() { return exp_avg_sq_; }

 private:
  std::vector<torch::Tensor> params_, exp_avg_, exp_avg_sq_;
  AdamOptions options_;
  int64_t step_ = 0;
};

}  // namespace abmil
