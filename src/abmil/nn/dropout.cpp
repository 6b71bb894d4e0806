#include "abmil/nn/dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <vector>

namespace abmil {

namespace {

/// Writes the next `count` outputs of `mt` to `words`, exactly as `count`
/// calls of mt() would, and leaves `mt` where those calls would: the
/// outputs between two regenerations of its state are tempered in one
/// vectorisable loop, the regeneration itself is left to the engine.
void draw_words(at::mt19937& mt, uint32_t* words, int64_t count) {
  at::mt19937_data_pod s = mt.data();
  int64_t i = 0;
  while (i < count) {
    if (s.left_ <= 1) {  // this call regenerates the state (mt19937_engine::operator())
      mt.set_data(s);
      words[i++] = mt();
      s = mt.data();
      continue;
    }
    const int64_t take = std::min<int64_t>(count - i, s.left_ - 1);
    const uint32_t* state = s.state_.data() + s.next_;
    uint32_t* out = words + i;
    for (int64_t k = 0; k < take; ++k) {  // mt19937_engine::operator()'s tempering
      uint32_t y = state[k];
      y ^= (y >> 11);
      y ^= (y << 7) & 0x9d2c5680u;
      y ^= (y << 15) & 0xefc60000u;
      y ^= (y >> 18);
      out[k] = y;
    }
    s.next_ += static_cast<uint32_t>(take);
    s.left_ -= static_cast<int>(take);
    i += take;
  }
  mt.set_data(s);
}

}  // namespace

torch::Tensor dropout(const torch::Tensor& x, double p, bool train) {
  if (!train || p == 0) return x;
  // With MKL, LibTorch's bernoulli_ draws from MKL's stream instead: leave it to LibTorch.
  if (!(p > 0 && p < 1) || !x.device().is_cpu() || x.scalar_type() != torch::kFloat || x.numel() == 0 ||
      at::hasMKL())
    return torch::dropout(x, p, train);
  // at::native::_dropout: noise = empty_like(x).bernoulli_(1 - p); noise.div_(1 - p); x * noise.
  // bernoulli_ without MKL (templates::cpu::bernoulli_kernel): per element in memory
  // order, at::bernoulli_distribution<double>(1 - p): v = random64() = (first mt19937
  // draw << 32) | second (CPUGeneratorImpl.cpp), u = (v & (2^53 - 1)) * 2^-53, noise =
  // u < 1 - p; all under the generator's lock. u < 1 - p <=> (v & (2^53 - 1)) <
  // ceil((1 - p) 2^53): both sides scale exactly by a power of two.
  const double keep = 1.0 - p;
  const float scale = 1.0f / static_cast<float>(keep);  // div_ of 1.0f by the float scalar 1 - p
  const int64_t threshold = static_cast<int64_t>(std::ceil(keep * 9007199254740992.0));  // 2^53
  constexpr uint64_t kMask53 = (uint64_t{1} << 53) - 1;
  torch::Tensor noise = torch::empty(x.sizes(), x.options().requires_grad(false));
  float* out = noise.data_ptr<float>();
  const int64_t n = noise.numel();
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  auto* engine = at::check_generator<at::CPUGeneratorImpl>(generator);
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    at::mt19937 mt = engine->engine();
    constexpr int64_t kChunk = 4096;  // elements per batch of draws (32 KiB of words)
    std::vector<uint32_t> words(2 * kChunk);
    for (int64_t start = 0; start < n; start += kChunk) {
      const int64_t m = std::min(kChunk, n - start);
      draw_words(mt, words.data(), 2 * m);
      const uint32_t* w = words.data();
      float* o = out + start;
      for (int64_t k = 0; k < m; ++k) {  // branch-free: the kept elements are a random 1 - p
        const auto v = static_cast<int64_t>(((static_cast<uint64_t>(w[2 * k]) << 32) | w[2 * k + 1]) & kMask53);
        o[k] = static_cast<float>(v < threshold) * scale;
      }
    }
    engine->set_engine(mt);
  }
  return x * noise;
}

}  // namespace abmil
