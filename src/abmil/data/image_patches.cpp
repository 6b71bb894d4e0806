#include "abmil/data/image_patches.h"

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "abmil/config/config.h"
#include "abmil/data/splits.h"
#include "abmil/data/errors.h"
#include "abmil/io/csv_table.h"

namespace abmil {

namespace fs = std::filesystem;

TiledImage tile_image(const cv::Mat& image, const PatchTiling& tiling) {
  if (image.depth() != CV_8U || (image.channels() != 3 && image.channels() != 1))
    throw std::invalid_argument("tile_image: needs an 8-bit image with 1 or 3 channels");
  const int64_t P = tiling.patch_size, stride = tiling.stride == 0 ? tiling.patch_size : tiling.stride;
  if (P < 1 || stride < 1) throw std::invalid_argument("tile_image: patch size and stride must be positive");
  if (image.cols < P || image.rows < P)
    throw std::invalid_argument(
        fmt::format("tile_image: a {}x{} image holds no {}x{} patch", image.cols, image.rows, P, P));
  cv::Mat rgb;
  if (image.channels() == 3)
    cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB);
  else
    cv::cvtColor(image, rgb, cv::COLOR_GRAY2RGB);
  // white[y][x] = 1 where all three channels reach white_level; its integral
  // image gives each patch's white count in O(1).
  cv::Mat white;
  cv::inRange(rgb, cv::Scalar::all(static_cast<double>(tiling.white_level)), cv::Scalar::all(255.0), white);
  cv::Mat integral;
  cv::integral(white / 255, integral, CV_32S);

  TiledImage out;
  std::vector<int64_t> kept_y, kept_x;
  const int64_t area = P * P;
  for (int64_t y = 0; y + P <= rgb.rows; y += stride)
    for (int64_t x = 0; x + P <= rgb.cols; x += stride) {
      ++out.grid_patches;
      const int64_t count = integral.at<int32_t>(y + P, x + P) - integral.at<int32_t>(y, x + P) -
                            integral.at<int32_t>(y + P, x) + integral.at<int32_t>(y, x);
      if (tiling.max_white_fraction < 1.0 && static_cast<double>(count) >= tiling.max_white_fraction * area) continue;
      out.origins.push_back({static_cast<int32_t>(x), static_cast<int32_t>(y)});
    }
  const int64_t K = static_cast<int64_t>(out.origins.size());
  out.patches = torch::empty({K, 3, P, P}, torch::kUInt8);
  // [H, W, 3] view of the image; each patch is copied as [P, P, 3] then permuted.
  const torch::Tensor hwc =
      torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, {static_cast<int64_t>(rgb.step[0]), 3, 1}, torch::kUInt8);
  for (int64_t k = 0; k < K; ++k) {
    const PatchOrigin o = out.origins[k];
    out.patches[k].copy_(hwc.narrow(0, o.y, P).narrow(1, o.x, P).permute({2, 0, 1}));
  }
  return out;
}

namespace {

/// The images of the folder `dir` (not recursive): files whose extension
/// OpenCV decodes (png, jpg, jpeg, tif, tiff, bmp, any case), sorted by name,
/// unlabelled. Throws DataError when there is none.
ImageList read_image_folder(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (e.is_regular_file() &&
        (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".tif" || ext == ".tiff" || ext == ".bmp"))
      files.push_back(e.path().filename().string());
  }
  if (files.empty())
    throw DataError(dir + ": no image file (.png, .jpg, .jpeg, .tif, .tiff, .bmp) in the folder (data.path)");
  std::sort(files.begin(), files.end());
  ImageList list;
  for (const std::string& f : files) {
    list.paths.push_back((fs::path(dir) / f).string());
    list.names.push_back(f);
    list.labels.push_back(-1);
    list.where.push_back(dir);
  }
  return list;
}

}  // namespace

ImageList read_image_list(const std::string& csv_path, const std::string& image_root) {
  if (fs::is_directory(csv_path)) return read_image_folder(csv_path);
  if (!fs::is_regular_file(csv_path))
    throw DataError(fs::absolute(csv_path).string() + ": no such image list or folder (data.path)");
  CsvTable t;
  try {
    t = read_csv(csv_path);
  } catch (const std::runtime_error& e) {
    throw DataError(e.what());
  }
  const auto path_col = t.find_column("path") ? t.find_column("path") : t.find_column("file");
  if (!path_col) throw DataError(csv_path + ":1: no column 'path' (or 'file') in the header");
  const auto label_col = t.find_column("label");  // optional: bags to score with `abmil predict`
  if (t.rows.empty()) throw DataError(csv_path + ": no images listed");
  const fs::path root = image_root.empty() ? fs::path(csv_path).parent_path() : fs::path(image_root);
  ImageList list;
  std::set<std::string> seen;
  for (size_t row = 0; row < t.rows.size(); ++row) {
    const std::string& cell = t.rows[row][*path_col];
    if (cell.empty()) throw DataError(t.error(row, "empty image path").what());
    const int label = [&] {
      if (!label_col) return -1;
      try {
        return t.label(row, *label_col);
      } catch (const std::runtime_error& e) {
        throw DataError(e.what());
      }
    }();
    const fs::path p = fs::path(cell).is_absolute() ? fs::path(cell) : root / cell;
    if (!seen.insert(p.lexically_normal().string()).second)
      throw DataError(t.error(row, "image '" + cell + "' is listed twice").what());
    list.paths.push_back(p.string());
    list.labels.push_back(label);
    list.names.push_back(cell);
    list.where.push_back(csv_path + ":" + std::to_string(t.lines[row]));
  }
  return list;
}

ImagePatchBags load_image_patch_bags(const DataConfig& data) {
  if (data.path.empty())
    throw DataError("data.path: image_patches needs the CSV list of images (path,label) or a folder of images");
  const ImageList list = read_image_list(data.path, data.image_root);
  PatchTiling tiling;
  tiling.patch_size = data.patch_size;
  tiling.stride = data.patch_stride;
  tiling.white_level = data.white_level;
  tiling.max_white_fraction = data.max_white_fraction;

  ImagePatchBags out;
  std::vector<Bag> bags;
  std::vector<torch::Tensor> parts;
  for (size_t i = 0; i < list.paths.size(); ++i) {
    const std::string& path = list.paths[i];
    if (!fs::is_regular_file(path)) throw DataError(path + ": no such image file (listed at " + list.where[i] + ")");
    const cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
    if (image.empty())
      throw DataError(path + ": cannot decode the image (not a format OpenCV reads, or damaged; listed at " +
                      list.where[i] + ")");
    if (image.cols < tiling.patch_size || image.rows < tiling.patch_size)
      throw DataError(fmt::format("{}: {}x{} pixels, smaller than one {}x{} patch (data.patch_size)", path, image.cols,
                                  image.rows, tiling.patch_size, tiling.patch_size));
    TiledImage tiled = tile_image(image, tiling);
    if (tiled.origins.empty())
      throw DataError(
          fmt::format("{}: all {} patches are background (white share >= {:g}); raise data.white_level or "
                      "data.max_white_fraction",
                      path, tiled.grid_patches, tiling.max_white_fraction));
    Bag bag;
    bag.id = static_cast<int64_t>(i);
    bag.label = list.labels[i];
    bag.name = list.names[i];
    for (size_t k = 0; k < tiled.origins.size(); ++k)
      bag.source_indices.push_back(static_cast<int64_t>(out.origins.size() + k));
    bag.instance_labels.assign(tiled.origins.size(), -1);
    out.origins.insert(out.origins.end(), tiled.origins.begin(), tiled.origins.end());
    out.grid_patches += tiled.grid_patches;
    parts.push_back(tiled.patches);
    bags.push_back(std::move(bag));
    out.image_paths.push_back(path);
  }
  const torch::Tensor all_patches = torch::cat(parts, 0);
  out.all.name = "all";
  out.all.offsets.push_back(0);
  for (const Bag& b : bags) out.all.offsets.push_back(out.all.offsets.back() + b.size());
  out.all.bags = std::move(bags);
  out.all.instances = all_patches;
  out.all.pixel_mean = data.pixel_mean;
  out.all.pixel_std = data.pixel_std;
  int positives = 0, unlabelled = 0;
  for (int label : list.labels) {
    positives += label == 1;
    unlabelled += label < 0;
  }
  const int64_t n = all_patches.size(0);
  out.summary = fmt::format(
      "image_patches from {}: {} images ({} positive{}), {} patches of {}x{} kept of {} ({:.1f} per image, {:.1f} % "
      "dropped as background), {:.0f} MB uint8",
      data.path, list.paths.size(), positives, unlabelled > 0 ? fmt::format(", {} unlabelled", unlabelled) : "", n,
      tiling.patch_size, tiling.patch_size, out.grid_patches,
      static_cast<double>(n) / static_cast<double>(list.paths.size()),
      100.0 * static_cast<double>(out.grid_patches - n) / static_cast<double>(out.grid_patches),
      static_cast<double>(all_patches.numel()) / 1e6);
  return out;
}

MilData load_image_patches(const DataConfig& data, uint64_t seed) {
  ImagePatchBags bags = load_image_patch_bags(data);
  MilData out = hold_out_test_and_validation(bags.all, data, seed, data.path);
  out.instance_shape = {3, data.patch_size, data.patch_size};
  out.summary = bags.summary + fmt::format("; train {}, validation {}, test {}", out.train.num_bags(),
                                           out.validation.num_bags(), out.test.num_bags());
  return out;
}

}  // namespace abmil
