#include "abmil/data/feature_files.h"

#include <H5Cpp.h>
#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <torch/csrc/jit/serialization/import_read.h>
#include <torch/torch.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "abmil/data/errors.h"
#include "abmil/io/csv_table.h"

namespace abmil {

namespace fs = std::filesystem;

namespace {

// The HDF5 library (Debian's serial build) is not thread-safe: every call
// into it holds this lock (readers run on the prefetch thread too).
std::mutex& hdf5_mutex() {
  static std::mutex m;
  return m;
}

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw DataError(path + ": " + what); }

[[noreturn]] void fail_at(const std::string& path, int64_t line, const std::string& what) {
  throw DataError(fmt::format("{}:{}: {}", path, line, what));
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string shape_text(const std::vector<int64_t>& dims) {
  std::vector<std::string> parts;
  for (int64_t d : dims) parts.push_back(std::to_string(d));
  return "[" + join(parts) + "]";
}

// "PATH: no such file" unless `path` names an existing file (or something
// the format reader will reject on its own, such as a folder).
void require_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(path, "no such file");
}

bool has_extension(const std::string& path, const char* ext) { return fs::path(path).extension() == ext; }

// ---- HDF5 ------------------------------------------------------------------

// The name of an HDF5 datatype for messages: float32, int64, uint8, string, ...
std::string h5_type_name(const H5::DataType& type) {
  const size_t bits = type.getSize() * 8;
  switch (type.getClass()) {
    case H5T_FLOAT:
      return "float" + std::to_string(bits);
    case H5T_INTEGER:
      return (H5::IntType(type.getId()).getSign() == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_STRING:
      return "string";
    case H5T_COMPOUND:
      return "compound";
    case H5T_ENUM:
      return "enum";
    case H5T_ARRAY:
      return "array";
    case H5T_OPAQUE:
      return "opaque";
    default:
      return "HDF5 class " + std::to_string(static_cast<int>(type.getClass()));
  }
}

// IEEE 754 half precision, little-endian (what numpy/h5py write for float16):
// HDF5 has no predefined half type, so it is built as h5py builds it.
H5::FloatType ieee_half_le() {
  H5::FloatType t(H5::PredType::IEEE_F32LE);
  t.setFields(15, 10, 5, 0, 10);  // sign bit, exponent at 10 (5 bits), mantissa at 0 (10 bits)
  t.setSize(2);
  t.setEbias(15);
  return t;
}

std::vector<int64_t> h5_dims(const H5::DataSpace& space) {
  const int rank = space.getSimpleExtentNdims();
  std::vector<hsize_t> d(static_cast<size_t>(std::max(rank, 0)));
  if (rank > 0) space.getSimpleExtentDims(d.data());
  return std::vector<int64_t>(d.begin(), d.end());
}

// What the header of an open .h5 says, plus the datasets to read from.
struct H5Slide {
  SlideFileInfo info;
  H5::DataSet features, coords;
  bool half = false;  // `features` is a 16-bit float
};

// A numeric scalar attribute `name` of `obj` as a double; nullopt when absent
// or not a single number (such attributes are ignored, not errors).
std::optional<double> number_attribute(const H5::H5Object& obj, const char* name) {
  if (!obj.attrExists(name)) return std::nullopt;
  const H5::Attribute a = obj.openAttribute(name);
  const H5T_class_t c = a.getTypeClass();
  if ((c != H5T_INTEGER && c != H5T_FLOAT) || a.getSpace().getSimpleExtentNpoints() != 1) return std::nullopt;
  double v = 0;
  a.read(H5::PredType::NATIVE_DOUBLE, &v);
  return v;
}

// Opens the .h5 file `path` and checks its `features` and `coords` (caller
// holds hdf5_mutex and catches H5::Exception).
H5Slide open_h5(const H5::H5File& file, const std::string& path) {
  H5Slide s;
  if (!file.nameExists("features")) {
    std::vector<std::string> names;
    for (hsize_t i = 0; i < file.getNumObjs(); ++i) names.push_back(file.getObjnameByIdx(i));
    fail(path, "no dataset 'features' (found: " + (names.empty() ? std::string("nothing") : join(names)) + ")");
  }
  if (file.childObjType("features") != H5O_TYPE_DATASET) fail(path, "'features' is not a dataset");
  s.features = file.openDataSet("features");

  const std::vector<int64_t> dims = h5_dims(s.features.getSpace());
  if (dims.size() != 2) fail(path, "dataset 'features' is not 2-D (shape " + shape_text(dims) + ")");
  const H5::DataType ftype = s.features.getDataType();
  const bool is_float = ftype.getClass() == H5T_FLOAT;
  if (!is_float || (ftype.getSize() != 4 && ftype.getSize() != 2))
    fail(path, "dataset 'features' has type " + h5_type_name(ftype) + " (expected float32 or float16)");
  s.half = ftype.getSize() == 2;
  s.info.instances = dims[0];
  s.info.dim = dims[1];
  if (dims[0] == 0) fail(path, "dataset 'features' has 0 rows (an empty bag)");
  if (dims[1] == 0) fail(path, "dataset 'features' has 0 columns");
  if (s.features.attrExists("encoder")) {
    const H5::Attribute a = s.features.openAttribute("encoder");
    if (a.getTypeClass() == H5T_STRING) a.read(a.getStrType(), s.info.encoder);
  }

  if (file.nameExists("coords") && file.childObjType("coords") == H5O_TYPE_DATASET) {
    s.coords = file.openDataSet("coords");
    const std::vector<int64_t> cdims = h5_dims(s.coords.getSpace());
    const H5::DataType ctype = s.coords.getDataType();
    if (cdims.size() != 2 || cdims[1] != 2 || ctype.getClass() != H5T_INTEGER)
      fail(path, "dataset 'coords' is not [n, 2] integers (shape " + shape_text(cdims) + ", " + h5_type_name(ctype) +
                     ")");
    if (cdims[0] != dims[0])
      fail(path, fmt::format("dataset 'coords' has {} rows, 'features' has {}", cdims[0], dims[0]));
    s.info.has_coords = true;
    if (auto v = number_attribute(s.coords, "patch_size")) s.info.patch_size = static_cast<int64_t>(*v);
    if (auto v = number_attribute(s.coords, "patch_size_level0")) s.info.patch_size_level0 = static_cast<int64_t>(*v);
    if (auto v = number_attribute(s.coords, "level0_magnification")) s.info.level0_magnification = *v;
  }
  return s;
}

// Runs `f(file)` on the open .h5 file `path` under hdf5_mutex; any HDF5
// failure (not HDF5, truncated, unreadable object) is the one DataError.
template <class F>
auto with_h5(const std::string& path, F f) {
  require_file(path);
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  H5::Exception::dontPrint();  // per thread: no HDF5 error stack on stderr
  try {
    const H5::H5File file(path, H5F_ACC_RDONLY);
    return f(file);
  } catch (const H5::Exception&) {
    fail(path, "not an HDF5 file, truncated or corrupt");
  }
}

// ---- .pt -------------------------------------------------------------------

// The tensor of a torch.save file, on the CPU, as saved (any dtype, shape).
torch::Tensor load_pt(const std::string& path) {
  require_file(path);
  torch::IValue value;
  try {
    // torch::pickle_load's own steps, with the storages mapped to the CPU:
    // a tensor saved from CUDA in Python then loads on a CPU-only LibTorch.
    caffe2::serialize::PyTorchStreamReader reader(path);
    value = torch::jit::readArchiveAndTensors("data", "", "", c10::nullopt, c10::nullopt, at::Device(at::kCPU), reader);
  } catch (const std::exception&) {  // c10::Error of the zip reader or the unpickler
    fail(path, "not a torch.save file, truncated or corrupt");
  }
  if (!value.isTensor())
    fail(path, "holds a " + std::string(value.tagKind()) + ", not a tensor (expected torch.save of a [n, D] tensor)");
  return value.toTensor();
}

std::string dtype_name(torch::ScalarType st) {
  switch (st) {
    case torch::kFloat: return "float32";
    case torch::kHalf: return "float16";
    case torch::kDouble: return "float64";
    case torch::kBFloat16: return "bfloat16";
    case torch::kLong: return "int64";
    case torch::kInt: return "int32";
    case torch::kShort: return "int16";
    case torch::kChar: return "int8";
    case torch::kByte: return "uint8";
    case torch::kBool: return "bool";
    default: return c10::toString(st);
  }
}

// Checks a loaded .pt tensor as read_slide_info does.
SlideFileInfo check_pt(const torch::Tensor& t, const std::string& path) {
  if (t.dim() != 2) fail(path, "the tensor is not 2-D (shape " + shape_text(t.sizes().vec()) + ")");
  const auto st = t.scalar_type();
  if (st != torch::kFloat && st != torch::kHalf && st != torch::kDouble && st != torch::kBFloat16)
    fail(path, "the tensor has type " + dtype_name(st) +
                   " (expected float32, float16, float64 or bfloat16)");
  if (t.size(0) == 0) fail(path, "the tensor has 0 rows (an empty bag)");
  if (t.size(1) == 0) fail(path, "the tensor has 0 columns");
  SlideFileInfo info;
  info.instances = t.size(0);
  info.dim = t.size(1);
  return info;
}

// "PATH: features row R, column C is nan|inf|-inf" for the first non-finite
// value of the float32 [n, D] `t`: one vectorised pass, the search only on failure.
void check_finite(const torch::Tensor& t, const std::string& path) {
  if (torch::isfinite(t).all().item<bool>()) return;
  const int64_t first = torch::logical_not(torch::isfinite(t)).reshape(-1).to(torch::kByte).argmax().item<int64_t>();
  const int64_t row = first / t.size(1), col = first % t.size(1);
  const float v = t[row][col].item<float>();
  fail(path, fmt::format("features row {}, column {} is {}", row, col, std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"));
}

// ---- CSV -------------------------------------------------------------------

// read_csv (quoted cells allowed) with its errors as DataError, a UTF-8
// byte-order mark before the header dropped.
CsvTable read_table(const std::string& path) {
  require_file(path);
  CsvTable t;
  try {
    t = read_csv(path, /*quoted=*/true);
  } catch (const std::runtime_error& e) {
    throw DataError(e.what());
  }
  std::string& first = t.header[0];
  if (first.rfind("\xEF\xBB\xBF", 0) == 0) {
    first.erase(0, 3);
    // read_csv saw the mark before a quote, so a quoted name stays quoted
    if (first.size() >= 2 && first.front() == '"' && first.back() == '"') {
      std::string name;
      for (size_t i = 1; i + 1 < first.size(); ++i) {
        name += first[i];
        if (first[i] == '"' && first[i + 1] == '"') ++i;
      }
      first = name;
    }
  }
  return t;
}

// The index of column `name`, or "PATH:1: no column 'NAME' (columns: ...)".
size_t require_column(const CsvTable& t, const std::string& path, const std::string& name) {
  if (auto c = t.find_column(name)) return *c;
  std::vector<std::string> names;
  for (const auto& h : t.header) names.push_back(h.empty() ? "''" : h);
  fail_at(path, 1, "no column '" + name + "' (columns: " + join(names) + ")");
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The class names of a label cell: one name, or the ';'-separated names of
// a multi-label cell (trimmed, empty parts skipped).
std::vector<std::string> label_names(const std::string& cell, bool multi_label) {
  if (!multi_label) return {cell};
  std::vector<std::string> out;
  std::string_view rest(cell);
  while (true) {
    const size_t semi = rest.find(';');
    const std::string_view part = trim(rest.substr(0, semi));
    if (!part.empty()) out.emplace_back(part);
    if (semi == std::string_view::npos) return out;
    rest.remove_prefix(semi + 1);
  }
}

}  // namespace

FeatureFolder resolve_feature_folder(const std::string& dir, const std::string& prefer) {
  if (prefer != "auto" && prefer != "h5" && prefer != "pt")
    throw std::invalid_argument("resolve_feature_folder: prefer must be auto, h5 or pt (got '" + prefer + "')");
  std::error_code ec;
  const fs::path root(dir);
  if (!fs::is_directory(root, ec)) fail(dir, "no such folder");
  const bool h5 = fs::is_directory(root / "h5_files", ec), pt = fs::is_directory(root / "pt_files", ec);
  if (pt && (!h5 || prefer == "pt")) return {FeatureLayout::clam_pt, (root / "pt_files").string(), ".pt"};
  if (h5) return {FeatureLayout::clam_h5, (root / "h5_files").string(), ".h5"};

  const auto holds_h5 = [&](const fs::path& folder) {
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().extension() == ".h5" && it->is_regular_file(ec)) return true;
    return false;
  };
  if (holds_h5(root)) return {FeatureLayout::trident_h5, root.string(), ".h5"};

  // A TRIDENT job folder: <job>/<mag>x_<ps>px_<overlap>px_overlap/features_<encoder>/
  std::vector<std::string> found;  // relative to dir
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    std::error_code ec2;
    for (fs::directory_iterator jt(it->path(), ec2), end2; !ec2 && jt != end2; jt.increment(ec2))
      if (jt->path().filename().string().rfind("features_", 0) == 0 && jt->is_directory(ec2) && holds_h5(jt->path()))
        found.push_back((it->path().filename() / jt->path().filename()).string());
  }
  std::sort(found.begin(), found.end());
  if (found.size() == 1) return {FeatureLayout::trident_h5, (root / found[0]).string(), ".h5"};
  if (found.empty())
    fail(dir, "no h5_files/ or pt_files/ folder and no .h5 files (expected the CLAM or TRIDENT layout)");
  fail(dir, fmt::format("{} features_* folders ({}); give one of them as data.path", found.size(), join(found)));
}

std::string slide_file(const FeatureFolder& folder, const std::string& slide_id) {
  return (fs::path(folder.files_dir) / (slide_id + folder.extension)).string();
}

SlideFileInfo read_slide_info(const std::string& path) {
  if (has_extension(path, ".pt")) return check_pt(load_pt(path), path);
  if (!has_extension(path, ".h5")) fail(path, "not a feature file (expected .h5 or .pt)");
  return with_h5(path, [&](const H5::H5File& file) { return open_h5(file, path).info; });
}

SlideFeatures read_slide(const std::string& path, bool with_coords) {
  SlideFeatures out;
  if (has_extension(path, ".pt")) {
    const torch::Tensor t = load_pt(path);
    check_pt(t, path);
    out.features = t.to(torch::kFloat).contiguous();
  } else {
    if (!has_extension(path, ".h5")) fail(path, "not a feature file (expected .h5 or .pt)");
    torch::Tensor half;
    with_h5(path, [&](const H5::H5File& file) {
      const H5Slide s = open_h5(file, path);
      const int64_t n = s.info.instances, d = s.info.dim;
      if (s.half) {  // 16 bits as stored, widened below by LibTorch (no HDF5 soft conversion)
        half = torch::empty({n, d}, torch::kHalf);
        s.features.read(half.data_ptr(), ieee_half_le());
      } else {
        out.features = torch::empty({n, d}, torch::kFloat);  // one read straight into the tensor
        s.features.read(out.features.data_ptr<float>(), H5::PredType::NATIVE_FLOAT);
      }
      if (with_coords && s.info.has_coords) {
        out.coords = torch::empty({n, 2}, torch::kLong);
        s.coords.read(out.coords.data_ptr<int64_t>(), H5::PredType::NATIVE_INT64);
      }
      return 0;
    });
    if (half.defined()) out.features = half.to(torch::kFloat);
  }
  check_finite(out.features, path);
  return out;
}

torch::Tensor read_slide_coords(const std::string& path) {
  if (!has_extension(path, ".h5")) {
    read_slide_info(path);  // the same checks (and errors) as every reader
    return {};
  }
  return with_h5(path, [&](const H5::H5File& file) {
    const H5Slide s = open_h5(file, path);
    torch::Tensor coords;
    if (s.info.has_coords) {
      coords = torch::empty({s.info.instances, 2}, torch::kLong);
      s.coords.read(coords.data_ptr<int64_t>(), H5::PredType::NATIVE_INT64);
    }
    return coords;
  });
}

SlideList read_slide_list(const std::string& path, const SlideListOptions& options) {
  const CsvTable t = read_table(path);
  const size_t case_col = require_column(t, path, options.case_column);
  const size_t slide_col = require_column(t, path, options.slide_column);
  const size_t label_col = require_column(t, path, options.label_column);
  std::optional<size_t> fold_col;
  if (!options.fold_column.empty()) fold_col = require_column(t, path, options.fold_column);
  if (t.rows.empty()) fail(path, "no slides");

  SlideList list;
  list.classes = options.classes;
  const bool given = !options.classes.empty();
  if (!given) {  // the distinct labels of the file, sorted
    std::set<std::string> names;
    for (const auto& row : t.rows)
      for (auto& name : label_names(row[label_col], options.multi_label)) names.insert(std::move(name));
    list.classes.assign(names.begin(), names.end());
  }
  std::unordered_map<std::string, int> index;
  for (size_t i = 0; i < list.classes.size(); ++i)
    if (!index.emplace(list.classes[i], static_cast<int>(i)).second)
      throw std::invalid_argument("classes: '" + list.classes[i] + "' is listed twice");

  std::unordered_map<std::string, int64_t> first_line;  // slide_id -> line
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    const auto line = static_cast<int64_t>(t.lines[r]);
    SlideEntry e;
    e.line = line;
    e.case_id = row[case_col];
    e.slide_id = row[slide_col];
    if (e.case_id.empty()) fail_at(path, line, "empty " + options.case_column);
    if (e.slide_id.empty()) fail_at(path, line, "empty " + options.slide_column);
    if (const auto [it, fresh] = first_line.emplace(e.slide_id, line); !fresh)
      fail_at(path, line, fmt::format("duplicate {} '{}' (first on line {})", options.slide_column, e.slide_id, it->second));
    const std::string& cell = row[label_col];
    if (cell.empty() && !options.multi_label) fail_at(path, line, "empty " + options.label_column);
    for (const auto& name : label_names(cell, options.multi_label)) {
      const auto it = index.find(name);
      if (it == index.end())
        fail_at(path, line, "unknown label '" + name + "' (classes: " + join(list.classes) + ")");
      e.labels.push_back(it->second);
    }
    std::sort(e.labels.begin(), e.labels.end());
    e.labels.erase(std::unique(e.labels.begin(), e.labels.end()), e.labels.end());
    if (fold_col) {
      const std::string& f = row[*fold_col];
      int v = -1;
      const auto res = std::from_chars(f.data(), f.data() + f.size(), v);
      if (f.empty() || res.ec != std::errc() || res.ptr != f.data() + f.size() || v < 0)
        fail_at(path, line, "fold '" + f + "' is not an integer >= 0 (column '" + options.fold_column + "')");
      e.fold = v;
    }
    list.slides.push_back(std::move(e));
  }
  if (list.classes.size() < 2)
    fail(path, "fewer than two classes (found: " + (list.classes.empty() ? std::string("none") : join(list.classes)) +
                   ")");
  return list;
}

SlideSplit read_clam_split(const std::string& path) {
  const CsvTable t = read_table(path);
  SlideSplit split;
  const std::pair<const char*, std::vector<std::string>*> columns[] = {
      {"train", &split.train}, {"val", &split.validation}, {"test", &split.test}};
  std::map<std::string, std::pair<int64_t, std::string>> seen;  // slide id -> (line, column)
  for (const auto& [name, ids] : columns) {
    const size_t c = require_column(t, path, name);
    for (size_t r = 0; r < t.rows.size(); ++r) {
      const std::string& id = t.rows[r][c];
      if (id.empty()) continue;  // padding of a shorter column
      const auto line = static_cast<int64_t>(t.lines[r]);
      if (const auto [it, fresh] = seen.emplace(id, std::make_pair(line, std::string(name))); !fresh)
        fail_at(path, line,
                fmt::format("slide '{}' appears twice (column '{}', and line {} column '{}')", id, name,
                            it->second.first, it->second.second));
      ids->push_back(id);
    }
  }
  return split;
}

}  // namespace abmil
