// SPDX-License-Identifier: Apache-2.0
// The process-wide registry of sandbox cgroups and the code that empties and
// removes them. The removal code only makes raw system calls on fixed buffers
// (open/read/getdents64/kill/rmdir/nanosleep) so that the SIGINT/SIGTERM handler
// can run it too.
#include "testkit_cgroup_cleanup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

#include "testkit_internal.hpp"

namespace nestbox::testkit::detail {
namespace {

constexpr std::size_t kMaxMounts = 32;
constexpr std::size_t kMaxSandboxes = 128;
constexpr std::size_t kPathMax = 4096;
constexpr int kMaxDepth = 64;

// Hierarchy directories under which sandbox paths are joined ("/sys/fs/cgroup/memory").
// Filled once, before the first sandbox is registered, and never changed after.
char g_mounts[kMaxMounts][kPathMax];
std::size_t g_mount_count = 0;

struct Slot {
  std::atomic<bool> used{false};
  pid_t owner = 0;  // a forked child inherits the registry but must not clean its parent's sandboxes
  char path[256];   // "/nestbox-test-<pid>-<n>"
};
Slot g_slots[kMaxSandboxes];
std::mutex g_registry_mutex;
std::once_flag g_init_once;
std::atomic<bool> g_in_signal_cleanup{false};
struct sigaction g_old_int {};
struct sigaction g_old_term {};
struct sigaction g_old_hup {};

void nap_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

bool append(char* buf, std::size_t& len, const char* part) {
  std::size_t n = std::strlen(part);
  if (len + n + 1 > kPathMax) return false;
  std::memcpy(buf + len, part, n + 1);
  len += n;
  return true;
}

// Kills every pid listed in <dir>/cgroup.procs; returns how many were listed.
std::size_t kill_listed(char* dir, std::size_t len) {
  std::size_t saved = len;
  if (!append(dir, len, "/cgroup.procs")) return 0;
  int fd = ::open(dir, O_RDONLY | O_CLOEXEC);
  dir[saved] = '\0';
  if (fd < 0) return 0;
  // Never the test process itself (a test that joined its own sandbox by mistake
  // gets a failed rmdir, not a SIGKILL).
  const long self = ::getpid();
  std::size_t count = 0;
  char buf[4096];
  long value = 0;
  bool in_number = false;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      char c = buf[i];
      if (c >= '0' && c <= '9') {
        value = value * 10 + (c - '0');
        in_number = true;
      } else if (in_number) {
        if (value > 0 && value != self) {
          ::kill(static_cast<pid_t>(value), SIGKILL);
          ++count;
        }
        value = 0;
        in_number = false;
      }
    }
  }
  if (in_number && value > 0 && value != self) {
    ::kill(static_cast<pid_t>(value), SIGKILL);
    ++count;
  }
  ::close(fd);
  return count;
}

// Calls fn(child_name) for each subdirectory of `dir`.
template <typename Fn>
void for_each_subdir(const char* dir, Fn&& fn) {
  int fd = ::open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return;
  alignas(8) char buf[8192];
  for (;;) {
    long n = ::syscall(SYS_getdents64, fd, buf, sizeof(buf));
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      auto* entry = reinterpret_cast<dirent64*>(buf + off);
      off += entry->d_reclen;
      if (entry->d_type != DT_DIR) continue;
      const char* name = entry->d_name;
      if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
      fn(name);
    }
  }
  ::close(fd);
}

// Kills the processes of `dir` and every cgroup below it. Returns the number seen.
std::size_t kill_tree(char* dir, std::size_t len, int depth) {
  if (depth > kMaxDepth) return 0;
  // cgroup v2 can kill a whole subtree in one write; v1 has no such file.
  std::size_t saved = len;
  if (depth == 0 && append(dir, len, "/cgroup.kill")) {
    int fd = ::open(dir, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t ignored = ::write(fd, "1", 1);
      (void)ignored;
      ::close(fd);
    }
  }
  dir[saved] = '\0';
  len = saved;
  std::size_t count = kill_listed(dir, len);
  for_each_subdir(dir, [&](const char* name) {
    std::size_t l = len;
    if (append(dir, l, "/") && append(dir, l, name)) count += kill_tree(dir, l, depth + 1);
    dir[len] = '\0';
  });
  return count;
}

// rmdir below `dir` depth-first, then `dir` itself unless keep_self. Returns false
// if something could not be removed.
bool remove_tree(char* dir, std::size_t len, int depth, bool keep_self) {
  if (depth > kMaxDepth) return false;
  bool ok = true;
  for_each_subdir(dir, [&](const char* name) {
    std::size_t l = len;
    if (append(dir, l, "/") && append(dir, l, name)) ok = remove_tree(dir, l, depth + 1, false) && ok;
    dir[len] = '\0';
  });
  if (!keep_self && ::rmdir(dir) < 0 && errno != ENOENT) ok = false;
  return ok;
}

bool is_sandbox_path(const char* path) {
  return std::strncmp(path, kSandboxPrefix, std::strlen(kSandboxPrefix)) == 0 &&
         std::strchr(path + 1, '/') == nullptr;
}

void cleanup_all_registered() {
  for (auto& slot : g_slots) {
    if (slot.used.load() && slot.owner == ::getpid()) cleanup_sandbox(slot.path, false);
  }
}

void on_exit_hook() { cleanup_all_registered(); }

void on_signal(int sig) {
  if (!g_in_signal_cleanup.exchange(true)) cleanup_all_registered();
  const struct sigaction* old = sig == SIGINT ? &g_old_int : sig == SIGTERM ? &g_old_term : &g_old_hup;
  sigaction(sig, old, nullptr);
  raise(sig);
}

void init_once() {
  for (const auto& m : cgroup_mounts()) {
    // Sandboxes live at the top of each hierarchy; a mount showing only a
    // subtree of its hierarchy cannot hold them.
    if (m.root != "/" || g_mount_count == kMaxMounts || m.mountpoint.size() >= 1024) continue;
    std::memcpy(g_mounts[g_mount_count], m.mountpoint.c_str(), m.mountpoint.size() + 1);
    ++g_mount_count;
  }
  std::atexit(on_exit_hook);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
  sigaction(SIGHUP, &sa, &g_old_hup);
}

}  // namespace

void register_sandbox(const std::string& path) {
  if (!is_sandbox_path(path.c_str()) || path.size() >= sizeof(Slot::path)) {
    throw std::invalid_argument("testkit: not a sandbox path: " + path);
  }
  std::call_once(g_init_once, init_once);
  std::lock_guard lock(g_registry_mutex);
  for (auto& slot : g_slots) {
    if (!slot.used.load()) {
      std::memcpy(slot.path, path.c_str(), path.size() + 1);
      slot.owner = ::getpid();
      slot.used.store(true);
      return;
    }
  }
  throw std::runtime_error("testkit: too many live cgroup sandboxes");
}

void unregister_sandbox(const std::string& path) {
  std::lock_guard lock(g_registry_mutex);
  for (auto& slot : g_slots) {
    if (slot.used.load() && path == slot.path) slot.used.store(false);
  }
}

bool cleanup_sandbox(const char* path, bool keep_root) {
  if (!is_sandbox_path(path)) return false;
  char dir[kPathMax];
  // Kill until no hierarchy lists a process any more: a process may fork while
  // we kill, and v1 hierarchies are independent, so loop over all of them.
  for (int round = 0; round < 200; ++round) {
    std::size_t seen = 0;
    for (std::size_t m = 0; m < g_mount_count; ++m) {
      std::size_t len = 0;
      dir[0] = '\0';
      if (!append(dir, len, g_mounts[m]) || !append(dir, len, path)) continue;
      seen += kill_tree(dir, len, 0);
    }
    if (seen == 0) break;
    nap_ms(10);
  }
  // rmdir fails with EBUSY while a killed task is still exiting; retry briefly.
  bool ok = false;
  for (int round = 0; round < 200 && !ok; ++round) {
    ok = true;
    for (std::size_t m = 0; m < g_mount_count; ++m) {
      std::size_t len = 0;
      dir[0] = '\0';
      if (!append(dir, len, g_mounts[m]) || !append(dir, len, path)) continue;
      ok = remove_tree(dir, len, 0, keep_root) && ok;
    }
    if (!ok) nap_ms(10);
  }
  return ok;
}

}  // namespace nestbox::testkit::detail
