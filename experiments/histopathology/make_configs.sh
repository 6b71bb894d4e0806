#!/usr/bin/env bash
# Writes configs/<pooling>.yaml: the six UCSB configs, the same but for the
# pooling (and the name and comment that go with it). The one source of the
# committed configs/ (tests/python/test_configs.py checks that they are what
# this writes): edit here, then run it.
#   make_configs.sh [OUT_DIR]    (default: configs/ next to this script)
set -euo pipefail
out="${1:-$(dirname "$0")/configs}"
mkdir -p "$out"
while IFS='|' read -r pool what; do
  cat > "$out/${pool}.yaml" <<YAML
# UCSB breast cancer (Ilse, Tomczak & Welling 2018, Sec. 4.4, Table 2):
# 58 H&E images (26 malignant), one bag per image, 32x32 patches, patches
# >= 75 % white dropped; the paper's histopathology CNN; ${what}
# Adam lr 1e-4, betas (0.9, 0.999), weight decay 5e-4; early stopping on the
# validation loss; augmentation: random 90-degree rotations and mirroring,
# H&E colour jitter. The six configs here differ only in the pooling.
# Run: abmil cv experiments/histopathology/configs/${pool}.yaml (10 folds).
experiment:
  name: ucsb_${pool}
  seed: 1
data:
  kind: image_patches
  path: \${ABMIL_DATA}/ucsb_breast/labels.csv
  image_root: \${ABMIL_DATA}/ucsb_breast/images
  patch_size: 32
  white_level: 220
  max_white_fraction: 0.75
  pixel_mean: 0.5
  pixel_std: 0.5
  augment: {rotate_flip: true, he_jitter_std: 0.05}
model:
  encoder: histo_cnn
  embedding_dim: 512
  dropout: 0.5
  pooling: ${pool}
  attention_dim: 128
train:
  epochs: 80
  bags_per_step: 1
  optimizer: {kind: adam, lr: 1.0e-4, betas: [0.9, 0.999], weight_decay: 5.0e-4}
  early_stopping: {patience: 15, start_epoch: 25}   # no stop and no best epoch before epoch 26
cv:
  folds: 10
  repeats: 1
  validation_fraction: 0.1
YAML
done <<'POOLINGS'
gated_attention|gated attention pooling (eq. 9) with L = 128.
attention|attention pooling (eq. 8) with L = 128.
mean|embedding-level mean pooling.
max|embedding-level max pooling.
instance_mean|instance-level mean pooling (mean of the instance scores).
instance_max|instance-level max pooling (max of the instance scores).
POOLINGS
ls "$out" | wc -l
