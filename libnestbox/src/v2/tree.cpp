// SPDX-License-Identifier: Apache-2.0
// cgroup v2 backend: one hierarchy, v2 file names used as they are.
#include "v2/tree.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <mutex>

#include "controllers/controllers.hpp"
#include "nestbox/error.hpp"
#include "tree_common.hpp"

namespace nestbox::detail {
namespace {

constexpr std::array<std::string_view, 5> kManaged = {"cpu", "cpuset", "io", "memory", "pids"};

class V2Tree final : public CgroupTree {
 public:
  V2Tree(const HostLayout& layout, const TreeOptions& options)
      : CgroupTree(ProcFs(options.proc_root)), options_(options), h_(require_unified(layout), options.kept_files) {}

  Layout layout() const override { return Layout::Unified; }

  std::vector<std::string> controllers() const override {
    std::vector<std::string> out;
    for (auto c : kManaged)
      if (h_.has_controller(c)) out.emplace_back(c);
    return out;
  }

  std::optional<CgroupPath> cgroup_of(pid_t pid, std::string_view /*controller*/) const override {
    check_pid(pid);
    for (const auto& e : proc().cgroups(pid))
      if (e.hierarchy_id == 0 && e.controllers.empty()) return CgroupPath::parse(e.path);
    return std::nullopt;
  }

  CgroupPath primary_cgroup_of(pid_t pid) const override {
    auto p = cgroup_of(pid, "");
    if (!p) throw Error(Errc::NotFound, "pid " + std::to_string(pid) + " has no cgroup v2 membership");
    return *p;
  }

  bool exists(const CgroupPath& path) const override { return h_.exists(path); }

  void create(const CgroupPath& path) override {
    if (path.is_root()) throw Error(Errc::Exists, "the root cgroup always exists");
    auto parent = h_.open(path.parent());
    if (h_.exists(path)) throw Error(Errc::Exists, "cgroup " + path.str() + " already exists", EEXIST);
    if (::mkdirat(parent.fd(), std::string(path.name()).c_str(), 0755) != 0)
      throw_errno(errno, "create cgroup " + path.str());
  }

  void remove(const CgroupPath& path) override {
    if (path.is_root()) throw Error(Errc::InvalidPath, "refusing to remove the root cgroup");
    auto dir = h_.open(path);
    if (!dir.children().empty()) throw Error(Errc::Busy, "cgroup " + path.str() + " has child cgroups", EBUSY);
    if (populated(path)) throw Error(Errc::Busy, "cgroup " + path.str() + " still has processes", EBUSY);
    auto parent = h_.open(path.parent());
    if (::unlinkat(parent.fd(), std::string(path.name()).c_str(), AT_REMOVEDIR) != 0)
      throw_errno(errno, "remove cgroup " + path.str());
  }

  void attach(const CgroupPath& path, pid_t pid) override {
    check_pid(pid);
    auto dir = h_.open(path);
    try {
      dir.write("cgroup.procs", std::to_string(pid));
    } catch (const Error& e) {
      if (e.sys_errno() == ESRCH) throw Error(Errc::NotFound, "no process " + std::to_string(pid), ESRCH);
      throw;
    }
  }

  std::vector<pid_t> processes(const CgroupPath& path, bool recursive) const override {
    return collect_procs(h_, path, recursive);
  }

  std::vector<std::string> children(const CgroupPath& path) const override { return h_.open(path).children(); }

  bool populated(const CgroupPath& path) const override {
    auto dir = h_.open(path);
    if (auto events = dir.read("cgroup.events")) {
      auto kv = parse_flat_keyed(*events);
      if (auto it = kv.find("populated"); it != kv.end()) return it->second != 0;
    }
    // The root has no cgroup.events.
    return !collect_procs(h_, path, true).empty();
  }

  void set_limit(const CgroupPath& path, std::string_view key, std::string_view value) override {
    auto normalized = normalize_limit(key, value);
    auto dir = h_.open(path);
    if (!dir.has(key)) {
      // Controllers are enabled only when a limit needs them (as systemd does), so
      // that a cgroup without limits below it may still hold processes next to
      // child cgroups.
      if (path.is_root()) throw Error(Errc::InvalidPath, std::string(key) + ": the root cgroup has no limits");
      enable_down_to(path.parent(), file_controller(key));
    }
    if (!dir.has(key))
      throw Error(Errc::Unsupported, std::string(key) + ": the " + file_controller(key) +
                                         " controller is not enabled for cgroup " + path.str());
    dir.write(key, normalized);
  }

  std::optional<std::string> limit(const CgroupPath& path, std::string_view key) const override {
    require_limit_key(key);
    auto text = h_.open(path).read(key);
    return text ? std::optional(std::string(trim(*text))) : std::nullopt;
  }

  std::vector<std::string> controllers_of(const CgroupPath& path) const override {
    auto dir = h_.open(path);
    if (path.is_root()) return controllers();
    std::vector<std::string> out;
    const std::string text = dir.read_required("cgroup.controllers");  // split_ws views into it
    for (auto c : split_ws(text)) out.emplace_back(c);
    std::sort(out.begin(), out.end());
    return out;
  }

  void kill_all(const CgroupPath& path) override {
    auto dir = h_.open(path);
    if (!path.is_root() && dir.has("cgroup.kill")) dir.write("cgroup.kill", "1");
    kill_walk(*this, path);
  }

  void set_frozen(const CgroupPath& path, bool frozen) override {
    auto dir = h_.open(path);
    if (path.is_root() || !dir.has("cgroup.freeze"))
      throw Error(Errc::Unsupported, path.str() + ": no cgroup.freeze (kernel older than 5.2, or the root cgroup)");
    dir.write("cgroup.freeze", frozen ? "1" : "0");
  }

  std::string read_file(const CgroupPath& path, std::string_view file) const override {
    check_file_name(file);
    return h_.open(path).read_required(file);
  }

  std::vector<DelegatedEntry> delegate(const CgroupPath& path, uid_t uid, gid_t gid,
                                       Controllers controllers) override {
    auto dir = h_.open(path);
    // The delegatee enables controllers in its own cgroup.subtree_control; they
    // must first be available to it, i.e. enabled in every ancestor.
    if (!path.is_root() && controllers == Controllers::EnableInAncestors) {
      for (auto c : kManaged) {
        if (!h_.has_controller(c)) continue;
        try {
          enable_down_to(path.parent(), c);
        } catch (const Error& e) {
          spdlog::warn("delegating {}: {} stays unavailable: {}", path.str(), c, e.what());
        }
      }
    }
    std::vector<DelegatedEntry> changed;
    chown_entry(dir, "", uid, gid, changed);
    std::vector<std::string> files = {"cgroup.procs", "cgroup.threads", "cgroup.subtree_control"};
    for (auto& f : read_delegate_list(options_.delegate_file))
      if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(f);
    for (const auto& f : files) chown_entry(dir, f, uid, gid, changed);
    return changed;
  }

  uid_t owner(const CgroupPath& path) const override {
    auto dir = h_.open(path);
    struct stat st {};
    if (::fstat(dir.fd(), &st) != 0) throw_errno(errno, "stat " + h_.abs(path));
    return st.st_uid;
  }

  MemoryState memory(const CgroupPath& path) const override { return read_memory_v2(h_.open(path)); }
  std::optional<CpuMax> cpu_max(const CgroupPath& path) const override { return read_cpu_max_v2(h_.open(path)); }
  std::optional<CpuList> cpuset_cpus(const CgroupPath& path) const override {
    if (!h_.has_controller("cpuset")) return std::nullopt;
    return read_effective_cpus(h_, path);
  }
  std::optional<CpuUsage> cpu_usage(const CgroupPath& path) const override {
    return read_cpu_usage_v2(h_.open(path));
  }
  std::optional<PidsState> pids(const CgroupPath& path) const override { return read_pids(h_.open(path)); }
  std::vector<IoDeviceStats> io_stats(const CgroupPath& path) const override { return read_io_v2(h_.open(path)); }
  std::optional<std::string> pressure(const CgroupPath& path, std::string_view resource) const override {
    check_pressure_resource(resource);
    return h_.open(path).read(std::string(resource) + ".pressure");
  }

 private:
  static const CgroupMount& require_unified(const HostLayout& layout) {
    const auto* m = layout.unified();
    if (!m) throw Error(Errc::Unsupported, "no cgroup2 hierarchy is mounted");
    return *m;
  }

  // Enables `controller` in cgroup.subtree_control of every cgroup from the root
  // down to `last`. A non-root cgroup that holds processes itself is refused with
  // Busy: enabling a domain controller there fails (no-internal-process rule), and
  // enabling even a threaded one (cpu, cpuset, pids) would turn it into a thread
  // root whose new children refuse processes (EOPNOTSUPP).
  void enable_down_to(const CgroupPath& last, std::string_view controller) const {
    if (!h_.has_controller(controller))
      throw Error(Errc::Unsupported, "the cgroup2 hierarchy has no " + std::string(controller) + " controller");
    // One enabler at a time: the kernel shows a controller in subtree_control
    // before it has finished creating its files in the children, so a thread that
    // saw another's "+pids" and moved on could still find no pids.max.
    std::lock_guard lock(enable_mutex_);
    CgroupPath at;
    std::vector<CgroupPath> chain{at};
    for (const auto& name : last.components()) chain.push_back(at = at.child(name));
    for (const auto& cg : chain) {
      auto dir = h_.open(cg);
      const auto enabled_text = dir.read("cgroup.subtree_control").value_or("");
      auto enabled = split_ws(enabled_text);
      if (std::find(enabled.begin(), enabled.end(), controller) != enabled.end()) continue;
      if (!cg.is_root() && !trim(dir.read("cgroup.procs").value_or("")).empty())
        throw Error(Errc::Busy,
                    "cannot enable the " + std::string(controller) + " controller below " + cg.str() +
                        ": it holds processes itself (cgroup v2 allows processes only in leaves once "
                        "controllers are enabled); move them into a child cgroup first",
                    EBUSY);
      dir.write("cgroup.subtree_control", "+" + std::string(controller));
    }
  }

  TreeOptions options_;
  Hierarchy h_;
  mutable std::mutex enable_mutex_;
};

}  // namespace

std::unique_ptr<CgroupTree> make_v2_tree(const HostLayout& layout, const TreeOptions& options) {
  return std::make_unique<V2Tree>(layout, options);
}

}  // namespace nestbox::detail
