// `abmil report RUN_DIR`: one self-contained HTML page of a finished run. No LibTorch here.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace abmil {

/// Renders the run directory `run_dir` as one self-contained HTML page (no network, no external
/// scripts, fonts or images: CSS inline, charts as inline SVG, pictures as data: URIs).
/// Sections (each `<section id=...>`): summary, metrics, curves, roc, confusion, attention,
/// pictures, config. Reads config.yaml, metrics.csv, metrics.json, predictions/test.csv (or,
/// when absent, the bag columns of attention/test.csv), attention/test.csv and visualize/*.png;
/// every file but metrics.json is optional.
/// Throws std::runtime_error("RUN_DIR: not a finished run (no metrics.json)") when metrics.json is
/// missing, and a one-line error naming the file (and line) for malformed inputs.
std::string render_report(const std::filesystem::path& run_dir);

/// Standard base64 (RFC 4648, alphabet A-Z a-z 0-9 + /, '=' padding) of the bytes `bytes`.
std::string base64_encode(std::string_view bytes);

/// `text` with & < > " ' replaced by HTML character references, safe in element content and in
/// quoted attribute values.
std::string html_escape(std::string_view text);

}  // namespace abmil
