// SPDX-License-Identifier: Apache-2.0
#include "userns.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "nestbox/error.hpp"
#include "nestbox/safe_io.hpp"
#include "nestbox/unique_fd.hpp"

extern char** environ;

namespace nestbox::launcher {
namespace {

std::string read_text(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  return fd ? read_fd(fd.get()) : std::string();
}

void write_proc(pid_t pid, const char* file, const std::string& text) {
  const std::string path = "/proc/" + std::to_string(pid) + "/" + file;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw_errno(errno, "cannot open " + path);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw_errno(errno, "cannot write " + path);
}

// Starts newuidmap/newgidmap; returns its pid, or -1 if it could not run.
pid_t start_helper(const char* helper, pid_t pid, const std::vector<IdMapEntry>& map) {
  std::vector<std::string> args{helper, std::to_string(pid)};
  for (auto& a : newidmap_arguments(map)) args.push_back(std::move(a));
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);  // the launcher blocks signals; the helper must not
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t child = -1;
  int rc = ::posix_spawnp(&child, helper, nullptr, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  return rc == 0 ? child : -1;
}

// Whether a started helper succeeded.
bool helper_succeeded(pid_t child) {
  if (child < 0) return false;
  int status = 0;
  while (::waitpid(child, &status, 0) < 0)
    if (errno != EINTR) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Whether we run in a user namespace other than the initial one (whose map is
// the whole id space, "0 0 4294967295"): inside a container, /etc/subuid ranges
// and newuidmap do not apply.
bool in_nested_user_namespace() {
  unsigned long inside = 0, outside = 0, count = 0;
  const std::string map = read_text("/proc/self/uid_map");
  return !(std::sscanf(map.c_str(), "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 && outside == 0 &&
           count == 4294967295UL);
}

}  // namespace

IdMapPlan plan_id_maps(uid_t uid, gid_t gid, const std::string& subuid_file, const std::string& subgid_file) {
  IdMapPlan plan;
  if (const passwd* pw = ::getpwuid(uid)) plan.user_name = pw->pw_name;
  plan.uid_map = container_id_map(uid, find_subid_range(read_text(subuid_file), plan.user_name, uid));
  plan.gid_map = container_id_map(gid, find_subid_range(read_text(subgid_file), plan.user_name, uid));
  return plan;
}

bool write_id_maps(pid_t pid, const IdMapPlan& plan, const std::function<void()>& while_helpers_run) {
  // The two helpers are independent setuid programs: run them side by side.
  const pid_t uid_helper = plan.uid_map.size() > 1 ? start_helper("newuidmap", pid, plan.uid_map) : -1;
  const pid_t gid_helper = plan.gid_map.size() > 1 ? start_helper("newgidmap", pid, plan.gid_map) : -1;
  if (while_helpers_run) {
    try {
      while_helpers_run();
    } catch (...) {
      helper_succeeded(uid_helper);
      helper_succeeded(gid_helper);
      throw;
    }
  }
  const bool uid_done = helper_succeeded(uid_helper);
  const bool gid_done = helper_succeeded(gid_helper);
  if (plan.uid_map.size() > 1 && !uid_done)
    std::fprintf(stderr, "nestbox-run: warning: newuidmap refused the subordinate uid range; "
                         "only your own uid is mapped (container root)\n");
  if (plan.gid_map.size() > 1 && !gid_done)
    std::fprintf(stderr, "nestbox-run: warning: newgidmap refused the subordinate gid range; "
                         "only your own gid is mapped\n");
  // Inside another container (a nested nestbox-run) a range in /etc/subuid
  // would not help: nothing to suggest.
  if (plan.uid_map.size() <= 1 && plan.gid_map.size() <= 1 && !in_nested_user_namespace())
    std::fprintf(stderr,
                 "nestbox-run: warning: no subordinate ids for '%s' in /etc/subuid and /etc/subgid; "
                 "only your own uid/gid are mapped (as 0) - add a range with usermod --add-subuids/--add-subgids\n",
                 plan.user_name.c_str());
  if (!uid_done) write_proc(pid, "uid_map", idmap_file_text({plan.uid_map.front()}));
  if (!gid_done) {
    // An unprivileged writer may map its own gid only after giving up setgroups(),
    // which would otherwise let the container drop a group that denies access.
    write_proc(pid, "setgroups", "deny");
    write_proc(pid, "gid_map", idmap_file_text({plan.gid_map.front()}));
  }
  return gid_done;
}

}  // namespace nestbox::launcher
