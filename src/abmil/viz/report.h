// `abmil report RUN_DIR`: one self-contained HTML page of a finished run. No LibTorch here.
// The page's parts live beside it: viz/html.h (escaping, base64), viz/svg_chart.h (the charts)
// and io/run_files_read.h (the readers of the run's files).
#pragma once

#include <filesystem>
#include <string>

namespace abmil {

/// Renders the run directory `run_dir` as one self-contained HTML page (no network, no external
/// scripts, fonts or images: CSS inline, charts as inline SVG, pictures as data: URIs).
/// Sections (each `<section id=...>`): summary, metrics, curves, roc, confusion, attention,
/// pictures, config. Reads config.yaml (through the config loader, for the run name and
/// eval.threshold; one the loader rejects is shown with a note, the folder name and threshold 0.5
/// standing in), metrics.csv, metrics.json, predictions/test.csv (or, when absent, the bag columns
/// of attention/test.csv), attention/test.csv and visualize/*.png; every file but metrics.json is
/// optional. The ROC AUC shown is metrics' roc_auc of the bags' probabilities. Slide heatmaps of
/// `abmil visualize` on feature_files runs (visualize/<slide>_heatmap*.png): those of the 3 most
/// and 3 least confident test slides of attention/test.csv (binary: |p - 0.5|; C classes: the
/// predicted class's p) embedded as JPEG at most 1024 px wide, each linking its PNG; the others
/// only linked (visualize/NAME, relative to report.html).
/// Throws std::runtime_error("RUN_DIR: not a finished run (no metrics.json)") when metrics.json is
/// missing, and a one-line error naming the file (and line) for malformed inputs.
std::string render_report(const std::filesystem::path& run_dir);

}  // namespace abmil
