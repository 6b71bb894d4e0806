#include "abmil/data/idx_reader.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

namespace abmil {
namespace {

constexpr uint32_t kImageMagic = 0x00000803;
constexpr uint32_t kLabelMagic = 0x00000801;
constexpr int64_t kMaxCount = 100'000'000;
constexpr int64_t kMaxSide = 4096;
constexpr size_t kChunk = size_t{1} << 20;

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

[[noreturn]] void fail(const std::string& path, const std::string& msg) { throw DataError(path + ": " + msg); }

[[noreturn]] void fail_at(const std::string& path, int64_t byte, const std::string& msg) {
  fail(path, "byte " + std::to_string(byte) + ": " + msg);
}

// The decompressed byte stream of a gzip or plain file (zlib detects which).
class GzStream {
 public:
  explicit GzStream(const std::string& path) : path_(path) {
    // gzopen opens a directory without complaint, so stat first.
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) cannot_open(errno);
    if (S_ISDIR(st.st_mode)) cannot_open(EISDIR);
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (!file_) cannot_open(errno ? errno : ENOMEM);
    gzbuffer(file_, 256 * 1024);
  }
  ~GzStream() { gzclose(file_); }
  GzStream(const GzStream&) = delete;
  GzStream& operator=(const GzStream&) = delete;

  /// Appends up to `n` bytes to `out`; fewer only at the end of the stream.
  /// Returns the number appended. Throws DataError on corrupt gzip data.
  size_t read(std::vector<uint8_t>& out, size_t n) {
    size_t total = 0;
    while (total < n) {
      const size_t want = std::min(n - total, kChunk);
      const size_t old = out.size();
      out.resize(old + want);
      const size_t got = read_some(out.data() + old, want);
      out.resize(old + got);
      total += got;
      if (got == 0) break;
    }
    return total;
  }

  /// Reads the rest of the stream and returns its length in bytes.
  int64_t skip_rest() {
    std::vector<uint8_t> buf(kChunk);
    int64_t total = 0;
    while (size_t got = read_some(buf.data(), buf.size())) total += static_cast<int64_t>(got);
    return total;
  }

 private:
  [[noreturn]] void cannot_open(int err) const {
    fail(path_, std::string("cannot open IDX file (data.root): ") + std::strerror(err));
  }

  size_t read_some(uint8_t* dst, size_t n) {
    const int got = gzread(file_, dst, static_cast<unsigned>(std::min<size_t>(n, INT_MAX)));
    int err = Z_OK;
    const char* msg = gzerror(file_, &err);
    if (got < 0 || err != Z_OK) {
      // Z_BUF_ERROR: the gzip stream ends early ("unexpected end of file").
      if (err == Z_ERRNO) fail(path_, std::string("read error: ") + std::strerror(errno));
      std::string what = msg;  // zlib writes "PATH: message"
      if (what.rfind(path_ + ": ", 0) == 0) what.erase(0, path_.size() + 2);
      fail(path_, "corrupt gzip data: " + what);
    }
    return static_cast<size_t>(got);
  }

  std::string path_;
  gzFile file_ = nullptr;
};

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// An IDX file's header fields and its item payload (everything after the header).
struct IdxFile {
  std::vector<int64_t> dims;  // count, then rows, cols for images
  std::vector<uint8_t> data;
};

// Reads and checks a whole IDX file with `ndims` dimensions (1: labels, 3: images).
IdxFile read_idx(const std::string& path, uint32_t magic, int ndims) {
  const bool images = ndims == 3;
  const char* item = images ? "image" : "label";
  const char* what = images ? "an image file" : "a label file";
  const size_t header = 4 + 4 * static_cast<size_t>(ndims);

  GzStream in(path);
  std::vector<uint8_t> head;
  in.read(head, header);
  if (head.size() >= 4 && be32(head.data()) != magic)
    fail_at(path, 0, "bad IDX magic " + hex32(be32(head.data())) + " (expected " + hex32(magic) + ", " + what + ")");
  if (head.size() < header)
    fail_at(path, static_cast<int64_t>(head.size()),
            "file ends inside the IDX header (needs " + std::to_string(header) + " bytes, has " +
                std::to_string(head.size()) + ")");

  static const char* const kNames[] = {"count", "rows", "cols"};
  IdxFile f;
  int64_t item_size = 1;
  for (int d = 0; d < ndims; ++d) {
    const size_t off = 4 + 4 * static_cast<size_t>(d);
    const uint32_t raw = be32(head.data() + off);
    const int64_t v = raw;
    const int64_t max = d == 0 ? kMaxCount : kMaxSide;
    if (v < 1 || v > max)
      fail_at(path, static_cast<int64_t>(off),
              std::string("bad ") + item + (d == 0 ? " count " : " size ") + hex32(raw) + " (" + kNames[d] + " = " +
                  std::to_string(v) + ", must be 1.." + std::to_string(max) + ")");
    f.dims.push_back(v);
    if (d > 0) item_size *= v;
  }

  const int64_t count = f.dims[0];
  const int64_t data_size = count * item_size;  // <= 1e8 * 4096 * 4096: no overflow
  const int64_t expected = static_cast<int64_t>(header) + data_size;
  // Grow with the data rather than trusting the header for one huge allocation.
  f.data.reserve(static_cast<size_t>(std::min<int64_t>(data_size, int64_t{1} << 26)));
  const int64_t got = static_cast<int64_t>(in.read(f.data, static_cast<size_t>(data_size)));
  if (got < data_size) {
    const int64_t end = static_cast<int64_t>(header) + got;
    fail_at(path, end,
            "data ends after " + std::to_string(got / item_size) + " of " + std::to_string(count) + " " + item +
                "s (expected " + std::to_string(expected) + " bytes, got " + std::to_string(end) + ")");
  }
  if (const int64_t extra = in.skip_rest())
    fail_at(path, expected, std::to_string(extra) + " unexpected bytes after the last " + item);
  return f;
}

}  // namespace

IdxImages read_idx_images(const std::string& path) {
  IdxFile f = read_idx(path, kImageMagic, 3);
  IdxImages out;
  out.count = f.dims[0];
  out.rows = f.dims[1];
  out.cols = f.dims[2];
  out.pixels = std::move(f.data);
  return out;
}

std::vector<uint8_t> read_idx_labels(const std::string& path) { return read_idx(path, kLabelMagic, 1).data; }

IdxImages read_idx_pair(const std::string& images_path, const std::string& labels_path,
                        std::vector<uint8_t>& labels_out) {
  IdxImages images = read_idx_images(images_path);
  std::vector<uint8_t> labels = read_idx_labels(labels_path);
  if (static_cast<int64_t>(labels.size()) != images.count)
    fail(images_path + " and " + labels_path,
         std::to_string(images.count) + " images but " + std::to_string(labels.size()) + " labels");
  labels_out = std::move(labels);
  return images;
}

}  // namespace abmil
