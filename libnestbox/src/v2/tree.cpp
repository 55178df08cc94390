// cgroup v2 backend: one hierarchy, v2 file names used as they are.
#include "v2/tree.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "controllers/controllers.hpp"
#include "nestbox/error.hpp"
#include "tree_common.hpp"

namespace nestbox::detail {
namespace {

constexpr std::array<std::string_view, 5> kManaged = {"cpu", "cpuset", "io", "memory", "pids"};

class V2Tree final : public CgroupTree {
 public:
  V2Tree(const HostLayout& layout, const TreeOptions& options)
      : CgroupTree(ProcFs(options.proc_root)), options_(options), h_(require_unified(layout)) {}

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
    enable_controllers(parent);
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
    if (!dir.has(key))
      throw Error(Errc::Unsupported, std::string(key) + ": the " + file_controller(key) +
                                         " controller is not enabled for cgroup " + path.str());
    dir.write(key, normalized);
  }

  std::string read_file(const CgroupPath& path, std::string_view file) const override {
    check_file_name(file);
    return h_.open(path).read_required(file);
  }

  std::vector<DelegatedEntry> delegate(const CgroupPath& path, uid_t uid, gid_t gid) override {
    auto dir = h_.open(path);
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

  // The no-internal-process rule (EBUSY) or a parent we do not own may refuse
  // this; the cgroup is still usable, just without those controllers.
  //
  // A parent that holds processes itself is left alone: enabling even only the
  // threaded controllers (cpu, cpuset, pids) there would make it a thread root,
  // and every new child would then be an invalid domain that refuses processes
  // (EOPNOTSUPP). That is exactly the state of a freshly delegated systemd unit
  // cgroup whose daemon has not yet moved into its leaf.
  void enable_controllers(const CgroupDir& parent) const {
    if (!parent.path().is_root() && !trim(parent.read("cgroup.procs").value_or("")).empty()) {
      spdlog::debug("not enabling controllers below {}: it holds processes", parent.path().str());
      return;
    }
    const auto available_text = parent.read("cgroup.controllers").value_or("");
    auto available = split_ws(available_text);
    auto subtree_text = parent.read("cgroup.subtree_control").value_or("");
    auto enabled = split_ws(subtree_text);
    for (auto c : kManaged) {
      bool avail = std::find(available.begin(), available.end(), c) != available.end();
      bool on = std::find(enabled.begin(), enabled.end(), c) != enabled.end();
      if (!avail || on) continue;
      try {
        parent.write("cgroup.subtree_control", "+" + std::string(c));
      } catch (const Error& e) {
        spdlog::debug("could not enable {} below {}: {}", c, parent.path().str(), e.what());
      }
    }
  }

  TreeOptions options_;
  Hierarchy h_;
};

}  // namespace

std::unique_ptr<CgroupTree> make_v2_tree(const HostLayout& layout, const TreeOptions& options) {
  return std::make_unique<V2Tree>(layout, options);
}

}  // namespace nestbox::detail
