// FusedAdam against LibTorch's Adam: the same trajectory, step by step.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "abmil/train/adam.h"

using abmil::AdamOptions;
using abmil::FusedAdam;

TEST(FusedAdam, FollowsTorchAdamWithWeightDecay) {
  torch::manual_seed(21);
  std::vector<torch::Tensor> ours = {torch::randn({300, 70}), torch::randn({70}), torch::randn({4, 3, 5, 5})};
  ours[2] = ours[2].contiguous(torch::MemoryFormat::ChannelsLast);  // channels-last conv weight
  std::vector<torch::Tensor> theirs;
  for (auto& t : ours) {
    theirs.push_back(t.clone().set_requires_grad(true));
    t.set_requires_grad(true);
  }
  AdamOptions o;
  o.lr = 5e-3;
  o.beta1 = 0.8;
  o.beta2 = 0.99;
  o.weight_decay = 1e-2;
  FusedAdam fused(ours, o);
  torch::optim::Adam reference(theirs,
                               torch::optim::AdamOptions(o.lr).betas({o.beta1, o.beta2}).weight_decay(o.weight_decay));
  for (int step = 0; step < 20; ++step) {
    std::vector<torch::Tensor> grads;
    for (auto& t : ours) grads.push_back(torch::randn(t.sizes()) * (step + 1));
    fused.zero_grad();
    reference.zero_grad();
    for (size_t i = 0; i < ours.size(); ++i) {
      ours[i].mutable_grad() = grads[i].contiguous(ours[i].suggest_memory_format());
      theirs[i].mutable_grad() = grads[i].clone();
    }
    fused.step();
    reference.step();
  }
  EXPECT_EQ(fused.steps_taken(), 20);
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_TRUE(torch::allclose(ours[i], theirs[i], 1e-5, 1e-6))
        << "parameter " << i << " max diff " << (ours[i] - theirs[i]).abs().max().item<float>();
    EXPECT_FALSE(torch::allclose(ours[i], ours[i].detach().clone().zero_()));  // it moved
  }
}

TEST(FusedAdam, SkipsParametersWithoutGradient) {
  torch::Tensor a = torch::ones({5}, torch::requires_grad());
  torch::Tensor b = torch::ones({5}, torch::requires_grad());  // beside it, one with a gradient
  b.mutable_grad() = torch::ones({5});
  FusedAdam opt({a, b}, AdamOptions{});
  EXPECT_TRUE(opt.step());
  EXPECT_TRUE(torch::equal(a, torch::ones({5})));
  // Adam's first step moves each coordinate by lr against the sign of its gradient.
  EXPECT_TRUE(torch::allclose(b, torch::full({5}, 1 - AdamOptions{}.lr), 0, 1e-6)) << b;
}

// step() tells when a gradient held NaN or infinity (fit() then stops with
// "non-finite gradient at epoch E, step S"), on the fused path (a float
// tensor long enough to be split across threads) and on the tensor-op path.
TEST(FusedAdam, ReportsNonFiniteGradients) {
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    for (const float bad : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
      torch::Tensor p = torch::zeros({40000}, torch::dtype(dtype).requires_grad(true));
      FusedAdam opt({p}, AdamOptions{});
      p.mutable_grad() = torch::ones({40000}, dtype);
      EXPECT_TRUE(opt.step());
      torch::Tensor g = torch::ones({40000}, dtype);
      g[33333] = bad;
      p.mutable_grad() = g;
      EXPECT_FALSE(opt.step()) << "dtype " << dtype << " value " << bad;
    }
  }
}
