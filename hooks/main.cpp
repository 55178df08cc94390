// SPDX-License-Identifier: Apache-2.0
// nestbox-oci-hook: binds nestbox-fs's files into a container before it starts.
//
//   OCI (createContainer stage; podman, CRI-O, runc, crun): reads the state on
//   stdin, binds when the container's annotation io.nestbox.fs is "true" (or
//   absent and --default on), skips when it is "false".
//   LXC (--lxc, as lxc.hook.mount): binds into $LXC_ROOTFS_MOUNT.
//
// Both run inside the container's mount namespace before it pivots, where the
// host's nestbox-fs mount is still reachable. When nestbox-fs is not mounted
// the container starts with the host's values and a warning says so; a bind
// that fails stops the start (exit 1) with a message naming the file.
// Exit codes: 0 done or nothing to do, 1 failure, 2 bad usage.
#include <fcntl.h>
#include <syslog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bind_view.hpp"
#include "nestbox/error.hpp"
#include "nestbox/escape.hpp"
#include "nestbox/safe_io.hpp"
#include "nestbox/unique_fd.hpp"
#include "nestbox/view_files.hpp"
#include "oci_state.hpp"

namespace {

using namespace nestbox;

constexpr std::size_t kMaxStdin = 1 << 20;

// Runtimes keep a hook's stderr only when it fails; a warning about a
// container that started with the host's values also goes to syslog (the
// journal reads /dev/log too). syslog(3), not libsystemd: the program is static.
void report(int priority, const std::string& message) {
  const std::string line = escape_for_log(message);
  std::fprintf(stderr, "nestbox-oci-hook: %s\n", line.c_str());
  ::openlog("nestbox-oci-hook", LOG_PID, LOG_DAEMON);
  ::syslog(priority, "%s", line.c_str());
  ::closelog();
}

std::string read_stdin() {
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(errno, "read the OCI state on stdin");
    if (n == 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > kMaxStdin) throw Error(Errc::InvalidValue, "the OCI state on stdin is larger than 1 MiB");
  }
}

std::string read_config(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno(errno, "read " + path);
  return read_fd(fd.get());
}

struct Options {
  std::string fs = "/var/lib/nestbox/fs";
  std::string by_default = "off";
  bool lxc = false;
  std::vector<std::string> lxc_args;
};

int run(const Options& o) {
  std::string rootfs;
  std::string who;
  if (o.lxc) {
    const char* root = std::getenv("LXC_ROOTFS_MOUNT");
    if (!root || *root != '/') {
      report(LOG_ERR, "--lxc: LXC_ROOTFS_MOUNT is not set to an absolute path: run me as lxc.hook.mount");
      return 1;
    }
    rootfs = root;
    const char* name = std::getenv("LXC_NAME");
    who = std::string("LXC container ") + (name ? name : "?");
  } else {
    const hooks::HookInput in = hooks::parse_hook_input(read_stdin(), read_config);
    who = "container " + in.id;
    if (!hooks::wants_view(in.annotations, o.by_default == "on")) return 0;
    rootfs = in.rootfs;
  }
  const std::vector<std::string> files = available_view_files(o.fs);
  if (files.empty()) {
    report(LOG_WARNING, who + ": nestbox-fs is not mounted at " + o.fs +
                            " (or does not answer): it starts with the host's /proc and /sys values");
    return 0;
  }
  const hooks::BindReport r = hooks::bind_view(o.fs, files, rootfs);
  if (r.bound.empty())
    report(LOG_WARNING, who + ": none of nestbox-fs's files exists in its root " + rootfs + " (no /proc mounted?)");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"nestbox-oci-hook: binds nestbox-fs's /proc and /sys files into a container (an OCI createContainer "
               "hook; with --lxc an LXC mount hook)"};
  app.set_version_flag("-V,--version", std::string("nestbox-oci-hook ") + NESTBOX_VERSION);
  app.add_option("--fs", o.fs, "where nestbox-fs is mounted")->capture_default_str();
  app.add_option("--default", o.by_default,
                 "for a container without the io.nestbox.fs annotation: on binds, off leaves it alone")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  auto* lxc = app.add_flag("--lxc", o.lxc, "run as lxc.hook.mount: bind into $LXC_ROOTFS_MOUNT");
  app.add_option("lxc-args", o.lxc_args, "what LXC passes a hook (name, section, type); ignored")->needs(lxc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    return run(o);
  } catch (const Error& e) {
    report(LOG_ERR, e.what());
    return 1;
  } catch (const std::exception& e) {
    report(LOG_ERR, std::string("unexpected failure: ") + e.what());
    return 1;
  }
}
