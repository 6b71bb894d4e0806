#include "abmil/data/augment.h"

#include <stdexcept>
#include <string>

namespace abmil {

namespace {

void check_channels(const torch::Tensor& t, const char* what) {
  if (t.dim() < 3 || t.size(-3) != 3)
    throw std::invalid_argument(std::string(what) + ": needs a tensor [..., 3, H, W], got " + std::to_string(t.dim()) +
                                " dimensions");
}

/// Optical density floor: the OD of one grey level out of 255.
constexpr double kMinIntensity = 1.0 / 255.0;

}  // namespace

torch::Tensor he_stain_matrix() {
  const torch::Tensor m = torch::tensor({0.650, 0.704, 0.286,   // haematoxylin
                                         0.072, 0.990, 0.105,   // eosin
                                         0.268, 0.570, 0.776},  // DAB
                                        torch::kDouble)
                              .view({3, 3});
  return m / m.norm(2, 1, true);
}

torch::Tensor rgb_to_hed(const torch::Tensor& rgb) {
  check_channels(rgb, "rgb_to_hed");
  // od = s @ M per pixel (rows of M: stains), so s = od @ M^-1.
  const torch::Tensor inverse = torch::inverse(he_stain_matrix()).to(rgb.scalar_type());
  const torch::Tensor od = -torch::log10(rgb.clamp_min(kMinIntensity)).movedim(-3, -1);
  return torch::matmul(od, inverse).movedim(-1, -3).contiguous();
}

torch::Tensor hed_to_rgb(const torch::Tensor& hed) {
  check_channels(hed, "hed_to_rgb");
  const torch::Tensor od = torch::matmul(hed.movedim(-3, -1), he_stain_matrix().to(hed.scalar_type()));
  return torch::pow(10.0, -od).clamp(0.0, 1.0).movedim(-1, -3).contiguous();
}

torch::Tensor augment_patches(const torch::Tensor& x, const PatchAugmentation& options) {
  if (x.scalar_type() != torch::kUInt8 || x.dim() != 4 || x.size(1) != 3 || x.size(2) != x.size(3))
    throw std::invalid_argument("augment_patches: needs uint8 RGB patches [N, 3, P, P], got " +
                                std::string(c10::toString(x.scalar_type())) + " of " + std::to_string(x.dim()) +
                                " dimensions");
  const int64_t n = x.size(0);
  torch::Tensor out = x.clone();
  if (options.rotate_flip && n > 0) {
    // Symmetry c of the square: mirror when c >= 4, then rotate by (c % 4) * 90 degrees.
    const torch::Tensor code = torch::randint(0, 8, {n}, torch::kLong);
    for (int64_t c = 1; c < 8; ++c) {
      const torch::Tensor rows = (code == c).nonzero().squeeze(1);
      if (rows.numel() == 0) continue;
      torch::Tensor sub = x.index_select(0, rows);
      if (c >= 4) sub = sub.flip({3});
      if (c % 4) sub = torch::rot90(sub, c % 4, {2, 3});
      out.index_copy_(0, rows, sub);
    }
  }
  if (options.he_jitter_std > 0 && n > 0) {
    const torch::Tensor factors = 1.0 + options.he_jitter_std * torch::randn({n, 2}, torch::kFloat);
    const torch::Tensor scale = torch::cat({factors, torch::ones({n, 1}, torch::kFloat)}, 1).view({n, 3, 1, 1});
    const torch::Tensor hed = rgb_to_hed(out.to(torch::kFloat).div_(255.0)) * scale;
    out = hed_to_rgb(hed).mul_(255.0).round_().clamp_(0, 255).to(torch::kUInt8);
  }
  return out;
}

}  // namespace abmil
