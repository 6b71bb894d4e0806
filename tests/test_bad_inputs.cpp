// The bad-input corpus, tests/data/bad/cases.tsv (see its README.md): every
// case runs the `abmil` binary on a malformed config, CSV or IDX input, and
// must exit 2 with exactly its one expected error line on stderr, without a
// crash or a hang, and without leaving a complete run directory (metrics.json).
// One test per case (BadInputs/Corpus.Case/<name>), read from the manifest;
// the suite runs its selected cases in parallel up front.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace fs = std::filesystem;

namespace {

/// tests/data/bad, the corpus; `{dir}` in the manifest stands for it.
const fs::path kCorpus = fs::path(ABMIL_SOURCE_DIR) / "tests" / "data" / "bad";

/// Seconds a case may run before it counts as a hang.
constexpr int kTimeoutSeconds = 60;

/// One line of the manifest.
struct BadCase {
  std::string name;
  std::vector<std::string> args;  ///< after `abmil`, {dir} expanded
  std::string expected;           ///< stderr after "abmil: error: ", {dir} expanded
  std::string problem;            ///< why the manifest line is malformed; empty if it is not
};

/// gtest prints a parameter in failures and in the names ctest lists
/// ("... # GetParam() = NAME"): the case name, not the object's bytes.
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

/// `text` with every `{dir}` replaced by the corpus path.
std::string expand_dir(std::string text) {
  const std::string key = "{dir}", dir = kCorpus.string();
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + dir.size()))
    text.replace(at, key.size(), dir);
  return text;
}

/// Whether `name` can name a test: [A-Za-z0-9_]+.
bool is_test_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
  });
}

/// Every case of cases.tsv, in file order. A malformed line becomes a case
/// named after its line number whose `problem` says what is wrong with it, so
/// that its test fails (rather than gtest refusing the names).
std::vector<BadCase> load_cases() {
  std::vector<BadCase> cases;
  std::set<std::string> names;
  std::ifstream in(kCorpus / "cases.tsv");
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::stringstream ss(line);
    for (std::string f; std::getline(ss, f, '\t');) fields.push_back(f);
    BadCase c;
    c.name = fields[0];
    const std::string where = "cases.tsv:" + std::to_string(number) + ": ";
    if (!is_test_name(c.name) || !names.insert(c.name).second) {
      c.problem = where + "case name '" + c.name + "' is not [A-Za-z0-9_]+ or not unique";
      c.name = "line_" + std::to_string(number);
    } else if (fields.size() != 3) {
      c.problem = where + "expected 3 tab-separated fields, got " + std::to_string(fields.size());
    } else {
      std::stringstream words(fields[1]);
      for (std::string w; words >> w;) c.args.push_back(expand_dir(w));
      c.expected = expand_dir(fields[2]);
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

using abmil_test::shell_quote;

/// What one case left behind.
struct Outcome {
  int code = -1;              ///< exit code; 124: timed out, -1: no normal exit
  std::string error;          ///< stderr
  bool complete_run = false;  ///< RUN/metrics.json exists
  bool runs_folder = false;   ///< runs/ appeared in the working directory
};

/// Runs `abmil ARGS` (plus `--output RUN` for train and cv) in a fresh folder
/// with the corpus environment (ABMIL_BAD set, ABMIL_BAD_EMPTY empty,
/// ABMIL_BAD_UNDEFINED unset) under a time limit. Safe to call from several
/// threads at once.
Outcome run_case(const BadCase& c) {
  abmil_test::TempDir tmp("bad_" + c.name);
  const fs::path run = tmp.path / "run";
  std::string cmd = "cd " + shell_quote(tmp.path.string()) +
                    " && env -u ABMIL_BAD_UNDEFINED ABMIL_BAD=" + shell_quote(kCorpus.string()) +
                    " ABMIL_BAD_EMPTY= timeout -k 5 " + std::to_string(kTimeoutSeconds) + " " +
                    shell_quote(ABMIL_BINARY);
  for (const auto& a : c.args) cmd += " " + shell_quote(a);
  if (!c.args.empty() && (c.args[0] == "train" || c.args[0] == "cv")) cmd += " --output " + shell_quote(run.string());
  cmd += " > stdout.txt 2> stderr.txt";
  Outcome out;
  out.code = abmil_test::run_shell(cmd);
  out.error = abmil_test::read_text(tmp.path / "stderr.txt");
  out.complete_run = fs::exists(run / "metrics.json");
  out.runs_folder = fs::exists(tmp.path / "runs");
  return out;
}

class Corpus : public ::testing::TestWithParam<BadCase> {
 public:
  /// Runs every case of this suite that this test program will run, several
  /// processes at a time (each spends most of a second loading LibTorch), and
  /// keeps the outcomes for the tests to check.
  static void SetUpTestSuite() {
    const ::testing::TestSuite* suite = ::testing::UnitTest::GetInstance()->current_test_suite();
    std::set<std::string> selected;
    for (int i = 0; i < suite->total_test_count(); ++i)
      if (suite->GetTestInfo(i)->should_run()) selected.insert(suite->GetTestInfo(i)->name());
    std::vector<BadCase> todo;
    for (const BadCase& c : load_cases())
      if (c.problem.empty() && selected.count("Case/" + c.name)) todo.push_back(c);

    std::vector<Outcome> results(todo.size());
    std::atomic<size_t> next{0};
    std::vector<std::thread> workers;
    const unsigned parallel = std::clamp(std::thread::hardware_concurrency(), 4u, 8u);
    for (unsigned w = 0; w < parallel; ++w)
      workers.emplace_back([&] {
        for (size_t i; (i = next++) < todo.size();) results[i] = run_case(todo[i]);
      });
    for (auto& t : workers) t.join();
    for (size_t i = 0; i < todo.size(); ++i) outcomes()[todo[i].name] = results[i];
  }

  /// Outcomes by case name.
  static std::map<std::string, Outcome>& outcomes() {
    static std::map<std::string, Outcome> by_name;
    return by_name;
  }
};

TEST_P(Corpus, Case) {
  const BadCase& c = GetParam();
  ASSERT_TRUE(c.problem.empty()) << c.problem;
  const auto found = Corpus::outcomes().find(c.name);
  const Outcome out = found != Corpus::outcomes().end() ? found->second : run_case(c);
  EXPECT_NE(out.code, 124) << "hang: still running after " << kTimeoutSeconds << " s";
  EXPECT_EQ(out.code, 2) << "stderr: " << out.error;
  EXPECT_EQ(out.error, "abmil: error: " + c.expected + "\n");
  EXPECT_FALSE(out.complete_run) << "a bad input left a complete run directory (metrics.json)";
  EXPECT_FALSE(out.runs_folder) << "a bad input wrote runs/ in the working directory";
}

INSTANTIATE_TEST_SUITE_P(BadInputs, Corpus, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; });

// The issue asks for at least 40 cases, each on a well-formed line.
TEST(BadInputs, ManifestHasAtLeast40WellFormedCases) {
  const auto cases = load_cases();
  EXPECT_GE(cases.size(), 40u);
  for (const auto& c : cases) EXPECT_TRUE(c.problem.empty()) << c.problem;
}

}  // namespace
