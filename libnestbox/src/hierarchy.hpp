// SPDX-License-Identifier: Apache-2.0
// One mounted cgroup hierarchy, reached only through an O_PATH fd of its mount
// opened once, and one cgroup directory inside it (internal to the library).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nestbox/cgroup_path.hpp"
#include "nestbox/layout.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox::detail {

class CgroupDir;
class KeptFiles;

class Hierarchy {
 public:
  // `kept_files`: interface files kept open for re-reading, at most (0: none;
  // see kept_files.hpp; only on a real cgroup filesystem).
  explicit Hierarchy(const CgroupMount& mount, std::size_t kept_files = 0);
  ~Hierarchy();
  Hierarchy(const Hierarchy&) = delete;
  Hierarchy& operator=(const Hierarchy&) = delete;

  const CgroupMount& mount() const noexcept { return mount_; }
  bool unified() const noexcept { return mount_.unified; }
  bool has_controller(std::string_view controller) const noexcept;
  int fd() const noexcept { return root_fd_.get(); }

  // Directory of `path` relative to the mount ("" for the mount's root). The
  // mount may show only a subtree (mountinfo root field): paths outside it are NotFound.
  std::string rel(const CgroupPath& path) const;
  // Absolute filesystem path (for messages and DelegatedEntry only; never opened).
  std::string abs(const CgroupPath& path, std::string_view file = {}) const;
  // Looks the name up now, kept files or not (a cgroup removed a moment ago
  // does not exist).
  bool exists(const CgroupPath& path) const;
  // Throws NotFound if the cgroup does not exist in this hierarchy. With kept
  // files, a directory whose files are kept is not opened until something is
  // not kept: a removed cgroup's reads then fail (ENODEV) and look it up again.
  CgroupDir open(const CgroupPath& path) const;
  std::optional<CgroupDir> try_open(const CgroupPath& path) const;
  // Null unless files are kept.
  KeptFiles* kept() const noexcept { return kept_.get(); }

 private:
  CgroupMount mount_;
  CgroupPath mount_root_;
  UniqueFd root_fd_;
  std::unique_ptr<KeptFiles> kept_;
};

// An open cgroup directory. Files are opened beneath its fd. Where the
// hierarchy keeps files and one of this directory's is kept, the directory
// itself is opened only when something is not kept (`fd` empty until then);
// its removal then shows as NotFound from the read that finds it.
class CgroupDir {
 public:
  CgroupDir(const Hierarchy& hierarchy, CgroupPath path, std::string rel, UniqueFd fd)
      : hierarchy_(&hierarchy), path_(std::move(path)), rel_(std::move(rel)), fd_(std::move(fd)) {}

  const Hierarchy& hierarchy() const noexcept { return *hierarchy_; }
  const CgroupPath& path() const noexcept { return path_; }
  // Throws NotFound if the directory is opened now and no longer exists.
  int fd() const;

  bool has(std::string_view file) const;
  // nullopt if the file does not exist.
  std::optional<std::string> read(std::string_view file) const;
  // Throws NotFound naming the file if missing.
  std::string read_required(std::string_view file) const;
  void write(std::string_view file, std::string_view data) const;
  std::vector<std::string> children() const;
  std::vector<pid_t> procs() const;

 private:
  const Hierarchy* hierarchy_;
  CgroupPath path_;
  std::string rel_;  // relative to the mount: the kept files' key
  mutable UniqueFd fd_;
};

// Validates a single interface file name ("memory.max"): no '/', not "." / "..", no NUL.
void check_file_name(std::string_view file);
// Processes in `dir` (and below it when recursive), sorted.
std::vector<pid_t> collect_procs(const Hierarchy& h, const CgroupPath& path, bool recursive);
// Whether `path` or a cgroup below it holds a process; false if `path` does not
// exist in this hierarchy. Stops at the first process found.
bool has_procs(const Hierarchy& h, const CgroupPath& path);

}  // namespace nestbox::detail
