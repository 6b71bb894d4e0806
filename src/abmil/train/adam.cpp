#include "abmil/train/adam.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <cmath>
#include <limits>

namespace abmil {

namespace {

/// The element loop of FusedAdam::step on [begin, end). Returns true when a
/// gradient element there is NaN or infinite (an OR reduction that keeps the
/// loop vectorised).
bool adam_update(float* p, const float* grad, float* m, float* v, int64_t begin, int64_t end, float wd, float b1,
                 float b2, float one_minus_b1, float one_minus_b2, float eps, float sqrt_bc2, float neg_step) {
  int nonfinite = 0;
  for (int64_t j = begin; j < end; ++j) {
    nonfinite |= !(std::fabs(grad[j]) <= std::numeric_limits<float>::max());
    const float g = grad[j] + wd * p[j];
    const float mj = m[j] * b1 + one_minus_b1 * g;
    const float vj = v[j] * b2 + one_minus_b2 * g * g;
    m[j] = mj;
    v[j] = vj;
    p[j] += neg_step * (mj / (std::sqrt(vj) / sqrt_bc2 + eps));
  }
  return nonfinite != 0;
}

}  // namespace

FusedAdam::FusedAdam(std::vector<torch::Tensor> params, const AdamOptions& options)
    : params_(std::move(params)), options_(options) {
  for (const auto& p : params_) {
    exp_avg_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    exp_avg_sq_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
  }
}

void FusedAdam::zero_grad() {
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
}

bool FusedAdam::step() {
  torch::NoGradGuard no_grad;
  ++step_;
  const double bias_correction1 = 1 - std::pow(options_.beta1, static_cast<double>(step_));
  const double bias_correction2 = 1 - std::pow(options_.beta2, static_cast<double>(step_));
  const double step_size = options_.lr / bias_correction1;
  const double sqrt_bc2 = std::sqrt(bias_correction2);
  std::atomic<bool> nonfinite{false};
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& p = params_[i];
    const torch::Tensor& grad = p.grad();
    if (!grad.defined()) continue;
    torch::Tensor& m = exp_avg_[i];
    torch::Tensor& v = exp_avg_sq_[i];
    const bool fused = p.device().is_cpu() && p.scalar_type() == torch::kFloat && p.is_contiguous() &&
                       grad.is_contiguous() && grad.strides() == p.strides() && m.strides() == p.strides();
    if (!fused) {  // same formula in tensor ops (GPU, other dtypes, odd layouts)
      if (!torch::isfinite(grad).all().item<bool>()) nonfinite = true;
      torch::Tensor g = options_.weight_decay != 0 ? grad.add(p, options_.weight_decay) : grad;
      m.mul_(options_.beta1).add_(g, 1 - options_.beta1);
      v.mul_(options_.beta2).addcmul_(g, g, 1 - options_.beta2);
      p.addcdiv_(m, (v.sqrt() / sqrt_bc2).add_(options_.eps), -step_size);
      continue;
    }
    float* pp = p.data_ptr<float>();
    const float* gp = grad.data_ptr<float>();
    float* mp = m.data_ptr<float>();
    float* vp = v.data_ptr<float>();
    const float wd = static_cast<float>(options_.weight_decay), b1 = static_cast<float>(options_.beta1),
                b2 = static_cast<float>(options_.beta2), one_minus_b1 = static_cast<float>(1 - options_.beta1),
                one_minus_b2 = static_cast<float>(1 - options_.beta2), eps = static_cast<float>(options_.eps),
                sbc2 = static_cast<float>(sqrt_bc2), neg_step = static_cast<float>(-step_size);
    at::parallel_for(0, p.numel(), 16384, [&](int64_t begin, int64_t end) {
      if (adam_update(pp, gp, mp, vp, begin, end, wd, b1, b2, one_minus_b1, one_minus_b2, eps, sbc2, neg_step))
        nonfinite = true;
    });
  }
  return !nonfinite;
}

void FusedAdam::set_steps_taken(int64_t steps) { step_ = steps; }

}  // namespace abmil
