#include "abmil/viz/slide_image.h"

#include <fmt/format.h>
#include <openslide/openslide.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cmath>
#include <memory>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>
#include <vector>

namespace abmil {
namespace {

namespace fs = std::filesystem;

/// Extensions of the formats OpenSlide reads (lower case).
const std::vector<std::string>& slide_extensions() {
  static const std::vector<std::string> e = {".svs", ".tif",  ".tiff", ".ndpi", ".vms", ".vmu",
                                             ".scn", ".mrxs", ".bif",  ".dcm",  ".czi", ".svslide"};
  return e;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// `text` on one line: line breaks and tabs become spaces, surrounding blanks trimmed.
std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  const size_t a = text.find_first_not_of(' '), b = text.find_last_not_of(' ');
  return a == std::string::npos ? std::string() : text.substr(a, b - a + 1);
}

struct SlideCloser {
  void operator()(openslide_t* osr) const { openslide_close(osr); }
};
using SlideHandle = std::unique_ptr<openslide_t, SlideCloser>;

/// Throws "PATH: OpenSlide cannot read it: MESSAGE" when `osr` is in error.
void check_slide(openslide_t* osr, const fs::path& path) {
  if (const char* e = openslide_get_error(osr))
    throw std::runtime_error(path.string() + ": OpenSlide cannot read it: " + one_line(e));
}

SlideHandle open_slide(const fs::path& path) {
  if (!fs::is_regular_file(path)) throw std::runtime_error(path.string() + ": no such file");
  SlideHandle osr(openslide_open(path.c_str()));
  if (!osr)
    throw std::runtime_error(path.string() + ": not a slide OpenSlide can read (unknown format, truncated or corrupt)");
  check_slide(osr.get(), path);
  return osr;
}

/// Whether `level` of the slide is smaller than one of its tiles
/// (properties openslide.level[N].tile-width/-height; false when absent).
bool smaller_than_a_tile(openslide_t* osr, int32_t level) {
  int64_t w = 0, h = 0;
  openslide_get_level_dimensions(osr, level, &w, &h);
  auto tile = [&](const char* side) {
    const char* v = openslide_get_property_value(osr, fmt::format("openslide.level[{}].tile-{}", level, side).c_str());
    return v ? std::atoll(v) : 0LL;
  };
  return w < tile("width") || h < tile("height");
}

}  // namespace

std::map<std::string, fs::path> find_slide_images(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw std::runtime_error(dir.string() + ": no such folder (data.slide_dir)");
  std::map<std::string, fs::path> out;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    const std::string ext = lower(f.extension().string());
    if (std::find(slide_extensions().begin(), slide_extensions().end(), ext) == slide_extensions().end()) continue;
    const auto [it, fresh] = out.emplace(f.stem().string(), f);
    if (!fresh)
      throw std::runtime_error(fmt::format("{}: two image files for slide {} ({}, {})", dir.string(), it->first,
                                           it->second.filename().string(), f.filename().string()));
  }
  return out;
}

SlideImageInfo read_slide_image_info(const fs::path& path) {
  const SlideHandle osr = open_slide(path);
  SlideImageInfo info;
  openslide_get_level0_dimensions(osr.get(), &info.width, &info.height);
  info.levels = openslide_get_level_count(osr.get());
  check_slide(osr.get(), path);
  if (const char* v = openslide_detect_vendor(path.c_str())) info.vendor = v;
  return info;
}

cv::Mat read_slide_thumbnail(const fs::path& path, double downsample, int width, int height) {
  if (!(downsample > 0) || width <= 0 || height <= 0)
    throw std::invalid_argument(
        fmt::format("read_slide_thumbnail: size {}x{} at downsample {} (must be > 0)", width, height, downsample));
  const SlideHandle osr = open_slide(path);
  int32_t level = std::max(0, openslide_get_best_level_for_downsample(osr.get(), downsample));
  // OpenSlide 3.4 with libtiff 4.5 misreads a TIFF level smaller than one tile (the top of a vips pyramid:
  // garbage pixels and a libtiff warning on stderr); the next finer level then.
  while (level > 0 && smaller_than_a_tile(osr.get(), level)) --level;
  const double level_downsample = openslide_get_level_downsample(osr.get(), level);
  check_slide(osr.get(), path);
  const double f = downsample / level_downsample;  // level pixels per output pixel
  constexpr double kBlock = 4096;                  // level pixels a side of one read at most
  const int step = std::max(1, static_cast<int>(std::floor(kBlock / std::max(f, 1e-9))));
  cv::Mat out(height, width, CV_8UC3);
  std::vector<uint32_t> argb;
  for (int oy = 0; oy < height; oy += step)
    for (int ox = 0; ox < width; ox += step) {
      const int ow = std::min(step, width - ox), oh = std::min(step, height - oy);
      // the level pixels under output pixels [ox, ox + ow) x [oy, oy + oh)
      const auto lx0 = static_cast<int64_t>(std::llround(ox * f)), ly0 = static_cast<int64_t>(std::llround(oy * f));
      const int64_t lw = std::max<int64_t>(1, std::llround((ox + ow) * f) - lx0);
      const int64_t lh = std::max<int64_t>(1, std::llround((oy + oh) * f) - ly0);
      argb.assign(static_cast<size_t>(lw * lh), 0);
      openslide_read_region(osr.get(), argb.data(), static_cast<int64_t>(std::llround(lx0 * level_downsample)),
                            static_cast<int64_t>(std::llround(ly0 * level_downsample)), level, lw, lh);
      check_slide(osr.get(), path);
      cv::Mat block(static_cast<int>(lh), static_cast<int>(lw), CV_8UC3);
      for (int64_t i = 0; i < lw * lh; ++i) {
        // premultiplied ARGB over white: c + (255 - a)
        const uint32_t p = argb[static_cast<size_t>(i)];
        const int a = static_cast<int>(p >> 24), r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
        block.at<cv::Vec3b>(static_cast<int>(i / lw), static_cast<int>(i % lw)) =
            cv::Vec3b(cv::saturate_cast<uint8_t>(b + 255 - a), cv::saturate_cast<uint8_t>(g + 255 - a),
                      cv::saturate_cast<uint8_t>(r + 255 - a));
      }
      cv::Mat dst = out(cv::Rect(ox, oy, ow, oh));
      if (block.cols == ow && block.rows == oh)
        block.copyTo(dst);
      else
        cv::resize(block, dst, dst.size(), 0, 0, block.cols > ow ? cv::INTER_AREA : cv::INTER_LINEAR);
    }
  return out;
}

}  // namespace abmil
