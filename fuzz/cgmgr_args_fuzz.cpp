// SPDX-License-Identifier: Apache-2.0
// Input: one nestbox-cgmgr D-Bus call as an unprivileged (or root) caller sends
// it: method, caller, path, limits and the method's other argument. The call
// goes through the same Manager the D-Bus service dispatches to, over a
// fixture cgroup v2 tree, so every argument check and authorization decision
// runs as in production. Delegate, which is root-only and rewrites the state
// file, is checked through its Authorizer decision (what Manager::delegate
// runs before any change).
//
// Format: sections (see fuzz_support.hpp) "@ call" (Create, SetLimits,
// GetValue, Delegate, Attach, AttachPidfd, GetPidCgroup, GetPidfdCgroup,
// ListChildren, GetProcesses, Remove, RemoveOnEmpty, ListDelegations), "@ caller" ("<uid> [foreign]"), "@ path",
// "@ limits" (KEY=VALUE lines) and "@ arg" (file name, pid, "uid gid", bool,
// or for the pidfd calls "self", "file" or an fd number).
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "fuzz_support.hpp"
#include "manager.hpp"
#include "nestbox/error.hpp"
#include "nestbox/layout.hpp"
#include "nestbox/parse.hpp"
#include "nestbox/unique_fd.hpp"
#include "policy.hpp"

namespace {

using namespace nestbox;
using namespace nestbox::cgmgr;

constexpr uid_t kUser = 1000;

// The policy of cgmgr/cgmgr.toml.example, trimmed: ceilings for uid 1000.
constexpr const char* kPolicy = R"(
[defaults]
max_cgroups = 8
max_depth = 3
[user.1000]
limits.memory.max = "1G"
limits.cpu.max = "200000 100000"
limits.cpuset.cpus = "0-1"
limits.pids.max = 100
)";

AccountResolver fake_accounts() {
  AccountResolver r;
  r.user_id = [](const std::string&) -> std::optional<uid_t> { return std::nullopt; };
  r.group_id = [](const std::string&) -> std::optional<gid_t> { return std::nullopt; };
  r.groups_of = [](uid_t uid) { return std::vector<gid_t>{uid}; };
  r.primary_gid = [](uid_t uid) -> std::optional<gid_t> { return uid; };
  return r;
}

// Files every cgroup of the fixture holds, rewritten after each call so that
// every input starts from the same tree.
const std::map<std::string, std::string> kFiles = {
    {"cgroup.controllers", "cpuset cpu io memory pids\n"},
    {"cgroup.subtree_control", "cpuset cpu io memory pids\n"},
    {"cgroup.procs", ""},
    {"cgroup.events", "populated 0\nfrozen 0\n"},
    {"memory.max", "max\n"},
    {"memory.swap.max", "max\n"},
    {"cpu.max", "max 100000\n"},
    {"cpu.weight", "100\n"},
    {"cpuset.cpus", "\n"},
    {"cpuset.mems", "\n"},
    {"pids.max", "max\n"},
    {"io.max", ""},
};
const std::vector<std::string> kCgroups = {"cg", "cg/nb", "cg/nb/user-1000", "cg/nb/user-1000/job", "cg/nb/other"};

struct Fixture {
  fuzz::ScratchDir dir;
  std::unique_ptr<CgroupTree> tree;
  std::unique_ptr<Manager> manager;
  const pid_t self = ::getpid();

  Fixture() {
    spdlog::set_level(spdlog::level::off);
    for (const auto& cg : kCgroups) dir.mkdir(cg);
    reset();
    // The caller's own process (pid 0 means "me"), a process of uid 1000 in its job.
    const std::string proc = "proc/" + std::to_string(self);
    dir.mkdir(proc);
    dir.write(proc + "/status", "Name:\tfuzz\nState:\tR (running)\nPid:\t" + std::to_string(self) +
                                    "\nPPid:\t1\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n"
                                    "NSpid:\t" + std::to_string(self) + "\n");
    dir.write(proc + "/cgroup", "0::/nb/user-1000/job\n");
    auto layout = HostLayout::parse("41 20 0:41 / " + dir.abs("cg") + " rw - cgroup2 cgroup2 rw\n",
                                    [](const std::string&) { return kFiles.at("cgroup.controllers"); });
    TreeOptions opts;
    opts.proc_root = dir.abs("proc");
    opts.delegate_file = dir.abs("no-delegate-file");
    tree = open_cgroup_tree(layout, opts);
    const auto accounts = fake_accounts();
    manager = std::make_unique<Manager>(*tree, Authorizer(CgroupPath::parse("/nb")),
                                        parse_policy(kPolicy, "policy", accounts),
                                        StateStore(dir.abs("state.json")), accounts);
    manager->delegate(Caller{0, 0, self}, "/nb/user-1000", kUser, kUser);
  }

  void reset() const {
    for (const auto& cg : kCgroups)
      for (const auto& [file, content] : kFiles) dir.write(cg + "/" + file, content);
  }
};

bool as_bool(std::string_view text) { return trim(text) == "true" || trim(text) == "1"; }

std::uint32_t as_u32(std::string_view text) {
  try {
    return static_cast<std::uint32_t>(parse_u64(text));
  } catch (const Error&) {
    return 0;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fx;
  std::map<std::string_view, std::string_view> in;
  for (const auto& [name, content] : fuzz::sections(fuzz::as_text(data, size))) in.emplace(trim(name), content);
  auto get = [&](std::string_view name) {
    auto it = in.find(name);
    return it == in.end() ? std::string_view() : it->second;
  };
  // D-Bus strings carry no trailing newline; the section's own line end is not part of the value.
  auto value = [&](std::string_view name) {
    auto v = get(name);
    if (v.ends_with('\n')) v.remove_suffix(1);
    return std::string(v);
  };

  Caller caller;
  auto who = split_ws(get("caller"));
  caller.uid = who.empty() ? kUser : as_u32(who[0]);
  caller.gid = caller.uid;
  caller.pid = fx.self;
  caller.foreign_pid_ns = who.size() > 1 && who[1] == "foreign";

  Manager::Limits limits;
  for (auto line : split_lines(get("limits"))) {
    auto eq = line.find('=');
    if (eq != line.npos) limits[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  const std::string call(trim(get("call")));
  const std::string path = value("path");
  const std::string arg = value("arg");
  Manager& m = *fx.manager;
  bool mutated = false;
  try {
    if (call == "Create") {
      const std::string made = m.create(caller, path, limits);
      NESTBOX_FUZZ_CHECK(CgroupPath::try_parse(made).has_value());
      mutated = true;
      fx.tree->remove(CgroupPath::parse(made));
    } else if (call == "SetLimits") {
      mutated = true;
      m.set_limits(caller, path, limits);
    } else if (call == "GetValue") {
      (void)m.get_value(caller, path, arg);
    } else if (call == "Delegate") {
      auto ids = split_ws(arg);
      const uid_t uid = ids.empty() ? kUser : as_u32(ids[0]);
      Authorizer::require_root(caller, "Delegate");
      std::vector<Grant> grants = m.delegations(Caller{0, 0, fx.self});
      m.authorizer().authorize_delegate(caller, CgroupPath::parse(path), uid, grants);
    } else if (call == "Attach") {
      mutated = true;
      m.attach(caller, path, as_u32(arg));
    } else if (call == "AttachPidfd" || call == "GetPidfdCgroup") {
      // The fd a caller passed: a pidfd of the fixture's own process, another
      // kind of fd, or a number that names no fd of the manager.
      nestbox::UniqueFd fd;
      int raw = -1;
      if (arg == "self") {
        fd = nestbox::UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, fx.self, 0)));
        raw = fd.get();
      } else if (arg == "file") {
        fd = nestbox::UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        raw = fd.get();
      } else {
        raw = static_cast<int>(as_u32(arg));
      }
      mutated = call == "AttachPidfd";
      if (mutated) m.attach_pidfd(caller, path, raw);
      else (void)m.pidfd_cgroup(caller, raw);
    } else if (call == "GetPidCgroup") {
      (void)m.pid_cgroup(caller, as_u32(arg));
    } else if (call == "ListChildren") {
      (void)m.list_children(caller, path);
    } else if (call == "GetProcesses") {
      (void)m.processes(caller, path, as_bool(arg));
    } else if (call == "Remove") {
      mutated = true;
      m.remove(caller, path, as_bool(arg));
    } else if (call == "RemoveOnEmpty") {
      m.remove_on_empty(caller, path, as_bool(arg));
      m.remove_on_empty(Caller{0, 0, fx.self}, path, false);  // the next input starts without marks
    } else if (call == "ListDelegations") {
      for (const Grant& g : m.delegations(caller)) NESTBOX_FUZZ_CHECK(caller.is_root() || g.uid == caller.uid);
    }
  } catch (const Error&) {
    // Refusals are Errors (they become org.nestbox.Error.* replies).
  }
  if (mutated) fx.reset();
  // Nothing a call does may remove the fixture's cgroups or the grant.
  NESTBOX_FUZZ_CHECK(fx.tree->exists(CgroupPath::parse("/nb/user-1000/job")));
  NESTBOX_FUZZ_CHECK(m.delegations(Caller{0, 0, fx.self}).size() == 1);
  return 0;
}
