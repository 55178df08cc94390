// SPDX-License-Identifier: Apache-2.0
// Test harness shared by every nestbox test binary: real-kernel fixtures that
// always clean up after themselves (cgroups, FUSE mounts, processes, buses),
// and helpers that skip loudly when the machine cannot provide something.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nestbox/cgroup_path.hpp"
#include "nestbox/cgroup_tree.hpp"

namespace nestbox::testkit {

// ---- skipping ---------------------------------------------------------------
// Each returns nullopt when the requirement holds, else the reason it does not.
std::optional<std::string> missing_root();
std::optional<std::string> missing_fuse();        // /dev/fuse + fusermount3
std::optional<std::string> missing_userns();      // unprivileged user namespaces
std::optional<std::string> missing_dbus_daemon();
std::optional<std::string> missing_cgroup_write();  // root + a writable cgroup hierarchy
// A client program the test drives (podman, lxc-start, ...) in PATH.
std::optional<std::string> missing_program(std::string_view name);

// Skips the current test with the reason ("SKIPPED: needs root: ...").
#define NESTBOX_SKIP_IF_MISSING(expr)                                 \
  do {                                                                \
    if (auto nestbox_missing_ = (expr)) GTEST_SKIP() << *nestbox_missing_; \
  } while (0)

// ---- locations ---------------------------------------------------------------
std::string source_dir();  // the checkout
std::string build_dir();   // the cmake build tree
// Absolute path of a program built by this tree ("nestbox-fs", "nestbox-cgmgr", "nestbox-run").
std::string built_program(std::string_view name);
// A copy of a built program (or any file) in a world-readable/executable
// directory, for running as the unprivileged test user (the build tree may sit
// below a 0700 home). Copied once per test process.
std::string public_copy(const std::string& path);

// ---- temp dirs --------------------------------------------------------------
class TempDir {
 public:
  explicit TempDir(std::string_view tag = "nestbox-test", mode_t mode = 0700);
  // rm -rf that never crosses mount points: anything still mounted below the dir
  // (and only below it) is detach-unmounted first.
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes a file below the dir (creating parent dirs); returns its path.
  std::string write(std::string_view rel, std::string_view content) const;

 private:
  std::string path_;
};

// ---- processes ----------------------------------------------------------------
struct CommandResult {
  int exit_code = -1;  // exit status, or 128+signal
  std::string out;
  std::string err;
};

struct RunOptions {
  std::optional<uid_t> uid;                  // run as this uid (with gid below, no supplementary groups)
  std::optional<gid_t> gid;
  std::map<std::string, std::string> env;    // added to a minimal environment (PATH, HOME, LANG=C)
  std::string stdin_data;
  std::optional<std::string> cwd;
  std::optional<nestbox::CgroupPath> cgroup; // attach the child to this cgroup (all hierarchies) before exec
  std::chrono::seconds timeout{120};         // killed (SIGKILL) after this; exit_code then 128+9
  // Daemons: SIGTERM when the test process dies without cleaning up (a crash,
  // a sanitizer abort), so they never outlive it (nestbox-fs then unmounts).
  // The spawning thread must outlive the child (PR_SET_PDEATHSIG is per thread).
  bool stop_with_test = false;
  // Child::spawn: stderr appended to this file instead of the test's own.
  std::optional<std::string> stderr_file;
};

// Runs argv (PATH lookup) and captures stdout/stderr.
CommandResult run(const std::vector<std::string>& argv, const RunOptions& options = {});

// A child process killed (SIGKILL) and reaped when the object dies.
class Child {
 public:
  // fork + exec argv with the given options (stdout/stderr go to the test's own).
  static Child spawn(const std::vector<std::string>& argv, const RunOptions& options = {});
  // fork and run fn() in the child; its return value is the exit status.
  static Child fork_fn(const std::function<int()>& fn);
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  ~Child();
  pid_t pid() const { return pid_; }
  void kill(int signal);
  // Waits for exit; returns exit status or 128+signal. Kills after `timeout`.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  bool running();

 private:
  explicit Child(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_code_ = -1;
};

// A forked child and what it reported through a pipe (`report_fd` in the child);
// the text is read until every copy of the pipe's write end is closed, which is
// at the latest when the child ends (the pipe does not reach exec'ed programs).
struct Reported {
  Child child;
  std::string text;
};
Reported fork_reporting(const std::function<int(int report_fd)>& fn);

// ---- container roots -----------------------------------------------------------
// A busybox root with procps's free and uptime (and their libraries), in
// DIR/rootfs, packed as DIR/rootfs.tar (mode 0644) for `podman import`;
// returns the tar's path. Throws std::runtime_error.
std::string busybox_rootfs(const std::string& dir);

// ---- podman -------------------------------------------------------------------
// podman kept to a test's own directories (image storage, run state, temp
// files) and to what works on every host of the suite: vfs storage, the
// cgroupfs manager, runc (crun 1.8 refuses hybrid hosts), events in a file.
// The paths may be shell words ("$HOME/storage") for a script's command line.
std::vector<std::string> podman_command(const std::string& storage, const std::string& run, const std::string& tmp);
// Options every `podman run` of the suite needs: podman's default rlimits exceed
// the hard limits of a host without CAP_SYS_RESOURCE, where runc cannot raise them.
std::vector<std::string> podman_run_limits();
// Words joined by single spaces (for words without spaces or quotes).
std::string join_words(const std::vector<std::string>& words);

// ---- cgroups ----------------------------------------------------------------
// A unique per-run cgroup prefix ("/nestbox-test-<pid>-<n>") created in every
// hierarchy the host tree manages. The destructor, an atexit hook and SIGINT/SIGTERM
// handlers kill what runs inside and remove it depth-first. Nothing outside the
// prefix is ever touched.
class CgroupSandbox {
 public:
  CgroupSandbox();
  ~CgroupSandbox();
  CgroupSandbox(const CgroupSandbox&) = delete;
  CgroupSandbox& operator=(const CgroupSandbox&) = delete;

  const nestbox::CgroupPath& root() const { return root_; }
  nestbox::CgroupTree& tree() { return *tree_; }
  // Creates root()/rel (intermediate levels too) and returns its path.
  nestbox::CgroupPath make(std::string_view rel);
  // Kills every process below root() and removes every cgroup below it (root kept).
  void clear();

 private:
  std::unique_ptr<nestbox::CgroupTree> tree_;
  nestbox::CgroupPath root_;
};

// ---- the unprivileged test user ------------------------------------------------
// "nestbox-test" (created if missing, idempotent), with /etc/subuid and
// /etc/subgid ranges and a home directory.
struct TestUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  uid_t subuid_start = 0;
  unsigned subuid_count = 0;
  // Runs argv as this user (ruid=euid=uid, rgid=egid=gid, no supplementary groups).
  CommandResult run(const std::vector<std::string>& argv, RunOptions options = {}) const;
};
// Creates/looks up the user; requires root (call missing_root() first).
const TestUser& test_user();

// ---- a private D-Bus daemon ------------------------------------------------------
// dbus-daemon with a generated config that behaves like the system bus and
// <include>s the project's own policy file dbus/org.nestbox.CgroupManager1.conf,
// listening on a socket in a temp dir that any user may connect to.
class PrivateBus {
 public:
  PrivateBus();
  ~PrivateBus();  // kills the daemon, removes the socket dir
  PrivateBus(const PrivateBus&) = delete;
  PrivateBus& operator=(const PrivateBus&) = delete;
  const std::string& address() const { return address_; }  // "unix:path=/tmp/.../bus"
  // Environment entries pointing clients at this bus
  // (DBUS_SYSTEM_BUS_ADDRESS and DBUS_SESSION_BUS_ADDRESS).
  std::map<std::string, std::string> client_env() const;

 private:
  std::unique_ptr<TempDir> dir_;
  std::string address_;
  pid_t pid_ = -1;
};

// ---- a FUSE mount -----------------------------------------------------------
// Starts `daemon_argv` + [mountpoint] (the daemon must run in the foreground),
// waits until the mount shows up in /proc/self/mountinfo, and always unmounts
// (umount2 MNT_DETACH) and kills the daemon when destroyed.
class FuseMount {
 public:
  // `env` is added to the daemon's minimal environment (RunOptions::env).
  explicit FuseMount(std::vector<std::string> daemon_argv,
                     std::chrono::seconds timeout = std::chrono::seconds(20),
                     std::map<std::string, std::string> env = {});
  ~FuseMount();
  FuseMount(const FuseMount&) = delete;
  FuseMount& operator=(const FuseMount&) = delete;
  const std::string& mountpoint() const { return mountpoint_; }
  pid_t daemon_pid() const { return pid_; }
  // Whether the daemon is still running (it is not reaped by asking).
  bool running_daemon() const;
  // Stops the daemon the way a service manager does (SIGTERM, the mount still in
  // place), reaps it and returns its exit code (128+signal if it had to be killed).
  int terminate_daemon();
  // File holding the daemon's stdout+stderr (printed by the destructor when the
  // test failed or the daemon died during the test).
  const std::string& log_path() const { return log_path_; }

 private:
  std::unique_ptr<TempDir> dir_;
  std::string mountpoint_;
  std::string log_path_;
  pid_t pid_ = -1;
};

// Whether `path` is a mount point in this mount namespace.
bool is_mounted(const std::string& path);

}  // namespace nestbox::testkit
