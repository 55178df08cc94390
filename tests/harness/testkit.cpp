// SPDX-License-Identifier: Apache-2.0
// Skip helpers, locations of the tree and of built programs, and public copies.
#include "testkit.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "nestbox/unique_fd.hpp"
#include "testkit_internal.hpp"

namespace fs = std::filesystem;

namespace nestbox::testkit {

namespace detail {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}
}  // namespace detail

// ---- skipping -------------------------------------------------------------------

std::optional<std::string> missing_root() {
  if (::geteuid() != 0) return "needs root (running as euid " + std::to_string(::geteuid()) + ")";
  return std::nullopt;
}

std::optional<std::string> missing_fuse() {
  nestbox::UniqueFd fd(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
  if (!fd) return std::string("needs FUSE: cannot open /dev/fuse: ") + std::strerror(errno);
  if (detail::find_in_path("fusermount3").empty()) return "needs FUSE: fusermount3 not in PATH";
  return std::nullopt;
}

std::optional<std::string> missing_program(std::string_view name) {
  if (!detail::find_in_path(std::string(name)).empty()) return std::nullopt;
  return "needs " + std::string(name) + ": not in PATH (scripts/install-deps.sh installs it)";
}

std::optional<std::string> missing_userns() {
  // Try exactly what the launcher will do: an unprivileged process creating a
  // user namespace. As root, drop to the test user first.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  if (::geteuid() == 0) {
    try {
      const TestUser& user = test_user();
      uid = user.uid;
      gid = user.gid;
    } catch (const std::exception& e) {
      return std::string("needs the unprivileged test user: ") + e.what();
    }
  }
  Child child = Child::fork_fn([uid, gid]() -> int {
    if (uid) {
      if (setgroups(0, nullptr) < 0 || setresgid(*gid, *gid, *gid) < 0 || setresuid(*uid, *uid, *uid) < 0) {
        return 2;
      }
    }
    if (unshare(CLONE_NEWUSER) < 0) return errno < 110 ? 10 + errno : 9;
    return 0;
  });
  int code = child.wait();
  if (code == 0) return std::nullopt;
  if (code == 2) return "needs unprivileged user namespaces: could not drop privileges to probe";
  if (code >= 10 && code < 120) {
    return std::string("needs unprivileged user namespaces: unshare(CLONE_NEWUSER): ") + std::strerror(code - 10);
  }
  return "needs unprivileged user namespaces: probe exited with " + std::to_string(code);
}

std::optional<std::string> missing_dbus_daemon() {
  if (detail::find_in_path("dbus-daemon").empty()) return "needs dbus-daemon in PATH (package dbus-daemon)";
  return std::nullopt;
}

// ---- locations ------------------------------------------------------------------

std::string source_dir() {
  if (const char* env = std::getenv("NESTBOX_SOURCE_DIR")) return env;
  return NESTBOX_SOURCE_DIR;
}

std::string build_dir() {
  if (const char* env = std::getenv("NESTBOX_BUILD_DIR")) return env;
  return NESTBOX_BUILD_DIR;
}

std::string built_program(std::string_view name) {
  const std::string build = build_dir();
  const std::string prog(name);
  // Where the project's own targets land.
  std::vector<std::string> candidates;
  if (prog == "nestbox-fs") candidates.push_back(build + "/fs/nestbox-fs");
  if (prog == "nestbox-cgmgr") candidates.push_back(build + "/cgmgr/nestbox-cgmgr");
  if (prog == "nestbox-run" || prog == "nestbox-init") candidates.push_back(build + "/launcher/" + prog);
  if (prog == "nestbox-oci-hook") candidates.push_back(build + "/hooks/" + prog);
  candidates.push_back(build + "/" + prog);
  for (const auto& c : candidates) {
    if (::access(c.c_str(), X_OK) == 0) return c;
  }
  // Anything else (test helpers): a shallow search of the build tree.
  std::error_code ec;
  for (fs::recursive_directory_iterator it(build, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    if (it.depth() > 3) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->path().filename() == prog && it->is_regular_file(ec) && ::access(it->path().c_str(), X_OK) == 0) {
      return it->path().string();
    }
  }
  throw std::runtime_error("testkit: program " + prog + " is not built in " + build +
                           " (build the whole tree first: scripts/build.sh)");
}

namespace {
std::mutex g_public_mutex;
std::map<std::string, std::string> g_public_copies;
std::string g_public_dir;

void remove_public_dir() {
  if (!g_public_dir.empty()) {
    std::error_code ec;
    fs::remove_all(g_public_dir, ec);
  }
}
}  // namespace

std::string public_copy(const std::string& path) {
  std::lock_guard lock(g_public_mutex);
  auto found = g_public_copies.find(path);
  if (found != g_public_copies.end()) return found->second;
  if (g_public_dir.empty()) {
    std::string dir = "/tmp/nestbox-public-" + std::to_string(::getpid());
    std::error_code ec;
    fs::remove_all(dir, ec);  // a leftover of an earlier process with our pid
    if (::mkdir(dir.c_str(), 0755) < 0) {
      throw std::runtime_error("testkit: mkdir " + dir + ": " + std::strerror(errno));
    }
    ::chmod(dir.c_str(), 0755);  // regardless of umask
    g_public_dir = dir;
    std::atexit(remove_public_dir);
  }
  std::string target = g_public_dir + "/" + fs::path(path).filename().string();
  for (int n = 1; fs::exists(target); ++n) {
    target = g_public_dir + "/" + std::to_string(n) + "-" + fs::path(path).filename().string();
  }
  std::error_code ec;
  fs::copy_file(path, target, ec);
  if (ec) throw std::runtime_error("testkit: copy " + path + " -> " + target + ": " + ec.message());
  ::chmod(target.c_str(), 0755);
  g_public_copies[path] = target;
  return target;
}

// ---- mounts ---------------------------------------------------------------------

bool is_mounted(const std::string& path) {
  // Canonicalize only the parent: stat()ing the path itself would call into a
  // FUSE daemon that may be hung or gone.
  fs::path p(path);
  std::error_code ec;
  fs::path parent = fs::canonical(p.parent_path().empty() ? fs::path(".") : p.parent_path(), ec);
  std::string wanted = ec ? path : (parent / p.filename()).string();
  if (p.filename().empty() || p.filename() == "." ) wanted = ec ? path : parent.string();
  for (const auto& mp : detail::mount_points()) {
    if (mp == wanted) return true;
  }
  return false;
}

}  // namespace nestbox::testkit
