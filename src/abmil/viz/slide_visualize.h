// `abmil visualize RUN_DIR` for data.kind feature_files: an attention heatmap
// per test slide (viz/slide_heatmap.h), over the slide's picture when
// data.slide_dir has it (viz/slide_image.h). visualize_run dispatches here.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

namespace abmil {

struct Config;
struct VisualizeOptions;

/// visualize_run for a feature_files run (see visualize.h): writes
/// RUN_DIR/visualize/<slide id>_heatmap.png per slide of the run's attention
/// files (and <slide id>_heatmap_<class>.png per branch with
/// options.all_branches), logs one line per slide drawn and a summary, and
/// returns the files written. `cfg` is RUN_DIR/config.yaml loaded. Throws
/// std::runtime_error naming the file: no attention file, a malformed one, a
/// bag id in two files, a slide without coordinates, a slide image OpenSlide
/// cannot read; DataError for a bad feature file.
std::vector<std::filesystem::path> visualize_slides(const std::filesystem::path& run_dir, const Config& cfg,
                                                    const VisualizeOptions& options, std::ostream& log);

/// `name` made safe as part of a file name: every character other than
/// A-Z a-z 0-9 . _ - becomes '_' ("tumor/II" -> "tumor_II"); "_" when empty.
std::string file_name_part(const std::string& name);

}  // namespace abmil
