// SPDX-License-Identifier: Apache-2.0
#include "options.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "exit_status.hpp"
#include "nestbox/cgroup_path.hpp"
#include "nestbox/cgroup_tree.hpp"
#include "nestbox/error.hpp"

namespace nestbox::launcher {
namespace {

constexpr const char* kDescription =
    "nestbox-run: start an unprivileged container whose free, top, uptime and nproc\n"
    "report its own limits (memory, cpu, cpuset, pids) instead of the host's.";

constexpr const char* kFooter =
    "\nExamples:\n"
    "  nestbox-run --memory 128M -- free -m\n"
    "  nestbox-run --name web --cpus 1.5 --bind ./site:/srv:ro -- python3 -m http.server\n"
    "  nestbox-run list --json\n"
    "  nestbox-run exec web -- ps aux\n"
    "\nExit status: the command's own; 128+N if it was killed by signal N;\n"
    "125 launcher error; 126 command not executable; 127 command not found.";

// Splits the raw arguments at the first "--": everything after it is the command,
// never parsed as options (CLI11 would otherwise still match subcommand names).
std::pair<std::vector<std::string>, std::optional<std::vector<std::string>>> split_at_dashdash(
    const std::vector<std::string>& args) {
  auto it = std::find(args.begin(), args.end(), "--");
  if (it == args.end()) return {args, std::nullopt};
  return {std::vector<std::string>(args.begin(), it), std::vector<std::string>(it + 1, args.end())};
}

void add_env_option(CLI::App* app, std::vector<std::string>* raw) {
  app->add_option("-e,--env", *raw, "Set an environment variable inside (K=V; repeatable)")
      ->type_name("K=V");
}

// The command: after "--" if given, else whatever CLI11 left over. Anything that
// looks like an option there was not recognized.
std::vector<std::string> take_command(const CLI::App* app, std::optional<std::vector<std::string>> tail) {
  std::vector<std::string> rest = app->remaining();
  if (!rest.empty() && rest.front().size() > 1 && rest.front().front() == '-')
    throw Error(Errc::InvalidValue, "unknown option '" + rest.front() + "' (see --help)");
  if (tail) {
    if (!rest.empty())
      throw Error(Errc::InvalidValue, "unexpected argument '" + rest.front() + "' before '--'");
    return *tail;
  }
  return rest;
}

}  // namespace

void validate_name(const std::string& name) {
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  };
  if (name.empty() || name.size() > 64 || !std::all_of(name.begin(), name.end(), ok_char) ||
      name.front() == '.' || name.front() == '-')
    throw Error(Errc::InvalidValue, "--name '" + name +
                                        "': use 1-64 characters from [A-Za-z0-9_.-], not starting "
                                        "with '.' or '-'");
  std::string why;
  if (!CgroupPath::is_valid_name(name, &why))
    throw Error(Errc::InvalidValue, "--name '" + name + "' cannot name a cgroup: " + why);
}

void validate_hostname(const std::string& hostname) {
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  };
  if (hostname.empty() || hostname.size() > 64 || !std::all_of(hostname.begin(), hostname.end(), ok_char))
    throw Error(Errc::InvalidValue,
                "--hostname '" + hostname + "': use 1-64 characters from [A-Za-z0-9.-]");
}

std::pair<std::string, std::string> parse_env_assignment(const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error(Errc::InvalidValue, "--env '" + text + "': expected K=V");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

std::string cpus_to_cpu_max(const std::string& cpus) {
  // Strict decimal: digits, optionally '.' and up to 5 more digits (10us resolution).
  const std::string bad = "--cpus '" + cpus + "': expected a number of CPUs such as 1, 0.5 or 1.5";
  auto dot = cpus.find('.');
  std::string whole = cpus.substr(0, dot);
  std::string frac = dot == std::string::npos ? "" : cpus.substr(dot + 1);
  auto digits = [](const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || whole.size() > 4 || !digits(whole) || !digits(frac) || frac.size() > 5 ||
      (dot != std::string::npos && frac.empty()))
    throw Error(Errc::InvalidValue, bad);
  constexpr std::uint64_t kPeriod = 100000;
  std::uint64_t quota = std::stoull(whole) * kPeriod;
  std::string padded = frac + std::string(5 - frac.size(), '0');
  quota += std::stoull(padded);
  // The kernel refuses quotas under 1ms; keep an upper bound so typos are caught.
  if (quota < 1000) throw Error(Errc::InvalidValue, "--cpus '" + cpus + "': must be at least 0.01");
  if (quota > 1024 * kPeriod) throw Error(Errc::InvalidValue, "--cpus '" + cpus + "': at most 1024");
  return std::to_string(quota) + " " + std::to_string(kPeriod);
}

std::map<std::string, std::string> compute_limits(const RunOptions& o) {
  std::map<std::string, std::string> limits;
  auto add = [&](const char* option, const char* key, const std::optional<std::string>& value) {
    if (!value) return;
    try {
      limits[key] = normalize_limit(key, *value);
    } catch (const Error& e) {
      throw Error(Errc::InvalidValue, std::string(option) + " '" + *value + "': " + e.what());
    }
  };
  add("--memory", "memory.max", o.memory);
  add("--swap", "memory.swap.max", o.swap);
  add("--cpuset", "cpuset.cpus", o.cpuset);
  add("--pids", "pids.max", o.pids);
  if (o.cpus) limits["cpu.max"] = normalize_limit("cpu.max", cpus_to_cpu_max(*o.cpus));
  return limits;
}

ParseOutcome parse_command_line(const std::vector<std::string>& args) {
  ParseOutcome outcome;
  Invocation inv;
  RunOptions& r = inv.run;
  std::vector<std::string> binds, env, exec_env;
  std::string net = "none";
  std::optional<std::string> rootfs, memory, swap, cpus, cpuset, pids;

  CLI::App app{kDescription, "nestbox-run"};
  app.footer(kFooter);
  app.prefix_command();
  app.set_version_flag("-V,--version", std::string("nestbox-run ") + NESTBOX_VERSION);
  app.add_option("-n,--name", r.name, "Container name (unique per user; default nb-<pid>, nb-<pidns inode>-<pid> inside a container)");
  app.add_option("--rootfs", rootfs, "Root directory (default: the host's / bound read-only)")
      ->type_name("DIR");
  app.add_option("-m,--memory", memory, "Memory limit (e.g. 128M, 2G)")->type_name("SIZE");
  app.add_option("--swap", swap, "Swap allowed on top of --memory (e.g. 0, 512M)")->type_name("SIZE");
  app.add_option("-c,--cpus", cpus, "CPU time quota in CPUs (e.g. 1.5)")->type_name("N");
  app.add_option("--cpuset", cpuset, "CPUs the container may run on (e.g. 0-1,3)")->type_name("LIST");
  app.add_option("--pids", pids, "Maximum number of processes")->type_name("N");
  app.add_option("--hostname", r.hostname, "Hostname inside (default: the name)");
  app.add_option("-b,--bind", binds, "Bind a host path (repeatable)")->type_name("SRC:DST[:ro]");
  app.add_option("--net", net, "Network: none (own namespace, loopback only) or host")
      ->check(CLI::IsMember({"none", "host"}));
  add_env_option(&app, &env);
  app.add_option("-w,--workdir", r.workdir, "Working directory inside (default /)")->type_name("DIR");
  app.add_flag("-t,--tty", r.tty, "Allocate a pseudo-terminal inside and connect it to this one");
  app.add_option("--fs", r.fs_mount, "Where nestbox-fs is mounted")->type_name("MOUNTPOINT");
  CLI::Option* fs_tree =
      app.add_option("--fs-tree", r.fs_tree,
                     "Where nestbox-fs --container-tree is mounted (default /var/lib/nestbox/tree, used if mounted): "
                     "the /proc files and the sysfs CPU directory come from the container's own directory there, served from the page cache")
          ->type_name("MOUNTPOINT");
  bool no_fs_tree = false;
  app.add_flag("--no-fs-tree", no_fs_tree, "Take every file from --fs, never from a --container-tree mount");
  app.add_flag("--no-fs", r.no_fs, "Do not bind nestbox-fs files over /proc and /sys");
  app.add_flag("--no-cgroup", r.no_cgroup, "Do not use nestbox-cgmgr (no limits; for testing)");
  app.add_option("--bus", r.bus, "D-Bus address of nestbox-cgmgr (default: system bus)")
      ->type_name("ADDRESS");

  CLI::App* list = app.add_subcommand("list", "List this user's running containers");
  list->add_flag("--json", inv.list.json, "Print JSON");

  CLI::App* exec = app.add_subcommand("exec", "Run a command inside a running container");
  exec->prefix_command();
  exec->add_option("name", inv.exec.name, "Container name")->required();
  add_env_option(exec, &exec_env);
  exec->add_option("-w,--workdir", inv.exec.workdir, "Working directory inside")->type_name("DIR");
  exec->add_flag("-t,--tty", inv.exec.tty, "Allocate a pseudo-terminal");
  exec->add_option("--bus", inv.exec.bus, "D-Bus address of nestbox-cgmgr")->type_name("ADDRESS");

  auto [head, tail] = split_at_dashdash(args);
  std::vector<std::string> reversed(head.rbegin(), head.rend());  // CLI11 consumes from the back
  std::ostringstream out, err;
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e, out, err);
    outcome.out = out.str();
    outcome.err = err.str();
    outcome.exit_code = code == 0 ? 0 : kExitLauncherError;
    return outcome;
  }

  try {
    if (list->parsed()) {
      inv.mode = Mode::List;
      if (tail || !list->remaining().empty() || !app.remaining().empty())
        throw Error(Errc::InvalidValue, "list takes no arguments");
    } else if (exec->parsed()) {
      inv.mode = Mode::Exec;
      validate_name(inv.exec.name);
      inv.exec.command = take_command(exec, tail);
      for (const auto& e : exec_env) inv.exec.env.push_back(parse_env_assignment(e));
      if (!inv.exec.workdir.empty()) inv.exec.workdir = normalize_container_path(inv.exec.workdir);
      if (inv.exec.command.empty()) throw Error(Errc::InvalidValue, "exec: no command given");
    } else {
      inv.mode = Mode::Run;
      r.command = take_command(&app, tail);
      if (r.command.empty()) throw Error(Errc::InvalidValue, "no command given (see --help)");
      if (!r.name.empty()) validate_name(r.name);
      if (!r.hostname.empty()) validate_hostname(r.hostname);
      r.rootfs = rootfs;
      if (rootfs && rootfs->empty()) throw Error(Errc::InvalidValue, "--rootfs: empty path");
      r.memory = memory;
      r.swap = swap;
      r.cpus = cpus;
      r.cpuset = cpuset;
      r.pids = pids;
      r.net = net == "host" ? NetMode::Host : NetMode::None;
      for (const auto& b : binds) r.binds.push_back(parse_bind_spec(b));
      for (const auto& e : env) r.env.push_back(parse_env_assignment(e));
      if (!r.workdir.empty()) r.workdir = normalize_container_path(r.workdir);
      if (r.fs_mount.empty() || r.fs_mount.front() != '/')
        throw Error(Errc::InvalidValue, "--fs '" + r.fs_mount + "': must be an absolute path");
      r.fs_tree_asked = fs_tree->count() > 0;
      if (no_fs_tree && r.fs_tree_asked) throw Error(Errc::InvalidValue, "--fs-tree and --no-fs-tree contradict");
      if (no_fs_tree) r.fs_tree.clear();
      if (r.fs_tree_asked && (r.fs_tree.empty() || r.fs_tree.front() != '/'))
        throw Error(Errc::InvalidValue, "--fs-tree '" + r.fs_tree + "': must be an absolute path");
      if (r.swap && !r.memory) throw Error(Errc::InvalidValue, "--swap needs --memory");
      r.limits = compute_limits(r);
      if (r.no_cgroup && !r.limits.empty())
        throw Error(Errc::InvalidValue, "--no-cgroup cannot enforce --memory/--swap/--cpus/--cpuset/--pids");
    }
  } catch (const Error& e) {
    outcome.err = std::string("nestbox-run: ") + e.what() + "\n";
    outcome.exit_code = kExitLauncherError;
    return outcome;
  }
  outcome.invocation = std::move(inv);
  return outcome;
}

}  // namespace nestbox::launcher
