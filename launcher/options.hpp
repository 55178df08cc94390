// SPDX-License-Identifier: Apache-2.0
// Command line of nestbox-run: `nestbox-run [options] [--] CMD [ARGS...]`,
// `nestbox-run list [--json]`, `nestbox-run exec [options] NAME [--] CMD [ARGS...]`.
// Parsing never touches the system; validation that needs the filesystem (rootfs,
// bind sources) happens when the container is prepared.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bind_spec.hpp"

namespace nestbox::launcher {

enum class NetMode { None, Host };

struct RunOptions {
  std::string name;                     // container name; generated when empty
  std::optional<std::string> rootfs;    // nullopt: the host's root, read-only
  std::optional<std::string> memory, swap, cpus, cpuset, pids;
  std::string hostname;                 // defaults to the name
  std::vector<BindSpec> binds;
  NetMode net = NetMode::None;
  std::vector<std::pair<std::string, std::string>> env;
  std::string workdir;                  // empty: "/" (or the caller's cwd if it exists inside)
  bool tty = false;
  std::string fs_mount = "/var/lib/nestbox/fs";
  // nestbox-fs --container-tree mountpoint, used when something is mounted
  // there (a warning if it was asked for and is not); empty: not used.
  std::string fs_tree = "/var/lib/nestbox/tree";
  bool fs_tree_asked = false;           // --fs-tree was given
  bool no_fs = false;                   // do not bind nestbox-fs files
  bool no_cgroup = false;               // do not ask nestbox-cgmgr (no limits possible)
  std::string bus;                      // empty: the system bus (DBUS_SYSTEM_BUS_ADDRESS honoured)
  std::vector<std::string> command;
  // Limits in cgroup v2 names, normalized ("memory.max" -> "134217728").
  std::map<std::string, std::string> limits;
};

struct ListOptions {
  bool json = false;
};

struct ExecOptions {
  std::string name;
  std::vector<std::pair<std::string, std::string>> env;
  std::string workdir;
  bool tty = false;
  std::string bus;
  std::vector<std::string> command;
};

enum class Mode { Run, List, Exec };

struct Invocation {
  Mode mode = Mode::Run;
  RunOptions run;
  ListOptions list;
  ExecOptions exec;
};

// Result of parsing: either an invocation, or something to print and an exit code
// (--help/--version: 0 and text on stdout; errors: 125 and a message on stderr).
struct ParseOutcome {
  std::optional<Invocation> invocation;
  int exit_code = 0;
  std::string out;
  std::string err;
};

ParseOutcome parse_command_line(const std::vector<std::string>& args);

// Validation helpers (throw Error(InvalidValue) with a message naming the option).
void validate_name(const std::string& name);
void validate_hostname(const std::string& hostname);
std::pair<std::string, std::string> parse_env_assignment(const std::string& text);
// "1.5" -> "150000 100000" (cpu.max with the default 100ms period).
std::string cpus_to_cpu_max(const std::string& cpus);
// Builds the cgroup limits from --memory/--swap/--cpus/--cpuset/--pids.
std::map<std::string, std::string> compute_limits(const RunOptions& options);

}  // namespace nestbox::launcher
