// Helpers shared by the tests: temporary folders, file text, error text,
// running the `abmil` program through the shell.
#pragma once

#define ABMIL_SOURCE_DIR (::abmil_test::source_dir())
#define ABMIL_BINARY (::abmil_test::abmil_binary())

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
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

/// Writes `text` byte for byte to `path`, creating its folder.
inline void write_text(const std::filesystem::path& path, const std::string& text) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
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

/// `s` quoted for the shell: one word whatever it holds.
inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

/// Runs `command` through the shell (std::system); its exit code, or -1 when
/// it did not exit normally (killed by a signal, or no shell).
inline int run_shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// What a command left: its exit code (-1: no normal exit) and its stdout and
/// stderr together.
struct CommandResult {
  int code = -1;
  std::string output;
};

/// Runs `abmil ARGS` in the folder `workdir`, stdout and stderr together into
/// `log` (default: workdir/cli_output.txt). ARGS are shell words: quote paths
/// that may hold spaces with shell_quote.
inline CommandResult run_abmil(const std::string& args, const std::filesystem::path& workdir,
                               const std::filesystem::path& log = {}) {
  const std::filesystem::path out = log.empty() ? workdir / "cli_output.txt" : log;
  CommandResult r;
  r.code = run_shell("cd " + shell_quote(workdir.string()) + " && " + shell_quote(abmil_binary()) + " " + args + " > " +
                     shell_quote(out.string()) + " 2>&1");
  r.output = read_text(out);
  return r;
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
      out << b << "," << label << "," << (label && i == 0 ? 4 + noise(rng) : noise(rng) - 1) << "," << noise(rng) << ","
          << 10 + 5 * noise(rng) << "\n";
  }
}

}  // namespace abmil_test
