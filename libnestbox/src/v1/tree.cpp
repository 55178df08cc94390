// SPDX-License-Identifier: Apache-2.0
// cgroup v1 backend (hybrid and legacy hosts): one Hierarchy per mounted managed
// controller set, plus the controller-less cgroup2 hierarchy on hybrid hosts so
// that membership there follows the v1 one. v2 limit keys are translated.
#include "v1/tree.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "controllers/controllers.hpp"
#include "nestbox/error.hpp"
#include "tree_common.hpp"

namespace nestbox::detail {
namespace {

constexpr std::string_view kPrimaryOrder[] = {"memory", "pids", "cpu", "cpuset", "blkio"};

class V1Tree final : public CgroupTree {
 public:
  V1Tree(const HostLayout& layout, const TreeOptions& options)
      : CgroupTree(ProcFs(options.proc_root)), layout_(layout), options_(options) {
    for (const auto& c : options.v1_controllers) {
      const CgroupMount* m = nullptr;
      for (const auto& mount : layout.mounts)
        if (!mount.unified && std::find(mount.controllers.begin(), mount.controllers.end(), c) != mount.controllers.end())
          m = &mount;
      if (!m) continue;
      auto it = std::find_if(hierarchies_.begin(), hierarchies_.end(),
                             [&](const auto& h) { return h->mount().mountpoint == m->mountpoint; });
      if (it == hierarchies_.end()) {
        hierarchies_.push_back(std::make_unique<Hierarchy>(*m, options.kept_files));
        it = hierarchies_.end() - 1;
      }
      by_controller_[c] = it->get();
    }
    for (auto c : kPrimaryOrder)
      if (auto* h = find(c)) {
        primary_ = h;
        primary_controller_ = c;
        break;
      }
    if (!primary_) throw Error(Errc::Unsupported, "none of the memory, pids, cpu, cpuset, blkio hierarchies is mounted");
    // Primary first so that the first failing step of a multi-hierarchy change
    // is the one that decides, before anything else was touched.
    all_.push_back(primary_);
    for (auto& h : hierarchies_)
      if (h.get() != primary_) all_.push_back(h.get());
    if (layout.layout == Layout::Hybrid && layout.unified()) {
      unified_ = std::make_unique<Hierarchy>(*layout.unified());
      all_.push_back(unified_.get());
    }
  }

  Layout layout() const override { return layout_.layout; }

  std::vector<std::string> controllers() const override {
    std::vector<std::string> out;
    for (const auto& [c, h] : by_controller_) out.push_back(c);
    return out;
  }

  std::optional<CgroupPath> cgroup_of(pid_t pid, std::string_view controller) const override {
    check_pid(pid);
    auto entries = proc().cgroups(pid);
    if (controller.empty()) {
      if (!layout_.unified()) return std::nullopt;
    } else if (!layout_.mount_for(controller)) {
      return std::nullopt;
    }
    for (const auto& e : entries) {
      bool match = controller.empty()
                       ? e.hierarchy_id == 0 && e.controllers.empty()
                       : std::find(e.controllers.begin(), e.controllers.end(), controller) != e.controllers.end();
      if (match) return CgroupPath::parse(e.path);
    }
    return std::nullopt;
  }

  CgroupPath primary_cgroup_of(pid_t pid) const override {
    auto p = cgroup_of(pid, primary_controller_);
    if (!p) throw Error(Errc::NotFound, "pid " + std::to_string(pid) + " is in no " + primary_controller_ + " cgroup");
    return *p;
  }

  bool exists(const CgroupPath& path) const override { return primary_->exists(path); }

  void create(const CgroupPath& path) override {
    if (path.is_root()) throw Error(Errc::Exists, "the root cgroup always exists");
    primary_->open(path.parent());
    if (primary_->exists(path)) throw Error(Errc::Exists, "cgroup " + path.str() + " already exists", EEXIST);
    std::vector<const Hierarchy*> created;
    try {
      for (const auto* h : all_) {
        auto parent = h->open(path.parent());
        if (::mkdirat(parent.fd(), std::string(path.name()).c_str(), 0755) != 0) {
          // Left over in a secondary hierarchy (e.g. made by another tool): adopt it.
          if (errno == EEXIST && h != primary_) continue;
          throw_errno(errno, "create cgroup " + path.str() + " in " + h->mount().mountpoint);
        }
        created.push_back(h);
        if (h->has_controller("cpuset")) inherit_cpuset_v1(parent, h->open(path));
      }
    } catch (...) {
      for (auto it = created.rbegin(); it != created.rend(); ++it) {
        try {
          auto parent = (*it)->open(path.parent());
          ::unlinkat(parent.fd(), std::string(path.name()).c_str(), AT_REMOVEDIR);
        } catch (const Error& e) {
          spdlog::warn("rollback of {} in {} failed: {}", path.str(), (*it)->mount().mountpoint, e.what());
        }
      }
      throw;
    }
  }

  void remove(const CgroupPath& path) override {
    if (path.is_root()) throw Error(Errc::InvalidPath, "refusing to remove the root cgroup");
    auto dir = primary_->open(path);
    if (!dir.children().empty()) throw Error(Errc::Busy, "cgroup " + path.str() + " has child cgroups", EBUSY);
    if (populated(path)) throw Error(Errc::Busy, "cgroup " + path.str() + " still has processes", EBUSY);
    for (const auto* h : all_) {
      auto parent = h->try_open(path.parent());
      if (!parent) continue;
      if (::unlinkat(parent->fd(), std::string(path.name()).c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
        throw_errno(errno, "remove cgroup " + path.str() + " in " + h->mount().mountpoint);
    }
  }

  void attach(const CgroupPath& path, pid_t pid) override {
    check_pid(pid);
    std::vector<CgroupDir> dirs;
    for (const auto* h : all_) dirs.push_back(h->open(path));
    auto before = proc().cgroups(pid);
    std::size_t done = 0;
    try {
      for (; done < dirs.size(); ++done) dirs[done].write("cgroup.procs", std::to_string(pid));
    } catch (const Error& e) {
      // Put the process back where it was in the hierarchies already changed so
      // that it is not left split across cgroups.
      for (std::size_t i = 0; i < done; ++i) {
        auto old = old_path(before, dirs[i].hierarchy());
        if (!old) continue;
        try {
          dirs[i].hierarchy().open(*old).write("cgroup.procs", std::to_string(pid));
        } catch (const Error& re) {
          spdlog::warn("could not move pid {} back to {}: {}", pid, old->str(), re.what());
        }
      }
      if (e.sys_errno() == ESRCH) throw Error(Errc::NotFound, "no process " + std::to_string(pid), ESRCH);
      throw;
    }
  }

  std::vector<pid_t> processes(const CgroupPath& path, bool recursive) const override {
    return collect_procs(*primary_, path, recursive);
  }

  std::vector<std::string> children(const CgroupPath& path) const override { return primary_->open(path).children(); }

  bool populated(const CgroupPath& path) const override {
    primary_->open(path);
    // Fast answer for the common case: the hybrid host's cgroup2 hierarchy keeps a
    // recursive "populated" flag, so a cgroup in use is known from one read. An
    // empty flag proves nothing (a process may sit in one v1 hierarchy only), so
    // that case walks every hierarchy.
    if (unified_)
      if (auto dir = unified_->try_open(path))
        if (auto events = dir->read("cgroup.events")) {
          auto kv = parse_flat_keyed(*events);
          if (auto it = kv.find("populated"); it != kv.end() && it->second != 0) return true;
        }
    for (const auto* h : all_)
      if (has_procs(*h, path)) return true;
    return false;
  }

  void set_limit(const CgroupPath& path, std::string_view key, std::string_view value) override {
    auto normalized = normalize_limit(key, value);
    auto ctl = key.substr(0, key.find('.'));
    auto dir = need(ctl == "io" ? "blkio" : ctl, key).open(path);
    if (key == "memory.max") write_memory_max_v1(dir, parse_size(normalized));
    else if (key == "memory.swap.max") write_swap_max_v1(dir, parse_size(normalized));
    else if (key == "cpu.max") write_cpu_max_v1(dir, parse_cpu_max(normalized));
    else if (key == "cpu.weight") write_cpu_weight_v1(dir, parse_u64(normalized));
    else if (key == "io.max") write_io_max_v1(dir, parse_io_max(normalized));
    else dir.write(key, normalized);  // cpuset.cpus, cpuset.mems, pids.max: same names on v1
  }

  std::optional<std::string> limit(const CgroupPath& path, std::string_view key) const override {
    require_limit_key(key);
    auto ctl = key.substr(0, key.find('.'));
    const Hierarchy* h = find(ctl == "io" ? "blkio" : ctl);
    if (!h) return std::nullopt;
    auto dir = h->open(path);
    if (key == "memory.max" || key == "memory.swap.max") return read_memory_limit_v1(dir, key);
    if (key == "cpu.max") {
      auto value = read_cpu_max_v1(dir);
      return value ? std::optional(format_cpu_max(*value)) : std::nullopt;
    }
    if (key == "cpu.weight") return read_cpu_weight_v1(dir);
    if (key == "io.max") return read_io_max_v1(dir);
    auto text = dir.read(key);  // cpuset.cpus, cpuset.mems, pids.max: same names on v1
    return text ? std::optional(std::string(trim(*text))) : std::nullopt;
  }

  std::vector<std::string> controllers_of(const CgroupPath& path) const override {
    primary_->open(path);
    std::vector<std::string> out;
    for (const auto& [c, h] : by_controller_)
      if (h->exists(path)) out.push_back(c);
    return out;  // by_controller_ is ordered by name
  }

  void kill_all(const CgroupPath& path) override {
    primary_->open(path);
    // The cgroup2 hierarchy of a hybrid host kills everything there at once;
    // the walk then catches what sits in this path of the v1 hierarchies only.
    if (unified_ && !path.is_root())
      if (auto dir = unified_->try_open(path); dir && dir->has("cgroup.kill")) dir->write("cgroup.kill", "1");
    kill_walk(*this, path);
  }

  // The cgroup2 hierarchy of a hybrid host (where every Attach also moves the
  // process) freezes with no controller; the v1 freezer hierarchy is not one
  // this tree manages.
  void set_frozen(const CgroupPath& path, bool frozen) override {
    primary_->open(path);
    if (unified_ && !path.is_root())
      if (auto dir = unified_->try_open(path); dir && dir->has("cgroup.freeze")) {
        dir->write("cgroup.freeze", frozen ? "1" : "0");
        return;
      }
    throw Error(Errc::Unsupported, path.str() + ": freezing needs the cgroup2 hierarchy (cgroup.freeze), which this host lacks");
  }

  std::string read_file(const CgroupPath& path, std::string_view file) const override {
    check_file_name(file);
    auto ctl = file_controller(file);
    const Hierarchy* h = ctl == "cgroup" ? primary_ : find(ctl);
    if (h) {
      if (auto text = h->open(path).read(file)) return *text;
    }
    // v2-only files (cgroup.events, *.pressure) live in the cgroup2 hierarchy on hybrid hosts.
    if (unified_ && unified_->exists(path))
      if (auto text = unified_->open(path).read(file)) return *text;
    if (!h) throw Error(Errc::NotFound, "no mounted hierarchy has controller \"" + ctl + "\" for " + std::string(file));
    throw Error(Errc::NotFound, "no " + std::string(file) + " in cgroup " + path.str(), ENOENT);
  }

  // v1 controllers need no enabling: every hierarchy the cgroup is in is usable.
  std::vector<DelegatedEntry> delegate(const CgroupPath& path, uid_t uid, gid_t gid, Controllers) override {
    std::vector<CgroupDir> dirs;
    for (const auto* h : all_) dirs.push_back(h->open(path));
    std::vector<DelegatedEntry> changed;
    for (const auto& dir : dirs) {
      chown_entry(dir, "", uid, gid, changed);
      if (!dir.hierarchy().unified()) chown_entry(dir, "tasks", uid, gid, changed);
      chown_entry(dir, "cgroup.procs", uid, gid, changed);
    }
    return changed;
  }

  uid_t owner(const CgroupPath& path) const override {
    auto dir = primary_->open(path);
    struct stat st {};
    if (::fstat(dir.fd(), &st) != 0) throw_errno(errno, "stat " + primary_->abs(path));
    return st.st_uid;
  }

  MemoryState memory(const CgroupPath& path) const override {
    return read_memory_v1(need("memory", "memory").open(path));
  }
  std::optional<CpuMax> cpu_max(const CgroupPath& path) const override {
    const auto* h = find("cpu");
    return h ? read_cpu_max_v1(h->open(path)) : std::nullopt;
  }
  std::optional<CpuList> cpuset_cpus(const CgroupPath& path) const override {
    const auto* h = find("cpuset");
    return h ? read_effective_cpus(*h, path) : std::nullopt;
  }
  std::optional<CpuUsage> cpu_usage(const CgroupPath& path) const override {
    if (const auto* h = find("cpuacct")) return read_cpu_usage_v1(h->open(path));
    // Without cpuacct, the cgroup2 side still counts cpu time in cpu.stat.
    if (unified_ && unified_->exists(path)) return read_cpu_usage_v2(unified_->open(path));
    return std::nullopt;
  }
  std::optional<PidsState> pids(const CgroupPath& path) const override {
    const auto* h = find("pids");
    return h ? read_pids(h->open(path)) : std::nullopt;
  }
  std::vector<IoDeviceStats> io_stats(const CgroupPath& path) const override {
    const auto* h = find("blkio");
    return h ? read_io_v1(h->open(path)) : std::vector<IoDeviceStats>{};
  }
  std::optional<std::string> pressure(const CgroupPath& path, std::string_view resource) const override {
    check_pressure_resource(resource);
    if (!unified_) return std::nullopt;
    auto dir = unified_->try_open(path);
    if (!dir) {
      primary_->open(path);  // NotFound if the cgroup does not exist at all
      return std::nullopt;
    }
    return dir->read(std::string(resource) + ".pressure");
  }

 private:
  const Hierarchy* find(std::string_view controller) const {
    auto it = by_controller_.find(std::string(controller));
    return it == by_controller_.end() ? nullptr : it->second;
  }

  const Hierarchy& need(std::string_view controller, std::string_view what) const {
    const auto* h = find(controller);
    if (!h)
      throw Error(Errc::Unsupported,
                  std::string(what) + ": the " + std::string(controller) + " hierarchy is not mounted on this host");
    return *h;
  }

  static std::optional<CgroupPath> old_path(const std::vector<ProcCgroupEntry>& entries, const Hierarchy& h) {
    for (const auto& e : entries) {
      bool match = h.unified() ? e.hierarchy_id == 0 && e.controllers.empty()
                               : !h.mount().controllers.empty() &&
                                     std::find(e.controllers.begin(), e.controllers.end(),
                                               h.mount().controllers.front()) != e.controllers.end();
      if (match) return CgroupPath::try_parse(e.path);
    }
    return std::nullopt;
  }

  HostLayout layout_;
  TreeOptions options_;
  std::vector<std::unique_ptr<Hierarchy>> hierarchies_;
  std::map<std::string, const Hierarchy*, std::less<>> by_controller_;
  std::unique_ptr<Hierarchy> unified_;
  const Hierarchy* primary_ = nullptr;
  std::string primary_controller_;
  std::vector<const Hierarchy*> all_;
};

}  // namespace

std::unique_ptr<CgroupTree> make_v1_tree(const HostLayout& layout, const TreeOptions& options) {
  return std::make_unique<V1Tree>(layout, options);
}

}  // namespace nestbox::detail
