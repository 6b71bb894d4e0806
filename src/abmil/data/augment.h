// Training-time augmentation of image patches (histopathology, paper Sec. 4.4
// and appendix): random 90-degree rotations and mirroring, and H&E colour
// jitter by colour deconvolution (Ruifrok & Johnston 2001).
#pragma once

#include <torch/types.h>

namespace abmil {

/// Stain vectors of Ruifrok & Johnston (2001), "Quantification of
/// histochemical staining by color deconvolution", Anal. Quant. Cytol.
/// Histol. 23(4), Table 1 ("H DAB" / "H&E DAB" set): optical density of
/// haematoxylin (0.650, 0.704, 0.286), eosin (0.072, 0.990, 0.105) and DAB
/// (0.268, 0.570, 0.776) in R, G, B, each row scaled to unit length.
/// Returns the [3, 3] float64 matrix, rows H, E, DAB.
torch::Tensor he_stain_matrix();

/// Colour deconvolution: RGB in [0, 1] -> stain amounts (H, E, DAB).
/// rgb [..., 3, H, W] float; per pixel the optical density
/// OD_c = -log10(max(I_c, 1/255)) is written as s_H * h + s_E * e + s_D * d
/// with the rows of he_stain_matrix(); returns s [..., 3, H, W] (same dtype),
/// in OD units. The 1/255 floor keeps black pixels finite.
/// Throws std::invalid_argument unless dim -3 has size 3.
torch::Tensor rgb_to_hed(const torch::Tensor& rgb);

/// Inverse of rgb_to_hed: stain amounts [..., 3, H, W] -> RGB in [0, 1]
/// (I_c = 10^-OD_c, clamped to [0, 1]). rgb_to_hed(hed_to_rgb(s)) == s and
/// hed_to_rgb(rgb_to_hed(x)) == x for x in [1/255, 1].
/// Throws std::invalid_argument unless dim -3 has size 3.
torch::Tensor hed_to_rgb(const torch::Tensor& hed);

/// What augment_patches does.
struct PatchAugmentation {
  bool rotate_flip = false;    ///< one of the 8 symmetries of the square per patch (4 rotations x mirror)
  double he_jitter_std = 0.0;  ///< std of the Gaussian factors (mean 1) on the H and E amounts; 0 = off
};

/// Augments a batch of uint8 RGB patches x [N, 3, P, P] (0..255): each patch
/// independently gets a uniformly drawn rotation by k * 90 degrees and
/// mirroring (rotate_flip), and its H and E stain amounts (rgb_to_hed)
/// multiplied by two i.i.d. N(1, he_jitter_std^2) factors before converting
/// back (DAB unchanged; rounded to uint8). Random draws come from LibTorch's
/// default CPU generator, so a run is reproducible from torch::manual_seed
/// and resumes exactly from a checkpoint that saved that generator.
/// Returns a new tensor [N, 3, P, P] uint8; x is not modified. Throws
/// std::invalid_argument for another dtype or shape (P x P square).
torch::Tensor augment_patches(const torch::Tensor& x, const PatchAugmentation& options);

}  // namespace abmil
