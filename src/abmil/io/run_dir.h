// The run directory: everything a run leaves behind (README, "What a run leaves").
//
//   RUN_DIR/config.yaml          resolved configuration (every key)
//   RUN_DIR/metrics.csv          one row per epoch and split
//   RUN_DIR/predictions/test.csv one row per test bag
//   RUN_DIR/attention/test.csv   one row per instance of every test bag
//   RUN_DIR/checkpoints/best.pt  weights of the best epoch (torch::save archive)
//   RUN_DIR/preprocessing.json   feature statistics and pixel normalisation (train/preprocessing.h)
//   RUN_DIR/vocabulary.txt       text_bags: the token of each id
//   RUN_DIR/predict[-N]/         each `abmil predict` (config.yaml, predictions/, attention/, metrics.json)
//   RUN_DIR/metrics.json         final metrics; written last, so its presence
//                                marks a complete run
// Every file is written atomically (temp file, fsync, rename). The text of the
// CSV files comes from train/run_files.h (it needs the training types).
#pragma once

#include <filesystem>
#include <string>

namespace abmil {

/// Writes `content` to `path` atomically: a temp file beside it, fsync, then
/// rename over `path`. Creates missing parent folders. Throws std::runtime_error
/// naming the path on any I/O failure; `path` is then untouched.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

/// Checks, before any work, that `requested` (an --output / output.dir; empty
/// = none asked for) can become a run directory: it must not exist, or be an
/// empty folder. Throws std::runtime_error "PATH: output directory exists and
/// is not empty (choose another --output)" or "PATH: is a file, not a folder
/// (choose another --output)".
void check_output_dir(const std::string& requested);

/// `base`, or base-2, base-3, ... whichever does not exist yet (not created).
std::filesystem::path next_free_dir(const std::filesystem::path& base);

/// Creates the run directory. With `requested` non-empty that folder is used
/// and must not exist or be empty (check_output_dir); with it
/// empty, runs/<name> is used, or runs/<name>-2, -3, ... if taken.
std::filesystem::path create_run_dir(const std::string& requested, const std::string& name);

/// The whole contents of the file `path`. Throws std::runtime_error "PATH: cannot read".
std::string read_file(const std::filesystem::path& path);

}  // namespace abmil
