// Tests of abmil/data/idx_reader: parsing plain and gzip IDX files and the
// one-line DataError messages for every kind of malformed file.
#include "abmil/data/idx_reader.h"

#include <gtest/gtest.h>

#include "test_util.h"
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

namespace {

namespace fs = std::filesystem;
using abmil::DataError;
using Bytes = std::vector<uint8_t>;

// Big-endian IDX header: magic, then each dimension.
Bytes idx_header(uint32_t magic, std::vector<uint32_t> dims) {
  Bytes b;
  dims.insert(dims.begin(), magic);
  for (uint32_t v : dims)
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(v >> shift));
  return b;
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Bytes iota_bytes(size_t n, uint8_t first = 0) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(first + i);
  return b;
}

// The what() of the DataError thrown by `f`.
std::string data_error(const std::function<void()>& f) { return abmil_test::error_of<DataError>(f); }

class IdxReader : public ::testing::Test {
 protected:
  abmil_test::TempDir tmp_{"idx"};
  const fs::path& dir_ = tmp_.path;

  // Writes `bytes` to dir/name, gzip-compressed if `gzip`; returns the path.
  std::string write(const std::string& name, const Bytes& bytes, bool gzip = false) {
    const std::string path = (dir_ / name).string();
    if (gzip) {
      gzFile f = gzopen(path.c_str(), "wb");
      EXPECT_NE(f, nullptr);
      if (!bytes.empty()) {
        EXPECT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
      }
      EXPECT_EQ(gzclose(f), Z_OK);
    } else {
      std::ofstream out(path, std::ios::binary);
      out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    return path;
  }

  // 3 images of 2x2 pixels with values 0..11.
  static Bytes three_images() { return concat(idx_header(0x803, {3, 2, 2}), iota_bytes(12)); }
  static Bytes three_labels() { return concat(idx_header(0x801, {3}), Bytes{7, 2, 1}); }
};

TEST_F(IdxReader, ParsesImagesPlainAndGzip) {
  for (bool gzip : {false, true}) {
    const auto im = abmil::read_idx_images(write("im", three_images(), gzip));
    EXPECT_EQ(im.count, 3);
    EXPECT_EQ(im.rows, 2);
    EXPECT_EQ(im.cols, 2);
    EXPECT_EQ(im.pixels, iota_bytes(12)) << "gzip " << gzip;
  }
}

TEST_F(IdxReader, ParsesLabelsPlainAndGzip) {
  for (bool gzip : {false, true})
    EXPECT_EQ(abmil::read_idx_labels(write("lb", three_labels(), gzip)), (Bytes{7, 2, 1}));
}

TEST_F(IdxReader, ReadsMatchingPair) {
  Bytes labels;
  const auto im = abmil::read_idx_pair(write("im", three_images(), true), write("lb", three_labels()), labels);
  EXPECT_EQ(im.count, 3);
  EXPECT_EQ(labels, (Bytes{7, 2, 1}));
}

TEST_F(IdxReader, MissingFileOrDirectory) {
  const std::string missing = (dir_ / "nope.gz").string();
  EXPECT_EQ(data_error([&] { abmil::read_idx_images(missing); }),
            missing + ": cannot open IDX file (data.root): No such file or directory");
  const std::string d = dir_.string();
  EXPECT_EQ(data_error([&] { abmil::read_idx_labels(d); }), d + ": cannot open IDX file (data.root): Is a directory");
}

TEST_F(IdxReader, WrongMagic) {
  const std::string lb = write("lb", three_labels());
  EXPECT_EQ(data_error([&] { abmil::read_idx_images(lb); }),
            lb + ": byte 0: bad IDX magic 0x00000801 (expected 0x00000803, an image file)");
  const std::string im = write("im", three_images(), true);
  EXPECT_EQ(data_error([&] { abmil::read_idx_labels(im); }),
            im + ": byte 0: bad IDX magic 0x00000803 (expected 0x00000801, a label file)");
}

TEST_F(IdxReader, TruncatedHeader) {
  const Bytes full = three_images();
  const std::string a = write("a", Bytes(full.begin(), full.begin() + 10));
  EXPECT_EQ(data_error([&] { abmil::read_idx_images(a); }),
            a + ": byte 10: file ends inside the IDX header (needs 16 bytes, has 10)");
  const std::string b = write("b", Bytes{0, 0}, true);  // too short even for the magic
  EXPECT_EQ(data_error([&] { abmil::read_idx_images(b); }),
            b + ": byte 2: file ends inside the IDX header (needs 16 bytes, has 2)");
  const std::string e = write("e", Bytes{});
  EXPECT_EQ(data_error([&] { abmil::read_idx_labels(e); }),
            e + ": byte 0: file ends inside the IDX header (needs 8 bytes, has 0)");
}

TEST_F(IdxReader, BadDimensions) {
  const std::string c0 = write("c0", idx_header(0x803, {0, 2, 2}));
  EXPECT_EQ(data_error([&] { abmil::read_idx_images(c0); }),
            c0 + ": byte 4: bad image count 0x00000000 (count = 0, must be 1..100000000)");
  const std::string cbig = write("cbig", idx_header(0x803, {100'000'001, 2, 2}));
  EXPECT_EQ(data_error([&] { abmil::read_idx_images(cbig); }),
            cbig + ": byte 4: bad image count 0x05F5E101 (count = 100000001, must be 1..100000000)");
  const std::string r = write("r", idx_header(0x803, {3, 5000, 2}), true);
  EXPECT_EQ(data_error([&] { abmil::read_idx_images(r); }),
            r + ": byte 8: bad image size 0x00001388 (rows = 5000, must be 1..4096)");
  const std::string c = write("c", idx_header(0x803, {3, 2, 0}));
  EXPECT_EQ(data_error([&] { abmil::read_idx_images(c); }),
            c + ": byte 12: bad image size 0x00000000 (cols = 0, must be 1..4096)");
  const std::string l = write("l", idx_header(0x801, {0}));
  EXPECT_EQ(data_error([&] { abmil::read_idx_labels(l); }),
            l + ": byte 4: bad label count 0x00000000 (count = 0, must be 1..100000000)");
}

TEST_F(IdxReader, TruncatedData) {
  // 16 header bytes + 9 of 12 pixel bytes: two whole 4-byte images, stops at byte 25.
  for (bool gzip : {false, true}) {
    const Bytes full = three_images();
    const std::string p = write("im", Bytes(full.begin(), full.begin() + 25), gzip);
    EXPECT_EQ(data_error([&] { abmil::read_idx_images(p); }),
              p + ": byte 25: data ends after 2 of 3 images (expected 28 bytes, got 25)");
  }
  const std::string l = write("lb", concat(idx_header(0x801, {3}), Bytes{7}));
  EXPECT_EQ(data_error([&] { abmil::read_idx_labels(l); }),
            l + ": byte 9: data ends after 1 of 3 labels (expected 11 bytes, got 9)");
}

TEST_F(IdxReader, TrailingBytes) {
  for (bool gzip : {false, true}) {
    const std::string p = write("im", concat(three_images(), Bytes(5, 0xAB)), gzip);
    EXPECT_EQ(data_error([&] { abmil::read_idx_images(p); }), p + ": byte 28: 5 unexpected bytes after the last image");
  }
  const std::string l = write("lb", concat(three_labels(), Bytes{1}));
  EXPECT_EQ(data_error([&] { abmil::read_idx_labels(l); }), l + ": byte 11: 1 unexpected bytes after the last label");
}

TEST_F(IdxReader, PairCountMismatch) {
  const std::string im = write("im", three_images());
  const std::string lb = write("lb", concat(idx_header(0x801, {2}), Bytes{7, 2}), true);
  Bytes labels;
  EXPECT_EQ(data_error([&] { abmil::read_idx_pair(im, lb, labels); }), im + " and " + lb + ": 3 images but 2 labels");
}

TEST_F(IdxReader, CorruptGzip) {
  // A valid gzip member header (magic, deflate, no flags, mtime 0, OS unix)
  // followed by bytes that are no deflate stream (0xFF: reserved block type).
  Bytes bad = {0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03};
  bad.resize(bad.size() + 64, 0xFF);
  const std::string p = write("bad.gz", bad);
  const std::string msg = data_error([&] { abmil::read_idx_images(p); });
  EXPECT_EQ(msg, p + ": corrupt gzip data: invalid block type");
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;

  // A good gzip file cut short: the deflate stream ends early.
  const std::string good = write("good.gz", concat(three_images(), iota_bytes(4000)), true);
  std::ifstream in(good, std::ios::binary);
  const std::string zipped((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string cut = write("cut.gz", Bytes(zipped.begin(), zipped.begin() + zipped.size() / 2));
  const std::string cut_msg = data_error([&] { abmil::read_idx_images(cut); });
  EXPECT_EQ(cut_msg, cut + ": corrupt gzip data: unexpected end of file");
}

TEST(IdxReaderMnist, ReadsRealMnistTestSet) {
  const char* root = std::getenv("ABMIL_DATA");
  const fs::path dir = root ? fs::path(root) / "mnist" : fs::path();
  if (!root || !fs::exists(dir / "t10k-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "ABMIL_DATA not set or $ABMIL_DATA/mnist/t10k-labels-idx1-ubyte.gz missing: "
                    "set ABMIL_DATA to the data-set root to read the real MNIST test files";
  Bytes labels;
  const auto im = abmil::read_idx_pair((dir / "t10k-images-idx3-ubyte.gz").string(),
                                       (dir / "t10k-labels-idx1-ubyte.gz").string(), labels);
  EXPECT_EQ(im.count, 10000);
  EXPECT_EQ(im.rows, 28);
  EXPECT_EQ(im.cols, 28);
  EXPECT_EQ(im.pixels.size(), 10000u * 28 * 28);
  ASSERT_EQ(labels.size(), 10000u);
  EXPECT_EQ(Bytes(labels.begin(), labels.begin() + 5), (Bytes{7, 2, 1, 0, 4}));
}

}  // namespace
