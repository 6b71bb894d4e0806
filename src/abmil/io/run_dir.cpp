#include "abmil/io/run_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <fmt/format.h>
#include <stdexcept>

namespace abmil {

namespace fs = std::filesystem;

void write_file_atomic(const fs::path& path, const std::string& content) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  const fs::path tmp = path.string() + fmt::format(".tmp{}", ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot write: {}", path.string(), std::strerror(errno)));
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::runtime_error(fmt::format("{}: cannot write: {}", path.string(), std::strerror(err)));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("{}: cannot write: {}", path.string(), std::strerror(err)));
  }
}

void check_output_dir(const std::string& requested) {
  if (requested.empty()) return;
  const fs::path dir(requested);
  if (fs::exists(dir) && !fs::is_directory(dir))
    throw std::runtime_error(requested + ": is a file, not a folder (choose another --output)");
  if (fs::exists(dir) && !fs::is_empty(dir))
    throw std::runtime_error(requested + ": output directory exists and is not empty (choose another --output)");
}

fs::path next_free_dir(const fs::path& base) {
  fs::path dir = base;
  for (int i = 2; fs::exists(dir); ++i) dir = fs::path(base.string() + fmt::format("-{}", i));
  return dir;
}

fs::path create_run_dir(const std::string& requested, const std::string& name) {
  if (!requested.empty()) {
    check_output_dir(requested);
    fs::create_directories(requested);
    return requested;
  }
  const fs::path dir = next_free_dir(fs::path("runs") / name);
  fs::create_directories(dir);
  return dir;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot read");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace abmil
