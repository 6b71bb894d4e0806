// Whole-slide feature files, the formats CLAM and TRIDENT write: one file a
// slide holding the features of its patches, encoded once by a frozen
// network, plus each patch's level-0 coordinates; and the bag list that
// names each slide's case and class (data.kind: feature_files).
//
//   CLAM     <dir>/h5_files/<slide_id>.h5  datasets `features` float32|float16 [n, D]
//                                          and `coords` int [n, 2] (x, y of the
//                                          patch's top-left corner, level-0 pixels)
//            <dir>/pt_files/<slide_id>.pt  torch.save of a [n, D] tensor
//   TRIDENT  <job>/<mag>x_<ps>px_<overlap>px_overlap/features_<encoder>/<slide>.h5
//            as CLAM's .h5, `features` with attribute `encoder`, `coords` with
//            attributes `patch_size`, `patch_size_level0`, `level0_magnification`
//
// HDF5 is read with the HDF5 library's C++ API (H5Cpp.h), .pt with LibTorch's
// pickle loader. Every reader throws DataError with one line
// "FILE: what is wrong" (data/errors.h). No HDF5 header leaks from here.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace abmil {

/// The layout of a features folder (resolve_feature_folder).
enum class FeatureLayout {
  clam_h5,     ///< <dir>/h5_files/<slide_id>.h5
  clam_pt,     ///< <dir>/pt_files/<slide_id>.pt
  trident_h5,  ///< <dir>/<slide_id>.h5 in a features_<encoder> folder (or the one such folder below a TRIDENT job)
};

/// Where the per-slide files of a features folder are.
struct FeatureFolder {
  FeatureLayout layout = FeatureLayout::clam_h5;
  std::string files_dir;  ///< folder holding <slide_id><extension>
  std::string extension;  ///< ".h5" or ".pt"
};

/// Finds the layout of `dir`, in this order: `dir/h5_files` (CLAM .h5);
/// `dir/pt_files` (CLAM .pt); `.h5` files directly in `dir` (a TRIDENT
/// features_<encoder> folder); exactly one `dir/*/features_*` folder holding
/// `.h5` files (a TRIDENT job folder). `prefer` "h5" or "pt" picks CLAM's
/// h5_files or pt_files when both exist ("auto": h5_files).
/// Throws DataError "DIR: no such folder", "DIR: no h5_files/ or pt_files/
/// folder and no .h5 files (expected the CLAM or TRIDENT layout)", or
/// "DIR: N features_* folders (A, B, ...); give one of them as data.path"
/// (A, B: the folders relative to DIR, sorted); std::invalid_argument for
/// a `prefer` other than auto, h5, pt.
FeatureFolder resolve_feature_folder(const std::string& dir, const std::string& prefer = "auto");

/// The file of slide `slide_id` in `folder` (it may not exist).
std::string slide_file(const FeatureFolder& folder, const std::string& slide_id);

/// What a slide's file says about itself, read without its features (.h5:
/// the header only; .pt: the file is loaded, as a pickle has no header).
struct SlideFileInfo {
  int64_t instances = 0;  ///< n: rows of `features` (> 0)
  int64_t dim = 0;        ///< D: columns of `features`
  bool has_coords = false;
  std::string encoder;              ///< TRIDENT: attribute `encoder` of `features`; empty when absent
  int64_t patch_size = 0;           ///< attribute `patch_size` of `coords` (pixels at the read level); 0 when absent
  int64_t patch_size_level0 = 0;    ///< attribute `patch_size_level0` of `coords`; 0 when absent
  double level0_magnification = 0;  ///< attribute `level0_magnification` of `coords`; 0 when absent
};

/// Reads the header of the slide file `path` (.h5 or .pt by extension) and
/// checks its shape. Throws DataError "PATH: ..." for: no such file; a name
/// ending neither in .h5 nor in .pt; not an HDF5 file, truncated or corrupt
/// (.h5) / not a torch.save file, truncated or corrupt (.pt; also a pickle
/// LibTorch cannot read, such as a dict); no `features` dataset; `features`
/// not 2-D, or not a float32/float16 (.pt: also float64/bfloat16) tensor;
/// 0 rows (empty bag) or 0 columns; `coords` not [n, 2] integers, or its rows
/// differing from `features`'; a .pt holding something other than a tensor.
/// A .pt saved from a CUDA tensor loads onto the CPU.
SlideFileInfo read_slide_info(const std::string& path);

/// A slide's instances.
struct SlideFeatures {
  torch::Tensor features;  ///< [n, D] float32 (float16 files widened)
  /// [n, 2] int64, (x, y) level-0 pixels of each patch's top-left corner;
  /// undefined when the file has none (.pt) or `with_coords` is false
  torch::Tensor coords;
};

/// Reads the slide file `path` whole: the checks of read_slide_info, and
/// every feature finite. Throws DataError "PATH: ..." as read_slide_info,
/// and "PATH: features row R, column C is nan|inf|-inf" (0-based) for a
/// non-finite value.
SlideFeatures read_slide(const std::string& path, bool with_coords = true);

/// The patch coordinates of the slide file `path` without its features:
/// [n, 2] int64 (x, y), level-0 pixels of each patch's top-left corner;
/// undefined when the file has no `coords` (any .pt). Throws DataError
/// "PATH: ..." as read_slide_info.
torch::Tensor read_slide_coords(const std::string& path);

/// How to read a bag list (data.bag_list): column names and classes.
struct SlideListOptions {
  std::string case_column = "case_id";
  std::string slide_column = "slide_id";
  std::string label_column = "label";
  /// The class names in index order; empty: the distinct labels of the file, sorted.
  std::vector<std::string> classes;
  /// Label cells hold any subset of the classes, separated by ';' (an empty
  /// cell = no label); else exactly one class name a row.
  bool multi_label = false;
  /// Optional column of integer fold numbers (>= 0); empty: none.
  std::string fold_column;
};

/// One slide of the bag list: a bag.
struct SlideEntry {
  std::string case_id;      ///< the patient; splits never divide a case
  std::string slide_id;     ///< names the slide's file
  std::vector<int> labels;  ///< class indices: exactly one, or (multi-label) a sorted subset
  int fold = -1;            ///< fold_column's value; -1 without one
  int64_t line = 0;         ///< 1-based line in the bag list
};

/// A bag list read whole.
struct SlideList {
  std::vector<SlideEntry> slides;    ///< in file order
  std::vector<std::string> classes;  ///< class names, index order
};

/// Reads CLAM's bag list `path` (`case_id,slide_id,label`, column names from
/// `options`). Throws DataError "PATH:LINE: ..." for a missing column, an
/// empty case_id/slide_id/label cell (an empty label is allowed with
/// multi_label), a label not among options.classes ("unknown label 'X'
/// (classes: A, B, C)"), a duplicate slide_id ("duplicate slide_id 'S'
/// (first on line L)"), a fold cell that is not an integer >= 0; "PATH: no
/// such file", "PATH: no slides" for a list without rows, and "PATH: fewer
/// than two classes (found: A)". Cells may be double-quoted; a UTF-8
/// byte-order mark and CRLF line ends are allowed.
SlideList read_slide_list(const std::string& path, const SlideListOptions& options);

/// CLAM's split CSV (`splits_<k>.csv`): columns train, val, test of slide
/// ids, a column shorter than the others padded with empty cells.
struct SlideSplit {
  std::vector<std::string> train, validation, test;
};

/// Reads a CLAM split CSV. Throws DataError "PATH:LINE: ..." for a missing
/// train/val/test column, and a slide id that appears twice ("slide 'S'
/// appears twice (column 'test', and line L column 'train')").
SlideSplit read_clam_split(const std::string& path);

}  // namespace abmil
