#include "abmil/nn/dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <mutex>

namespace abmil {

torch::Tensor dropout(const torch::Tensor& x, double p, bool train) {
  if (!train || p == 0) return x;
  if (!(p > 0 && p < 1) || !x.device().is_cpu() || x.scalar_type() != torch::kFloat || x.numel() == 0)
    return torch::dropout(x, p, train);
  // at::native::_dropout: noise = empty_like(x).bernoulli_(1 - p); noise.div_(1 - p); x * noise.
  // bernoulli_ without MKL (templates::cpu::bernoulli_kernel): per element in memory
  // order, at::bernoulli_distribution<double>(1 - p): u = (random64() & (2^53 - 1)) * 2^-53,
  // noise = u < 1 - p, under the generator's lock.
  const double keep = 1.0 - p;
  const float scale = 1.0f / static_cast<float>(keep);  // div_ of 1.0f by the float scalar 1 - p
  torch::Tensor noise = torch::empty(x.sizes(), x.options().requires_grad(false));
  float* out = noise.data_ptr<float>();
  const int64_t n = noise.numel();
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  auto* engine = at::check_generator<at::CPUGeneratorImpl>(generator);
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    // The generator's mt19937, run inline on a copy and put back: random64()
    // is (first draw << 32) | second draw (CPUGeneratorImpl.cpp), and
    // uniform_real<double> keeps its low 53 bits.
    at::mt19937 mt = engine->engine();
    constexpr uint64_t kMask = (uint64_t{1} << 53) - 1;
    constexpr double kDivisor = 1.0 / static_cast<double>(uint64_t{1} << 53);
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t hi = mt(), lo = mt();
      out[i] = static_cast<double>(((hi << 32) | lo) & kMask) * kDivisor < keep ? scale : 0.0f;
    }
    engine->set_engine(mt);
  }
  return x * noise;
}

}  // namespace abmil
