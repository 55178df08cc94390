// SPDX-License-Identifier: Apache-2.0
#include "options.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>

#include "nestbox/error.hpp"
#include "nestbox/logging.hpp"

namespace nestbox::fs {

CpuView parse_cpu_view(std::string_view text) {
  if (text == "cpuset") return CpuView::Cpuset;
  if (text == "quota") return CpuView::Quota;
  if (text == "both") return CpuView::Both;
  throw Error(Errc::InvalidValue, "--cpu-view must be cpuset, quota or both, not '" + std::string(text) + "'");
}

unsigned default_worker_threads() {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  return static_cast<unsigned>(std::clamp(2 * cpus, 4L, 16L));
}

std::optional<Options> parse_options(int argc, const char* const* argv, int& exit_code) {
  Options opts;
  CLI::App app{"nestbox-fs: FUSE filesystem serving container-virtualized /proc and /sys files "
               "and a cgroup view, computed from the reader's cgroup."};
  app.set_version_flag("-V,--version", std::string("nestbox-fs ") + NESTBOX_VERSION);
  std::string cpu_view = "both";
  std::string log_level = "info";
  bool no_allow_other = false;
  // Not ->required(): CLI11 checks requirements before unknown options, so a
  // mistyped option would be reported as a missing mountpoint.
  app.add_option("mountpoint", opts.mountpoint, "Directory to mount on (e.g. /var/lib/nestbox/fs)");
  app.add_flag("-f,--foreground", opts.foreground, "Stay in the foreground");
  app.add_option("--cpu-view", cpu_view, "Which limits shrink the visible CPUs")
      ->check(CLI::IsMember({"cpuset", "quota", "both"}))
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|critical|off")
      ->capture_default_str();
  // One argument per -o: without a required positional, a vector option would
  // otherwise swallow the mountpoint after it.
  app.add_option("-o", opts.fuse_options, "FUSE mount options (comma separated, repeatable)")
      ->allow_extra_args(false);
  opts.max_threads = default_worker_threads();
  app.add_option("--threads", opts.max_threads, "FUSE worker threads at most (default: 2 per CPU, 4 to 16)")
      ->check(CLI::Range(1u, 256u));
  app.add_option("--load-interval-ms", opts.load_interval_ms, "Load average sampling interval")
      ->check(CLI::Range(100u, 60000u))
      ->capture_default_str();
  app.add_option("--max-nodes", opts.max_nodes,
                 "Nodes of the cgroup view the kernel may hold at once; one uid other than root gets an eighth")
      ->check(CLI::Range(std::size_t{64}, std::size_t{1} << 24))
      ->capture_default_str();
  app.add_option("--handover", opts.handover,
                 "Socket through which a nestbox-fs started later with the same option takes this one's mount "
                 "over without unmounting it (and this one takes over from a running one): for a DaemonSet's "
                 "rolling update; e.g. /var/lib/nestbox/handover.sock");
  app.add_option("--ready-file", opts.ready_file,
                 "File holding our pid while this nestbox-fs serves the mount (removed once it stops or hands "
                 "the mount over): a readiness check that a served mount alone cannot give");
  app.add_flag("--container-tree", opts.container_tree,
               "Serve the per-container tree instead of the lxcfs-compatible layout: MOUNTPOINT/PID/proc/meminfo "
               "... for the container whose pid 1 is host pid PID, served from the kernel's page cache "
               "(at most 100 ms old); run a second nestbox-fs for it");
  app.add_flag("--no-allow-other", no_allow_other,
               "Do not mount with allow_other (only the mounting user can read)");
  try {
    app.parse(argc, argv);
    opts.cpu_view = parse_cpu_view(cpu_view);
    opts.log_level = parse_log_level(log_level);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2, as for the other programs.
    exit_code = app.exit(e) == 0 ? 0 : 2;
    return std::nullopt;
  } catch (const Error& e) {
    std::fprintf(stderr, "nestbox-fs: %s\n", e.what());
    exit_code = 2;
    return std::nullopt;
  }
  if (opts.mountpoint.empty()) {
    std::fprintf(stderr, "nestbox-fs: a mountpoint is required (nestbox-fs [OPTIONS] MOUNTPOINT; see --help)\n");
    exit_code = 2;
    return std::nullopt;
  }
  opts.allow_other = !no_allow_other;
  return opts;
}

}  // namespace nestbox::fs
