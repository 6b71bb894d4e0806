// Helpers shared by the tests: temporary folders, file text, error text.
#pragma once

#define ABMIL_SOURCE_DIR (::abmil_test::source_dir())
#define ABMIL_BINARY (::abmil_test::abmil_binary())

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>

namespace abmil_test {

/// The repository root and the abmil program, as absolute paths. Defined in
/// test_paths.cpp, the one file compiled with these paths, so that ccache can
/// reuse every other test object across clones in other folders.
const char* source_dir();
const char* abmil_binary();

/// A fresh empty folder under the system temp dir, removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag) {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           ("abmil_test_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

/// The whole text of a file ("" when it cannot be read).
inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The what() of the exception of type E thrown by `f`, or a note that none was.
template <class E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "<nothing thrown>";
}

/// Writes a feature-bag CSV (bag_id,label,a,b,c) of `bags` bags of 2..5
/// instances of 3 features; a bag is positive (odd bag ids) iff one of its
/// instances has feature a near 4 (the others near -1); feature c has mean 10
/// and std 5, so standardisation matters. Deterministic.
inline void write_synthetic_feature_csv(const std::filesystem::path& path, int bags) {
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0, 1);
  std::ofstream out(path);
  out << "bag_id,label,a,b,c\n";
  for (int b = 0; b < bags; ++b) {
    const int label = b % 2, k = 2 + b % 4;
    for (int i = 0; i < k; ++i)
      out << b << "," << label << "," << (label && i == 0 ? 4 + noise(rng) : noise(rng) - 1) << "," << noise(rng)
          << "," << 10 + 5 * noise(rng) << "\n";
  }
}

}  // namespace abmil_test
