// SPDX-License-Identifier: Apache-2.0
// A small container root for other runtimes (podman, LXC) to start.
#include <sys/stat.h>

#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "testkit.hpp"

namespace nestbox::testkit {
namespace {

namespace stdfs = std::filesystem;

// Copies the file at host path `path` (symlinks followed) to the same path below `root`.
void copy_with_parents(const std::string& path, const std::string& root) {
  const stdfs::path target = root + path;
  stdfs::create_directories(target.parent_path());
  stdfs::copy_file(stdfs::canonical(path), target, stdfs::copy_options::overwrite_existing);
}

}  // namespace

std::string busybox_rootfs(const std::string& dir) {
  const std::string root = dir + "/rootfs";
  for (const char* d : {"bin", "proc", "sys", "dev", "etc", "tmp"}) stdfs::create_directories(root + "/" + d);
  stdfs::copy_file("/bin/busybox", root + "/bin/busybox", stdfs::copy_options::overwrite_existing);
  for (const char* tool : {"sh", "free", "cat", "nproc", "grep", "ls", "wc", "cut", "head", "sleep"})
    if (!stdfs::exists(root + "/bin/" + tool)) stdfs::create_symlink("busybox", root + "/bin/" + tool);
  // procps's free and uptime with the libraries they load, as a Debian image
  // has them (busybox's free takes its totals from sysinfo(2) instead).
  for (const char* prog : {"/usr/bin/free", "/usr/bin/uptime"}) {
    copy_with_parents(prog, root);
    const CommandResult ldd = run({"ldd", prog});
    if (ldd.exit_code != 0) throw std::runtime_error("testkit: ldd " + std::string(prog) + ": " + ldd.err);
    std::istringstream words(ldd.out);
    for (std::string w; words >> w;)
      if (w.starts_with("/")) copy_with_parents(w, root);
  }
  const std::string tar = dir + "/rootfs.tar";
  const CommandResult r = run({"tar", "-C", root, "-cf", tar, "."});
  if (r.exit_code != 0) throw std::runtime_error("testkit: tar of " + root + ": " + r.err);
  ::chmod(tar.c_str(), 0644);
  return tar;
}

}  // namespace nestbox::testkit
