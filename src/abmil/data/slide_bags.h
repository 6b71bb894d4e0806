// data.kind feature_files: whole slides as bags of patch features, read from
// CLAM / TRIDENT feature files (data/feature_files.h) as each step needs
// them. A bag is a slide; its instances are its patches; bags are grouped by
// case (patient) whenever bags are split.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "abmil/data/bag.h"

namespace abmil {

struct DataConfig;
struct CvSource;
struct Preprocessing;

/// `abmil train` on feature files: reads the bag list (data.bag_list) and
/// every slide's header (and, with data.verify_features, every feature,
/// one slide at a time) before anything is written; then holds out a
/// class-stratified data.test_fraction of the cases for testing and
/// data.validation_fraction of the rest for early stopping (seeded from
/// `seed`; a case's slides stay together), or takes the three splits of
/// data.split_csv. The splits are streamed: a bag's features are read from
/// its file when a batch needs it (data.cache_mib bounds an optional cache).
/// MilData::classes holds the class names; instance_shape = {D}.
/// Throws DataError "FILE: ..." for a missing or malformed file, features of
/// another D than the first slide's, an unknown label, a duplicate slide.
MilData load_slide_bags(const DataConfig& data, uint64_t seed);

/// `abmil cv` on feature files: every slide of the bag list, folds grouped
/// by case (CvSource::cases) and stratified by class. Throws as load_slide_bags.
CvSource slide_bags_cv_source(const DataConfig& data, uint64_t seed);

/// `abmil predict` on feature files: every slide of data.bag_list in list
/// order (labels where the list has them, -1 for an empty label cell),
/// classes from data.classes (the trained run's). Throws as load_slide_bags
/// (a bag list without labels is not read yet).
MilData predict_slide_bags(const DataConfig& data, uint64_t seed, const Preprocessing& prep);

}  // namespace abmil
