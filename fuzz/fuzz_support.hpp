// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the fuzz targets: the input as text, a scratch directory for
// targets whose code reads through file descriptors (cgroup files, procfs), and
// an invariant check that stops the run like a sanitizer would.
#pragma once

#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nestbox::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Targets that take several files read them from one input as sections: a
// line "@ <name>" starts a section and its content runs to the next "@ " line.
// Seeds are then real files with one header line each. Bytes before the
// first header are ignored.
inline std::vector<std::pair<std::string_view, std::string_view>> sections(std::string_view text) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  if (!text.starts_with("@ ")) {
    auto first = text.find("\n@ ");
    if (first == text.npos) return out;
    text.remove_prefix(first + 1);
  }
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view name = text.substr(2, nl == text.npos ? text.npos : nl - 2);
    text = nl == text.npos ? std::string_view() : text.substr(nl + 1);
    auto next = text.starts_with("@ ") ? 0 : text.find("\n@ ");
    std::size_t len = next == text.npos ? text.size() : next == 0 ? 0 : next + 1;
    out.emplace_back(name, text.substr(0, len));
    text.remove_prefix(len);
  }
  return out;
}

// A property that must hold for every input failed: abort so libFuzzer keeps the input.
[[noreturn]] inline void invariant_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "invariant violated at %s:%d: %s\n", file, line, what);
  std::abort();
}
#define NESTBOX_FUZZ_CHECK(cond) \
  ((cond) ? (void)0 : ::nestbox::fuzz::invariant_failed(#cond, __FILE__, __LINE__))

// A directory below $TMPDIR (scripts/fuzz.sh points it at its own temp dir),
// created once per process and removed when the process exits normally.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/nestbox-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    path_ = tmpl;
  }
  ~ScratchDir() {
    ::nftw(
        path_.c_str(), [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p), 0; }, 16,
        FTW_DEPTH | FTW_PHYS);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string abs(const std::string& rel) const { return path_ + "/" + rel; }

  // mkdir -p below the scratch dir.
  void mkdir(const std::string& rel) const {
    std::string cur = path_;
    std::size_t pos = 0;
    while (pos <= rel.size()) {
      auto slash = rel.find('/', pos);
      if (slash == std::string::npos) slash = rel.size();
      if (slash > pos) {
        cur += "/" + rel.substr(pos, slash - pos);
        ::mkdir(cur.c_str(), 0755);
      }
      pos = slash + 1;
    }
  }
  // Replaces the file's content (creating it).
  void write(const std::string& rel, std::string_view data) const {
    int fd = ::open(abs(rel).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      std::perror(rel.c_str());
      std::abort();
    }
    std::size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n <= 0) {
        std::perror(rel.c_str());
        std::abort();
      }
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }
  void remove(const std::string& rel) const { ::unlink(abs(rel).c_str()); }

 private:
  std::string path_;
};

}  // namespace nestbox::fuzz
