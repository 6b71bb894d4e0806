#include "abmil/data/nucleus_coords.h"

#include <matio.h>
#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <opencv2/core.hpp>
#include <sstream>
#include <stdexcept>

namespace abmil {
namespace {

constexpr size_t kMaxRows = 10'000'000;
constexpr const char* kVariable = "detection";

[[noreturn]] void fail(const std::string& path, const std::string& msg) { throw DataError(path + ": " + msg); }

// matio reports through a process-wide log function; by default it prints to
// stderr and carries on. This one keeps the first warning or critical
// message on the calling thread, so that the reader can quote it.
thread_local std::string matio_message;

void matio_log(int level, char* message) {
  // matio's levels: 1 error, 2 critical, 4 warning, 8 message, 16 debug.
  if ((level & 0x7) != 0 && matio_message.empty() && message) matio_message = message;
}

void install_matio_log() {
  static std::once_flag once;
  std::call_once(once, [] { Mat_LogInitFunc("abmil", matio_log); });
}

// " (matio: MESSAGE)" for the message matio logged since the last call, or "";
// matio's `"PATH"` in it becomes `file` (the error names the path already).
std::string take_matio_message(const std::string& path) {
  std::string m = std::move(matio_message);
  matio_message.clear();
  if (m.empty()) return "";
  const std::string quoted = "\"" + path + "\"";
  for (size_t at; (at = m.find(quoted)) != std::string::npos;) m.replace(at, quoted.size(), "file");
  return " (matio: " + m + ")";
}

struct MatCloser {
  void operator()(mat_t* m) const { Mat_Close(m); }
};
struct VarFreer {
  void operator()(matvar_t* v) const { Mat_VarFree(v); }
};
using MatFile = std::unique_ptr<mat_t, MatCloser>;
using MatVar = std::unique_ptr<matvar_t, VarFreer>;

std::string class_name(matio_classes c) {
  switch (c) {
    case MAT_C_EMPTY:
      return "empty";
    case MAT_C_CELL:
      return "cell";
    case MAT_C_STRUCT:
      return "struct";
    case MAT_C_OBJECT:
      return "object";
    case MAT_C_CHAR:
      return "char";
    case MAT_C_SPARSE:
      return "sparse";
    case MAT_C_DOUBLE:
      return "double";
    case MAT_C_SINGLE:
      return "single";
    case MAT_C_INT8:
      return "int8";
    case MAT_C_UINT8:
      return "uint8";
    case MAT_C_INT16:
      return "int16";
    case MAT_C_UINT16:
      return "uint16";
    case MAT_C_INT32:
      return "int32";
    case MAT_C_UINT32:
      return "uint32";
    case MAT_C_INT64:
      return "int64";
    case MAT_C_UINT64:
      return "uint64";
    case MAT_C_FUNCTION:
      return "function";
    case MAT_C_OPAQUE:
      return "opaque";
  }
  return "class " + std::to_string(static_cast<int>(c));
}

std::string shape_text(const matvar_t& v) {
  std::string s;
  for (int d = 0; d < v.rank; ++d) s += (d ? " x " : "") + std::to_string(v.dims[d]);
  return s.empty() ? "no dimensions" : s;
}

// The names of the variables in `mat`, comma-separated, "none" if none.
std::string variable_names(mat_t* mat) {
  std::string names;
  Mat_Rewind(mat);
  while (MatVar v{Mat_VarReadNextInfo(mat)})
    names += (names.empty() ? "" : ", ") + std::string(v->name ? v->name : "?");
  return names.empty() ? "none" : names;
}

// The N x 2 values of `info`, column-major as in MATLAB (all x, then all y),
// read into a buffer whose every byte was `fill` before. Throws DataError for
// what matio reports; matio 1.5.23 leaves the values missing from an
// uncompressed file cut short as they were, without a word.
std::vector<double> read_values(const std::string& path, mat_t* mat, matvar_t* info, size_t n, unsigned char fill) {
  std::vector<double> data(2 * n);
  std::memset(data.data(), fill, data.size() * sizeof(double));
  int start[2] = {0, 0}, stride[2] = {1, 1}, edge[2] = {static_cast<int>(n), 2};
  const int rc = Mat_VarReadData(mat, info, data.data(), start, stride, edge);
  const std::string said = take_matio_message(path);
  if (rc != 0 || !said.empty())
    fail(path, std::string("corrupt or truncated data of variable '") + kVariable + "'" + said);
  return data;
}

// `detection(ROW,COL)` for the value at column-major position k of n rows.
std::string matlab_index(size_t k, size_t n) {
  return std::string(kVariable) + "(" + std::to_string(k % n + 1) + "," + std::to_string(k / n + 1) + ")";
}

}  // namespace

std::vector<NucleusCentre> read_nucleus_mat(const std::string& path) {
  install_matio_log();
  // matio opens a directory or an empty file as an empty v4 file: stat first.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) fail(path, std::string("cannot open MAT file: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail(path, std::string("cannot open MAT file: ") + std::strerror(EISDIR));
  if (st.st_size == 0) fail(path, "empty file, not a MAT file");

  take_matio_message(path);
  errno = 0;
  MatFile mat{Mat_Open(path.c_str(), MAT_ACC_RDONLY)};
  if (!mat) {
    const int err = errno;
    const std::string said = take_matio_message(path);
    if (said.empty() && err != 0) fail(path, std::string("cannot open MAT file: ") + std::strerror(err));
    fail(path, "not a MAT file" + said);
  }

  MatVar info{Mat_VarReadInfo(mat.get(), kVariable)};
  if (!info) {
    const std::string said = take_matio_message(path);
    if (!said.empty()) fail(path, "corrupt or truncated MAT file" + said);
    fail(path, std::string("no variable '") + kVariable + "' (variables: " + variable_names(mat.get()) + ")");
  }
  const matvar_t& v = *info;
  const std::string var = std::string("variable '") + kVariable + "'";
  if (v.class_type != MAT_C_DOUBLE) fail(path, var + " is of class " + class_name(v.class_type) + ", expected double");
  if (v.isComplex) fail(path, var + " is complex, expected real double");
  const bool empty_matrix = v.rank == 2 && v.dims[0] == 0 && (v.dims[1] == 0 || v.dims[1] == 2);
  if (!empty_matrix && (v.rank != 2 || v.dims[1] != 2))
    fail(path, var + " is " + shape_text(v) + ", expected N x 2 (columns x, y)");
  const size_t n = v.dims[0];
  if (n > kMaxRows) fail(path, var + " has " + std::to_string(n) + " rows, more than " + std::to_string(kMaxRows));
  if (n == 0) return {};

  // Read twice, into buffers filled with 0x00 and with 0xFF bytes: a value
  // (or part of one) that the file does not hold differs between the two.
  const std::vector<double> a = read_values(path, mat.get(), info.get(), n, 0x00);
  const std::vector<double> b = read_values(path, mat.get(), info.get(), n, 0xFF);
  for (size_t k = 0; k < 2 * n; ++k) {
    if (std::memcmp(&a[k], &b[k], sizeof(double)) != 0)
      fail(path, var + " ends at " + matlab_index(k, n) + " (truncated file?)");
    if (!std::isfinite(a[k])) {
      std::ostringstream text;
      text << a[k];
      fail(path, matlab_index(k, n) + " = " + text.str() + " is not finite");
    }
  }
  std::vector<NucleusCentre> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = {a[i], a[n + i]};
  return out;
}

torch::Tensor cut_nucleus_patches(const cv::Mat& image_rgb8, const std::vector<NucleusCentre>& centres,
                                  int patch_size) {
  if (patch_size <= 0 || patch_size % 2 == 0)
    throw std::invalid_argument("cut_nucleus_patches: patch size " + std::to_string(patch_size) +
                                " is not odd and positive");
  if (image_rgb8.empty() || image_rgb8.type() != CV_8UC3)
    throw std::invalid_argument("cut_nucleus_patches: image must be a non-empty CV_8UC3 (8-bit, 3-channel) image");
  const int rows = image_rgb8.rows, cols = image_rgb8.cols, half = patch_size / 2;
  const int64_t k = static_cast<int64_t>(centres.size()), p = patch_size;

  // 0-based centre pixels, checked before any work.
  std::vector<int> centre_col(centres.size()), centre_row(centres.size());
  for (size_t i = 0; i < centres.size(); ++i) {
    const double cx = std::round(centres[i].x), cy = std::round(centres[i].y);  // half away from zero
    if (!(cx >= 1 && cx <= cols && cy >= 1 && cy <= rows)) {
      std::ostringstream msg;
      msg << "cut_nucleus_patches: centre " << i << " (x = " << centres[i].x << ", y = " << centres[i].y
          << ", 1-based) lies outside the " << cols << " x " << rows << " image";
      throw std::invalid_argument(msg.str());
    }
    centre_col[i] = static_cast<int>(cx) - 1;
    centre_row[i] = static_cast<int>(cy) - 1;
  }

  // Reflect-101 indices of the rows and columns from -half to size-1+half.
  auto reflect = [&](int size) {
    std::vector<int> idx(static_cast<size_t>(size) + 2 * static_cast<size_t>(half));
    for (int j = -half; j < size + half; ++j)
      idx[static_cast<size_t>(j + half)] = cv::borderInterpolate(j, size, cv::BORDER_REFLECT_101);
    return idx;
  };
  const std::vector<int> row_of = reflect(rows), col_of = reflect(cols);

  torch::Tensor out = torch::empty({k, 3, p, p}, torch::kUInt8);
  uint8_t* dst = out.data_ptr<uint8_t>();
  const int64_t plane = p * p;
  for (int64_t i = 0; i < k; ++i) {
    uint8_t* patch = dst + i * 3 * plane;
    for (int r = 0; r < patch_size; ++r) {
      // Padded index of patch row r: centre_row - half + r, shifted by +half.
      const uint8_t* src = image_rgb8.ptr<uint8_t>(row_of[static_cast<size_t>(centre_row[i] + r)]);
      for (int c = 0; c < patch_size; ++c) {
        const uint8_t* px = src + 3 * col_of[static_cast<size_t>(centre_col[i] + c)];
        for (int ch = 0; ch < 3; ++ch) patch[ch * plane + r * p + c] = px[ch];
      }
    }
  }
  return out;
}

}  // namespace abmil
