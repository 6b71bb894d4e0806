// What a trained run fixed about its input, saved beside its weights as
// RUN_DIR/preprocessing.json so `abmil predict` feeds new bags to the model as
// the training bags were fed: the feature standardisation statistics
// (feature_bags), the pixel normalisation (mnist_bags, image_patches). The
// vocabulary of a text run is RUN_DIR/vocabulary.txt (data/text.h).
#pragma once

#include <filesystem>
#include <string>

#include "abmil/data/kinds.h"

namespace abmil {

struct Config;
struct MilData;

/// RUN_DIR/preprocessing.json of a run trained on `data` with `config`:
/// {"data_kind", "pixel_mean", "pixel_std", "feature_mean": [D] or null,
/// "feature_std": [D] or null} (numbers as float64 JSON numbers, exact
/// round trip).
std::string preprocessing_json(const Config& config, const MilData& data);

/// What `abmil predict` applies to new bags of a run trained with `trained`
/// (its config.yaml): the feature statistics of RUN_DIR/preprocessing.json,
/// and pixel_mean/pixel_std (from that file, else the run's config) written
/// into `*data`. A run without the file (trained before abmil wrote it) is
/// accepted when nothing it lacks matters: a feature_bags run with
/// data.standardize throws std::runtime_error "RUN_DIR/preprocessing.json:
/// missing; ... train the run again". Throws std::runtime_error naming the file
/// when it is unreadable or malformed.
Preprocessing read_preprocessing(const std::filesystem::path& run_dir, const Config& trained, DataConfig* data);

}  // namespace abmil
