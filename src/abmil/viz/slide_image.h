// Whole-slide images through OpenSlide (Debian libopenslide-dev, C API):
// finding a slide's image file and reading a downsampled picture of it for
// the attention heatmaps of `abmil visualize`. No OpenSlide or OpenCV header
// leaks from here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace cv {
class Mat;
}

namespace abmil {

/// What OpenSlide says of a slide file.
struct SlideImageInfo {
  int64_t width = 0, height = 0;  ///< level-0 size, pixels
  int32_t levels = 0;             ///< pyramid levels (level 0 = full resolution)
  std::string vendor;             ///< OpenSlide's format name ("aperio", "generic-tiff", ...)
};

/// The whole-slide image files of the folder `dir` by slide id: every regular
/// file whose extension (any case) is one OpenSlide reads (.svs .tif .tiff
/// .ndpi .vms .vmu .scn .mrxs .svslide .bif .dcm .czi), keyed by its stem
/// ("slide_1.svs" -> "slide_1"); other files are ignored. Throws
/// std::runtime_error "DIR: no such folder (data.slide_dir)" when `dir` is not
/// a folder, and "DIR: two image files for slide S (A, B)" when two files
/// share a stem.
std::map<std::string, std::filesystem::path> find_slide_images(const std::filesystem::path& dir);

/// Opens the slide file `path` with OpenSlide and returns its level-0 size and
/// levels. Throws std::runtime_error with one line naming the file, "PATH: not
/// a slide OpenSlide can read (unknown format, truncated or corrupt)" or
/// "PATH: OpenSlide cannot read it: <OpenSlide's message>".
SlideImageInfo read_slide_image_info(const std::filesystem::path& path);

/// The top-left `width` x `height` pixels (> 0) of the slide `path` at
/// `downsample` level-0 pixels per output pixel (> 0): the level-0 region
/// [0, width * downsample) x [0, height * downsample), read at the pyramid
/// level OpenSlide finds best for that downsample
/// (openslide_get_best_level_for_downsample; a finer one when that level is
/// smaller than one of its tiles, which OpenSlide 3.4 with libtiff 4.5
/// misreads) in blocks of at most 4096 x 4096
/// level pixels, each resized (area averaging) to its share of the output.
/// Returns an 8-bit BGR image (CV_8UC3) of height x width; OpenSlide's
/// premultiplied ARGB is composited over white, so transparent pixels (outside
/// the slide, or no tissue scanned) are white. Throws std::runtime_error as
/// read_slide_image_info, and "PATH: OpenSlide cannot read it: ..." when a read
/// fails; std::invalid_argument for a size or downsample <= 0.
cv::Mat read_slide_thumbnail(const std::filesystem::path& path, double downsample, int width, int height);

}  // namespace abmil
