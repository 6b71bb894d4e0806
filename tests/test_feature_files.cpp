// Tests of abmil/data/feature_files: CLAM/TRIDENT .h5 and .pt slide files
// (values read back exactly, TRIDENT attributes, every error line), the
// layout of a features folder, the bag list and CLAM's split CSV. The .h5
// files are written here with HDF5's C++ API; the .pt files (and one h5py
// file) come from Python, tests/data/feature_files/make_fixtures.py.
#include "abmil/data/feature_files.h"

#include <H5Cpp.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "abmil/data/errors.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using abmil::DataError;
using abmil::FeatureLayout;

std::string data_error(const std::function<void()>& f) { return abmil_test::error_of<DataError>(f); }

std::string fixture(const std::string& name) {
  return (fs::path(ABMIL_SOURCE_DIR) / "tests/data/feature_files" / name).string();
}

// F[i][j] = (i * d + j) / 4 - 1, the values of the Python fixtures.
torch::Tensor ramp(int64_t n, int64_t d) { return torch::arange(n * d, torch::kFloat).reshape({n, d}) / 4 - 1; }

// IEEE half, little-endian, as h5py writes float16.
H5::FloatType half_type() {
  H5::FloatType t(H5::PredType::IEEE_F32LE);
  t.setFields(15, 10, 5, 0, 10);
  t.setSize(2);
  t.setEbias(15);
  return t;
}

// A dataset `name` of `type` and shape `dims` in `file`, written from `data`
// (in `mem` layout); returns it for attributes.
H5::DataSet put(H5::H5File& file, const std::string& name, const std::vector<hsize_t>& dims, const H5::DataType& type,
                const void* data, const H5::DataType& mem) {
  const H5::DataSpace space(static_cast<int>(dims.size()), dims.data());
  H5::DataSet ds = file.createDataSet(name, type, space);
  ds.write(data, mem);
  return ds;
}

H5::DataSet put_floats(H5::H5File& file, const std::string& name, const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  std::vector<hsize_t> dims(c.sizes().begin(), c.sizes().end());
  return put(file, name, dims, H5::PredType::IEEE_F32LE, c.data_ptr<float>(), H5::PredType::NATIVE_FLOAT);
}

H5::DataSet put_halves(H5::H5File& file, const std::string& name, const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kHalf).contiguous();
  std::vector<hsize_t> dims(c.sizes().begin(), c.sizes().end());
  const H5::FloatType h = half_type();
  return put(file, name, dims, h, c.data_ptr(), h);
}

H5::DataSet put_ints(H5::H5File& file, const std::string& name, const torch::Tensor& t,
                     const H5::PredType& type = H5::PredType::STD_I64LE) {
  const torch::Tensor c = t.to(torch::kLong).contiguous();
  std::vector<hsize_t> dims(c.sizes().begin(), c.sizes().end());
  return put(file, name, dims, type, c.data_ptr<int64_t>(), H5::PredType::NATIVE_INT64);
}

void put_attribute(const H5::DataSet& ds, const std::string& name, const H5::PredType& type, int64_t value) {
  const H5::DataSpace scalar;
  ds.createAttribute(name, type, scalar).write(H5::PredType::NATIVE_INT64, &value);
}

void put_attribute(const H5::DataSet& ds, const std::string& name, double value) {
  const H5::DataSpace scalar;
  ds.createAttribute(name, H5::PredType::IEEE_F64LE, scalar).write(H5::PredType::NATIVE_DOUBLE, &value);
}

void put_string_attribute(const H5::DataSet& ds, const std::string& name, const std::string& value) {
  const H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  const H5::DataSpace scalar;
  ds.createAttribute(name, type, scalar).write(type, value);
}

// [n, 2] coordinates (x, y) = (256 i, 512 i).
torch::Tensor coords_of(int64_t n) {
  return torch::stack({torch::arange(n) * 256, torch::arange(n) * 512}, 1).to(torch::kLong);
}

class FeatureFiles : public ::testing::Test {
 protected:
  abmil_test::TempDir tmp_{"feature_files"};
  const fs::path& dir_ = tmp_.path;

  // Writes dir/name with `body`; returns the path.
  std::string h5(const std::string& name, const std::function<void(H5::H5File&)>& body) {
    const fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    H5::H5File file(p.string(), H5F_ACC_TRUNC);
    body(file);
    return p.string();
  }

  // A CLAM slide: `features` float32 and int64 `coords` of matching rows.
  std::string slide(const std::string& name, const torch::Tensor& features) {
    return h5(name, [&](H5::H5File& f) {
      put_floats(f, "features", features);
      put_ints(f, "coords", coords_of(features.size(0)));
    });
  }

  // The message of read_slide(path), with the same from read_slide_info
  // unless `info_too` is false (read_slide's own checks).
  std::string slide_error(const std::string& path, bool info_too = true) {
    const std::string msg = data_error([&] { abmil::read_slide(path); });
    if (info_too) {
      EXPECT_EQ(data_error([&] { abmil::read_slide_info(path); }), msg);
    }
    return msg;
  }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    abmil_test::write_text(p, text);
    return p.string();
  }
};

void expect_equal(const torch::Tensor& got, const torch::Tensor& want) {
  ASSERT_TRUE(got.defined());
  EXPECT_EQ(got.scalar_type(), want.scalar_type());
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_TRUE(torch::equal(got, want)) << got << "\nwant\n" << want;
}

// ---- .h5 --------------------------------------------------------------------

TEST_F(FeatureFiles, ReadsFloat32FeaturesAndCoordsExactly) {
  const torch::Tensor f = torch::tensor({0.1f, -2.5f, 3e-30f, 1e30f, 7.f, -0.f, 123456.789f, 1.f / 3, -1e-7f,
                                         4.f, 5.f, 6.f})
                              .reshape({4, 3});
  const std::string path = slide("a.h5", f);
  const abmil::SlideFeatures s = abmil::read_slide(path);
  expect_equal(s.features, f);
  EXPECT_TRUE(s.features.is_contiguous());
  expect_equal(s.coords, coords_of(4));
  EXPECT_EQ(s.coords.index({3, 1}).item<int64_t>(), 1536);

  const abmil::SlideFileInfo info = abmil::read_slide_info(path);
  EXPECT_EQ(info.instances, 4);
  EXPECT_EQ(info.dim, 3);
  EXPECT_TRUE(info.has_coords);
  EXPECT_EQ(info.encoder, "");
  EXPECT_EQ(info.patch_size, 0);
  EXPECT_EQ(info.patch_size_level0, 0);
  EXPECT_EQ(info.level0_magnification, 0);

  EXPECT_FALSE(abmil::read_slide(path, /*with_coords=*/false).coords.defined());
}

TEST_F(FeatureFiles, ReadsFloat16FeaturesWidenedToFloat32) {
  // Values exact in float16, extremes included (largest, smallest normal and subnormal).
  const torch::Tensor want =
      torch::tensor({0.5f, -2.f, 65504.f, -65504.f, 6.103515625e-05f, 5.9604644775390625e-08f, 0.f, 1.f, 0.333251953125f,
                     -1024.f, 1.5f, 2047.f})
          .reshape({3, 4});
  const std::string path = h5("half.h5", [&](H5::H5File& f) {
    put_halves(f, "features", want);
    put_ints(f, "coords", coords_of(3));
  });
  const abmil::SlideFeatures s = abmil::read_slide(path);
  expect_equal(s.features, want);
  EXPECT_EQ(abmil::read_slide_info(path).dim, 4);
}

TEST_F(FeatureFiles, ReadsTridentAttributesAndIntegerCoordsOfAnyWidth) {
  const std::string path = h5("t.h5", [&](H5::H5File& f) {
    const H5::DataSet feats = put_floats(f, "features", ramp(3, 2));
    put_string_attribute(feats, "encoder", "uni_v1");
    const H5::DataSet coords = put_ints(f, "coords", coords_of(3), H5::PredType::STD_U32LE);
    put_attribute(coords, "patch_size", H5::PredType::STD_I64LE, 256);
    put_attribute(coords, "patch_size_level0", H5::PredType::STD_I32LE, 512);
    put_attribute(coords, "level0_magnification", 40.0);
  });
  const abmil::SlideFileInfo info = abmil::read_slide_info(path);
  EXPECT_EQ(info.encoder, "uni_v1");
  EXPECT_EQ(info.patch_size, 256);
  EXPECT_EQ(info.patch_size_level0, 512);
  EXPECT_EQ(info.level0_magnification, 40.0);
  const abmil::SlideFeatures s = abmil::read_slide(path);
  expect_equal(s.features, ramp(3, 2));
  expect_equal(s.coords, coords_of(3));
}

TEST_F(FeatureFiles, ReadsAnH5pyFloat16TridentFile) {
  const std::string path = fixture("trident_f16.h5");
  const abmil::SlideFileInfo info = abmil::read_slide_info(path);
  EXPECT_EQ(info.instances, 3);
  EXPECT_EQ(info.dim, 4);
  EXPECT_TRUE(info.has_coords);
  EXPECT_EQ(info.encoder, "conch_v15");
  EXPECT_EQ(info.patch_size, 512);
  EXPECT_EQ(info.patch_size_level0, 1024);
  EXPECT_EQ(info.level0_magnification, 40.0);
  const abmil::SlideFeatures s = abmil::read_slide(path);
  expect_equal(s.features, ramp(3, 4));
  expect_equal(s.coords, torch::tensor({0, 0, 512, 0, 1024, 2048}, torch::kLong).reshape({3, 2}));
}

TEST_F(FeatureFiles, SlideWithoutCoordsHasNone) {
  const std::string path = h5("nc.h5", [&](H5::H5File& f) { put_floats(f, "features", ramp(2, 3)); });
  EXPECT_FALSE(abmil::read_slide_info(path).has_coords);
  const abmil::SlideFeatures s = abmil::read_slide(path);
  expect_equal(s.features, ramp(2, 3));
  EXPECT_FALSE(s.coords.defined());
}

TEST_F(FeatureFiles, ReadsALargeSlide) {
  const torch::Tensor f = torch::randn({10000, 1024});
  const std::string path = slide("big.h5", f);
  const abmil::SlideFeatures s = abmil::read_slide(path);
  expect_equal(s.features, f);
  expect_equal(s.coords, coords_of(10000));
}

TEST_F(FeatureFiles, ReadsFromManyThreadsAtOnce) {
  std::vector<std::string> paths;
  for (int i = 0; i < 4; ++i) paths.push_back(slide("s" + std::to_string(i) + ".h5", ramp(50 + i, 8)));
  std::vector<int> ok(8, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < 20; ++k) {
        const int i = (t + k) % 4;
        if (!torch::equal(abmil::read_slide(paths[i]).features, ramp(50 + i, 8))) return;
      }
      ok[t] = 1;
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(ok[t], 1) << "thread " << t;
}

TEST_F(FeatureFiles, H5FileErrors) {
  const std::string missing = (dir_ / "nope.h5").string();
  EXPECT_EQ(slide_error(missing), missing + ": no such file");

  const std::string text = write("text.h5", "slide_id,label\na,1\n");
  EXPECT_EQ(slide_error(text), text + ": not an HDF5 file, truncated or corrupt");

  const std::string whole = slide("whole.h5", ramp(4, 3));
  const std::string cut = write("cut.h5", abmil_test::read_text(whole).substr(0, fs::file_size(whole) / 2));
  EXPECT_EQ(slide_error(cut), cut + ": not an HDF5 file, truncated or corrupt");

  const std::string no_features = h5("nf.h5", [&](H5::H5File& f) {
    put_ints(f, "coords", coords_of(4));
    put_floats(f, "feats", ramp(4, 3));
  });
  EXPECT_EQ(slide_error(no_features), no_features + ": no dataset 'features' (found: coords, feats)");
  const std::string nothing = h5("nothing.h5", [&](H5::H5File&) {});
  EXPECT_EQ(slide_error(nothing), nothing + ": no dataset 'features' (found: nothing)");

  const std::string three_d = h5("3d.h5", [&](H5::H5File& f) { put_floats(f, "features", ramp(4, 6).reshape({4, 3, 2})); });
  EXPECT_EQ(slide_error(three_d), three_d + ": dataset 'features' is not 2-D (shape [4, 3, 2])");

  const std::string f64 = h5("f64.h5", [&](H5::H5File& f) {
    const torch::Tensor d = ramp(4, 3).to(torch::kDouble);
    put(f, "features", {4, 3}, H5::PredType::IEEE_F64LE, d.data_ptr<double>(), H5::PredType::NATIVE_DOUBLE);
  });
  EXPECT_EQ(slide_error(f64), f64 + ": dataset 'features' has type float64 (expected float32 or float16)");
  const std::string u8 = h5("u8.h5", [&](H5::H5File& f) { put_ints(f, "features", coords_of(4), H5::PredType::STD_U8LE); });
  EXPECT_EQ(slide_error(u8), u8 + ": dataset 'features' has type uint8 (expected float32 or float16)");

  const std::string empty = h5("empty.h5", [&](H5::H5File& f) {
    put_floats(f, "features", torch::zeros({0, 3}));
    put_ints(f, "coords", torch::zeros({0, 2}));
  });
  EXPECT_EQ(slide_error(empty), empty + ": dataset 'features' has 0 rows (an empty bag)");

  const std::string rows = h5("rows.h5", [&](H5::H5File& f) {
    put_floats(f, "features", ramp(4, 3));
    put_ints(f, "coords", coords_of(3));
  });
  EXPECT_EQ(slide_error(rows), rows + ": dataset 'coords' has 3 rows, 'features' has 4");

  const std::string wide = h5("wide.h5", [&](H5::H5File& f) {
    put_floats(f, "features", ramp(4, 3));
    put_ints(f, "coords", torch::zeros({4, 3}));
  });
  EXPECT_EQ(slide_error(wide), wide + ": dataset 'coords' is not [n, 2] integers (shape [4, 3], int64)");
  const std::string float_coords = h5("fc.h5", [&](H5::H5File& f) {
    put_floats(f, "features", ramp(4, 3));
    put_floats(f, "coords", ramp(4, 2));
  });
  EXPECT_EQ(slide_error(float_coords), float_coords + ": dataset 'coords' is not [n, 2] integers (shape [4, 2], float32)");

  const std::string other = write("slide.npy", "x");
  EXPECT_EQ(slide_error(other), other + ": not a feature file (expected .h5 or .pt)");
}

TEST_F(FeatureFiles, NonFiniteFeatureIsLocated) {
  for (const auto& [value, word] : std::vector<std::pair<float, std::string>>{
           {std::numeric_limits<float>::quiet_NaN(), "nan"},
           {std::numeric_limits<float>::infinity(), "inf"},
           {-std::numeric_limits<float>::infinity(), "-inf"}}) {
    torch::Tensor f = ramp(4, 3);
    f.index_put_({2, 1}, value);
    f.index_put_({3, 0}, value);  // a later one is not the one named
    const std::string path = slide(word + ".h5", f);
    EXPECT_EQ(data_error([&] { abmil::read_slide(path); }), path + ": features row 2, column 1 is " + word);
    EXPECT_EQ(abmil::read_slide_info(path).instances, 4);  // the header alone is fine
  }
  torch::Tensor h = ramp(2, 3);
  h.index_put_({0, 2}, std::numeric_limits<float>::infinity());
  const std::string half = h5("half_inf.h5", [&](H5::H5File& f) { put_halves(f, "features", h); });
  EXPECT_EQ(data_error([&] { abmil::read_slide(half); }), half + ": features row 0, column 2 is inf");
}

// ---- .pt --------------------------------------------------------------------

TEST_F(FeatureFiles, ReadsTorchSaveFilesOfEveryFloatType) {
  for (const char* name : {"f32.pt", "f16.pt", "f64.pt", "bf16.pt"}) {
    SCOPED_TRACE(name);
    const abmil::SlideFeatures s = abmil::read_slide(fixture(name));
    expect_equal(s.features, ramp(3, 4));
    EXPECT_TRUE(s.features.is_contiguous());
    EXPECT_FALSE(s.coords.defined());
    const abmil::SlideFileInfo info = abmil::read_slide_info(fixture(name));
    EXPECT_EQ(info.instances, 3);
    EXPECT_EQ(info.dim, 4);
    EXPECT_FALSE(info.has_coords);
    EXPECT_EQ(info.encoder, "");
  }
  const abmil::SlideFeatures t = abmil::read_slide(fixture("transposed.pt"));
  expect_equal(t.features, ramp(3, 4).t().contiguous());
  EXPECT_TRUE(t.features.is_contiguous());
}

TEST_F(FeatureFiles, TensorSavedFromCudaLoadsOnTheCpu) {
  const abmil::SlideFeatures s = abmil::read_slide(fixture("cuda.pt"));
  EXPECT_TRUE(s.features.device().is_cpu());
  expect_equal(s.features, ramp(3, 4));
}

TEST_F(FeatureFiles, PtFileErrors) {
  const std::string missing = (dir_ / "nope.pt").string();
  EXPECT_EQ(slide_error(missing), missing + ": no such file");
  const std::string random = write("random.pt", std::string("\x13\x99\x00\x42zz\xff\x01garbage", 14));
  EXPECT_EQ(slide_error(random), random + ": not a torch.save file, truncated or corrupt");
  const std::string whole = abmil_test::read_text(fixture("f32.pt"));
  const std::string cut = write("cut.pt", whole.substr(0, whole.size() / 2));
  EXPECT_EQ(slide_error(cut), cut + ": not a torch.save file, truncated or corrupt");

  const std::string p = fixture("");
  EXPECT_EQ(slide_error(p + "int64.pt"),
            p + "int64.pt: the tensor has type int64 (expected float32, float16, float64 or bfloat16)");
  EXPECT_EQ(slide_error(p + "one_d.pt"), p + "one_d.pt: the tensor is not 2-D (shape [4])");
  EXPECT_EQ(slide_error(p + "list.pt"),
            p + "list.pt: holds a GenericList, not a tensor (expected torch.save of a [n, D] tensor)");
  EXPECT_EQ(slide_error(p + "empty.pt"), p + "empty.pt: the tensor has 0 rows (an empty bag)");
  EXPECT_EQ(slide_error(p + "nan.pt", /*info_too=*/false), p + "nan.pt: features row 2, column 1 is nan");
  EXPECT_EQ(abmil::read_slide_info(p + "nan.pt").instances, 3);
}

// ---- layout -----------------------------------------------------------------

TEST_F(FeatureFiles, ResolvesClamFolders) {
  const fs::path d = dir_ / "clam";
  fs::create_directories(d / "h5_files");
  abmil::FeatureFolder f = abmil::resolve_feature_folder(d.string());
  EXPECT_EQ(f.layout, FeatureLayout::clam_h5);
  EXPECT_EQ(f.files_dir, (d / "h5_files").string());
  EXPECT_EQ(f.extension, ".h5");
  EXPECT_EQ(abmil::slide_file(f, "TCGA-01"), (d / "h5_files" / "TCGA-01.h5").string());
  EXPECT_EQ(abmil::resolve_feature_folder(d.string(), "pt").layout, FeatureLayout::clam_h5);  // no pt_files

  fs::create_directories(d / "pt_files");
  EXPECT_EQ(abmil::resolve_feature_folder(d.string()).layout, FeatureLayout::clam_h5);  // auto: h5_files
  EXPECT_EQ(abmil::resolve_feature_folder(d.string(), "h5").layout, FeatureLayout::clam_h5);
  f = abmil::resolve_feature_folder(d.string(), "pt");
  EXPECT_EQ(f.layout, FeatureLayout::clam_pt);
  EXPECT_EQ(f.files_dir, (d / "pt_files").string());
  EXPECT_EQ(f.extension, ".pt");
  EXPECT_EQ(abmil::slide_file(f, "s1"), (d / "pt_files" / "s1.pt").string());

  const fs::path only_pt = dir_ / "only_pt";
  fs::create_directories(only_pt / "pt_files");
  EXPECT_EQ(abmil::resolve_feature_folder(only_pt.string()).layout, FeatureLayout::clam_pt);
}

TEST_F(FeatureFiles, ResolvesTridentFolders) {
  const fs::path job = dir_ / "job";
  const fs::path feats = job / "20x_256px_0px_overlap" / "features_uni_v1";
  slide((feats / "s1.h5").lexically_relative(dir_).string(), ramp(2, 3));
  fs::create_directories(job / "20x_256px_0px_overlap" / "patches");  // not a features_ folder

  abmil::FeatureFolder f = abmil::resolve_feature_folder(feats.string());  // the features_ folder itself
  EXPECT_EQ(f.layout, FeatureLayout::trident_h5);
  EXPECT_EQ(f.files_dir, feats.string());
  EXPECT_EQ(f.extension, ".h5");
  EXPECT_EQ(abmil::slide_file(f, "s1"), (feats / "s1.h5").string());

  f = abmil::resolve_feature_folder(job.string());  // the job folder, one features_ folder below it
  EXPECT_EQ(f.layout, FeatureLayout::trident_h5);
  EXPECT_EQ(f.files_dir, feats.string());

  fs::create_directories(job / "10x_256px_0px_overlap" / "features_conch_v1");  // empty: does not count
  EXPECT_EQ(abmil::resolve_feature_folder(job.string()).files_dir, feats.string());

  slide("job/10x_256px_0px_overlap/features_conch_v1/s1.h5", ramp(2, 3));
  EXPECT_EQ(data_error([&] { abmil::resolve_feature_folder(job.string()); }),
            job.string() +
                ": 2 features_* folders (10x_256px_0px_overlap/features_conch_v1, "
                "20x_256px_0px_overlap/features_uni_v1); give one of them as data.path");
}

TEST_F(FeatureFiles, FolderErrors) {
  const std::string missing = (dir_ / "missing").string();
  EXPECT_EQ(data_error([&] { abmil::resolve_feature_folder(missing); }), missing + ": no such folder");
  const std::string file = write("file.txt", "x");
  EXPECT_EQ(data_error([&] { abmil::resolve_feature_folder(file); }), file + ": no such folder");
  const fs::path empty = dir_ / "empty";
  fs::create_directories(empty / "sub");
  write("empty/notes.txt", "x");
  EXPECT_EQ(data_error([&] { abmil::resolve_feature_folder(empty.string()); }),
            empty.string() + ": no h5_files/ or pt_files/ folder and no .h5 files (expected the CLAM or TRIDENT layout)");
  EXPECT_THROW(abmil::resolve_feature_folder(empty.string(), "pth"), std::invalid_argument);
}

// ---- bag list ----------------------------------------------------------------

TEST_F(FeatureFiles, ReadsAClamBagList) {
  const std::string path = write("labels.csv",
                                 "case_id,slide_id,label\n"
                                 "p1,s1,tumor\n"
                                 "p1,s2,normal\n"
                                 "\n"
                                 "p2,s3,tumor\n");
  const abmil::SlideList list = abmil::read_slide_list(path, {});
  EXPECT_EQ(list.classes, (std::vector<std::string>{"normal", "tumor"}));  // sorted
  ASSERT_EQ(list.slides.size(), 3u);
  EXPECT_EQ(list.slides[0].case_id, "p1");
  EXPECT_EQ(list.slides[0].slide_id, "s1");
  EXPECT_EQ(list.slides[0].labels, std::vector<int>{1});
  EXPECT_EQ(list.slides[0].fold, -1);
  EXPECT_EQ(list.slides[0].line, 2);
  EXPECT_EQ(list.slides[1].labels, std::vector<int>{0});
  EXPECT_EQ(list.slides[2].slide_id, "s3");
  EXPECT_EQ(list.slides[2].line, 5);

  abmil::SlideListOptions given;
  given.classes = {"tumor", "normal", "other"};  // given order, a class without a slide allowed
  const abmil::SlideList g = abmil::read_slide_list(path, given);
  EXPECT_EQ(g.classes, given.classes);
  EXPECT_EQ(g.slides[0].labels, std::vector<int>{0});
  EXPECT_EQ(g.slides[1].labels, std::vector<int>{1});
}

TEST_F(FeatureFiles, BagListColumnNamesFoldsAndCsvDetails) {
  // BOM, CRLF, quoted cells (a comma inside one), extra columns, spaces around cells
  const std::string path = write("list.csv",
                                 "\xEF\xBB\xBFpatient,\"slide\",diagnosis,fold,notes\r\n"
                                 "\"P, 1\",\"s 1\",LUAD,0,x\r\n"
                                 " P2 , s2 , LUSC , 3 ,\"y\"\r\n");
  abmil::SlideListOptions o;
  o.case_column = "patient";
  o.slide_column = "slide";
  o.label_column = "diagnosis";
  o.fold_column = "fold";
  const abmil::SlideList list = abmil::read_slide_list(path, o);
  ASSERT_EQ(list.slides.size(), 2u);
  EXPECT_EQ(list.slides[0].case_id, "P, 1");
  EXPECT_EQ(list.slides[0].slide_id, "s 1");
  EXPECT_EQ(list.slides[0].fold, 0);
  EXPECT_EQ(list.slides[1].case_id, "P2");
  EXPECT_EQ(list.slides[1].slide_id, "s2");
  EXPECT_EQ(list.slides[1].labels, std::vector<int>{1});
  EXPECT_EQ(list.slides[1].fold, 3);
  EXPECT_EQ(list.classes, (std::vector<std::string>{"LUAD", "LUSC"}));

  // a BOM before a quoted first name
  const std::string quoted = write("q.csv", "\xEF\xBB\xBF\"case_id\",slide_id,label\na,s,x\nb,t,y\n");
  EXPECT_EQ(abmil::read_slide_list(quoted, {}).slides[1].case_id, "b");
}

TEST_F(FeatureFiles, MultiLabelBagList) {
  const std::string path = write("ml.csv",
                                 "case_id,slide_id,label\n"
                                 "a,s1,c ; a\n"
                                 "b,s2,\n"
                                 "c,s3,b;a;b;\n");
  abmil::SlideListOptions o;
  o.multi_label = true;
  const abmil::SlideList list = abmil::read_slide_list(path, o);
  EXPECT_EQ(list.classes, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(list.slides[0].labels, (std::vector<int>{0, 2}));
  EXPECT_TRUE(list.slides[1].labels.empty());
  EXPECT_EQ(list.slides[2].labels, (std::vector<int>{0, 1}));

  o.classes = {"c", "b", "a"};
  const abmil::SlideList g = abmil::read_slide_list(path, o);
  EXPECT_EQ(g.slides[0].labels, (std::vector<int>{0, 2}));
  EXPECT_EQ(g.slides[2].labels, (std::vector<int>{1, 2}));
  o.classes = {"a", "b"};
  EXPECT_EQ(data_error([&] { abmil::read_slide_list(path, o); }), path + ":2: unknown label 'c' (classes: a, b)");
}

TEST_F(FeatureFiles, BagListErrors) {
  const auto error = [&](const std::string& text, const abmil::SlideListOptions& o = {}) {
    const std::string path = write("l.csv", text);
    std::string msg = data_error([&] { abmil::read_slide_list(path, o); });
    if (msg.rfind(path, 0) == 0) msg = "P" + msg.substr(path.size());
    return msg;
  };
  const std::string head = "case_id,slide_id,label\n";
  abmil::SlideListOptions three;
  three.classes = {"normal", "tumor", "necrosis"};
  EXPECT_EQ(error(head + "a,s1,normal\nb,s2,tumuor\n", three),
            "P:3: unknown label 'tumuor' (classes: normal, tumor, necrosis)");
  EXPECT_EQ(error(head + "a,s1,normal\nb,s2,tumor\nc,s1,tumor\n"), "P:4: duplicate slide_id 's1' (first on line 2)");
  EXPECT_EQ(error("case_id,slide_id,lbl\na,s1,x\n"), "P:1: no column 'label' (columns: case_id, slide_id, lbl)");
  EXPECT_EQ(error("slide_id,label\na,x\n"), "P:1: no column 'case_id' (columns: slide_id, label)");
  EXPECT_EQ(error(head), "P: no slides");
  EXPECT_EQ(error(head + "\n\n"), "P: no slides");
  EXPECT_EQ(error(head + "a,s1,normal\nb,,tumor\n"), "P:3: empty slide_id");
  EXPECT_EQ(error(head + ",s1,normal\n"), "P:2: empty case_id");
  EXPECT_EQ(error(head + "a,s1,normal\nb,s2,\n"), "P:3: empty label");
  EXPECT_EQ(error(head + "a,s1,normal\nb,s2\n"), "P:3: expected 3 cells, found 2");
  EXPECT_EQ(error(head + "a,s1,tumor\nb,s2,tumor\n"), "P: fewer than two classes (found: tumor)");
  abmil::SlideListOptions one;
  one.classes = {"tumor"};
  EXPECT_EQ(error(head + "a,s1,tumor\n", one), "P: fewer than two classes (found: tumor)");
  abmil::SlideListOptions folds;
  folds.fold_column = "fold";
  EXPECT_EQ(error(head + "a,s1,x\n", folds), "P:1: no column 'fold' (columns: case_id, slide_id, label)");
  EXPECT_EQ(error("case_id,slide_id,label,fold\na,s1,x,0\nb,s2,y,-1\n", folds),
            "P:3: fold '-1' is not an integer >= 0 (column 'fold')");
  EXPECT_EQ(error("case_id,slide_id,label,fold\na,s1,x,1.5\n", folds),
            "P:2: fold '1.5' is not an integer >= 0 (column 'fold')");
  EXPECT_EQ(error("case_id,slide_id,label,fold\na,s1,x,\n", folds), "P:2: fold '' is not an integer >= 0 (column 'fold')");
  EXPECT_EQ(error(head + "a,\"s1,normal\n"), "P:2: quoted cell not closed on its line");
  const std::string missing = (dir_ / "none.csv").string();
  EXPECT_EQ(data_error([&] { abmil::read_slide_list(missing, {}); }), missing + ": no such file");
}

// ---- CLAM split ----------------------------------------------------------------

TEST_F(FeatureFiles, ReadsAClamSplitWithPaddedColumns) {
  // as pandas writes it: an unnamed index column, NaN padding as empty cells
  const std::string path = write("splits_0.csv",
                                 ",train,val,test\n"
                                 "0,s1,s5,s7\n"
                                 "1,s2,s6,\n"
                                 "2,s3,,\n"
                                 "3,s4,,\n");
  const abmil::SlideSplit s = abmil::read_clam_split(path);
  EXPECT_EQ(s.train, (std::vector<std::string>{"s1", "s2", "s3", "s4"}));
  EXPECT_EQ(s.validation, (std::vector<std::string>{"s5", "s6"}));
  EXPECT_EQ(s.test, std::vector<std::string>{"s7"});

  const std::string crlf = write("splits_1.csv", "\xEF\xBB\xBFtrain,val,test\r\ns1,s2,s3\r\n");
  EXPECT_EQ(abmil::read_clam_split(crlf).test, std::vector<std::string>{"s3"});
}

TEST_F(FeatureFiles, ClamSplitErrors) {
  const std::string no_val = write("a.csv", ",train,test\n0,s1,s2\n");
  EXPECT_EQ(data_error([&] { abmil::read_clam_split(no_val); }), no_val + ":1: no column 'val' (columns: '', train, test)");
  const std::string twice = write("b.csv", ",train,val,test\n0,s1,s2,s3\n1,s4,,s1\n");
  EXPECT_EQ(data_error([&] { abmil::read_clam_split(twice); }),
            twice + ":3: slide 's1' appears twice (column 'test', and line 2 column 'train')");
  const std::string missing = (dir_ / "splits_9.csv").string();
  EXPECT_EQ(data_error([&] { abmil::read_clam_split(missing); }), missing + ": no such file");
}

}  // namespace

namespace {

// The first DataError of reading tests/data/bad/slides/<name> as a whole
// (bag list with classes normal, tumor, then every slide), the corpus folder
// replaced by "{dir}"; "" when none.
std::string corpus_error(const std::string& name) {
  const std::string root = (fs::path(ABMIL_SOURCE_DIR) / "tests/data/bad/slides").string();
  const std::string dir = root + "/" + name;
  std::string msg = data_error([&] {
    abmil::SlideListOptions o;
    o.classes = {"normal", "tumor"};
    const abmil::SlideList list = abmil::read_slide_list(dir + "/labels.csv", o);
    const abmil::FeatureFolder folder = abmil::resolve_feature_folder(dir);
    for (const auto& s : list.slides) abmil::read_slide(abmil::slide_file(folder, s.slide_id));
  });
  if (msg == "<nothing thrown>") return "";
  for (size_t at; (at = msg.find(root)) != std::string::npos;) msg.replace(at, root.size(), "{dir}");
  return msg;
}

TEST(FeatureFilesBadCorpus, EachSlideCaseHoldsItsDefect) {
  EXPECT_EQ(corpus_error("missing_file"), "{dir}/missing_file/h5_files/slide_3.h5: no such file");
  EXPECT_EQ(corpus_error("missing_features"),
            "{dir}/missing_features/h5_files/slide_2.h5: no dataset 'features' (found: coords)");
  EXPECT_EQ(corpus_error("coords_rows"),
            "{dir}/coords_rows/h5_files/slide_2.h5: dataset 'coords' has 3 rows, 'features' has 4");
  EXPECT_EQ(corpus_error("empty_bag"), "{dir}/empty_bag/h5_files/slide_2.h5: dataset 'features' has 0 rows (an empty bag)");
  EXPECT_EQ(corpus_error("nan_feature"), "{dir}/nan_feature/h5_files/slide_2.h5: features row 1, column 2 is nan");
  EXPECT_EQ(corpus_error("inf_feature"), "{dir}/inf_feature/h5_files/slide_2.h5: features row 3, column 0 is inf");
  EXPECT_EQ(corpus_error("unknown_label"), "{dir}/unknown_label/labels.csv:3: unknown label 'tumuor' (classes: normal, tumor)");
  EXPECT_EQ(corpus_error("duplicate_slide"),
            "{dir}/duplicate_slide/labels.csv:5: duplicate slide_id 'slide_1' (first on line 2)");
  EXPECT_EQ(corpus_error("truncated_h5"), "{dir}/truncated_h5/h5_files/slide_2.h5: not an HDF5 file, truncated or corrupt");
  EXPECT_EQ(corpus_error("corrupt_pt"), "{dir}/corrupt_pt/pt_files/slide_2.pt: not a torch.save file, truncated or corrupt");
  EXPECT_EQ(corpus_error("truncated_pt"),
            "{dir}/truncated_pt/pt_files/slide_2.pt: not a torch.save file, truncated or corrupt");
  // Each file is fine alone: the mismatch is between slides (3 features, then 5).
  EXPECT_EQ(corpus_error("dim_mismatch"), "");
  const std::string dim = std::string(ABMIL_SOURCE_DIR) + "/tests/data/bad/slides/dim_mismatch/h5_files/";
  EXPECT_EQ(abmil::read_slide_info(dim + "slide_1.h5").dim, 3);
  EXPECT_EQ(abmil::read_slide_info(dim + "slide_2.h5").dim, 5);
}

}  // namespace
