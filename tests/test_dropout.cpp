// abmil::dropout against LibTorch's own: same values, gradients and generator
// state, so swapping it in moves no published figure.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "abmil/nn/dropout.h"

using namespace abmil;

namespace {

struct Draw {
  torch::Tensor y, grad, next;  // dropout output, d(sum(y * c))/dx, the generator's next draws
};

/// Seeds the default generator, draws x, applies `drop`, back-propagates a
/// fixed cotangent and draws once more from the generator.
template <typename Drop>
Draw draw(Drop drop, std::vector<int64_t> shape, bool transpose) {
  torch::manual_seed(7);
  torch::Tensor x = torch::randn(shape);
  if (transpose) x = x.t();  // non-contiguous input
  x.requires_grad_(true);
  torch::Tensor y = drop(x);
  (y * torch::arange(y.numel(), torch::kFloat).view(y.sizes())).sum().backward();
  return {y.detach(), x.grad(), torch::rand({4})};
}

}  // namespace

TEST(Dropout, EqualsLibTorchBitForBit) {
  for (double p : {0.25, 0.5, 0.9, 1e-3})
    for (bool transpose : {false, true}) {
      const Draw ours = draw([p](const torch::Tensor& x) { return abmil::dropout(x, p, true); }, {37, 129}, transpose);
      const Draw theirs = draw([p](const torch::Tensor& x) { return torch::dropout(x, p, true); }, {37, 129}, transpose);
      EXPECT_TRUE(torch::equal(ours.y, theirs.y)) << "p " << p << " transpose " << transpose;
      EXPECT_TRUE(torch::equal(ours.grad, theirs.grad)) << "p " << p;
      EXPECT_TRUE(torch::equal(ours.next, theirs.next)) << "generator state differs after p " << p;
      // Dropped fraction near p (37 x 129 = 4773 draws; 6 standard deviations).
      const double dropped = ours.y.eq(0).to(torch::kDouble).mean().item<double>();
      EXPECT_NEAR(dropped, p, 6 * std::sqrt(p * (1 - p) / 4773) + 1e-3) << "p " << p;
    }
}

TEST(Dropout, KeptValuesAreScaledAndEvaluationIsIdentity) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::rand({1000}) + 1;  // no zeros of its own
  const torch::Tensor y = abmil::dropout(x, 0.2, true);
  const torch::Tensor kept = y.ne(0);
  EXPECT_TRUE(torch::allclose(y.masked_select(kept), x.masked_select(kept) * 1.25f));
  EXPECT_TRUE(abmil::dropout(x, 0.2, false).is_same(x));
  EXPECT_TRUE(abmil::dropout(x, 0.0, true).is_same(x));
  EXPECT_TRUE(torch::equal(abmil::dropout(x, 1.0, true), torch::zeros_like(x)));  // passed to torch::dropout
  EXPECT_THROW(abmil::dropout(x, 1.5, true), c10::Error);
}
