// SPDX-License-Identifier: Apache-2.0
// CgroupSandbox and the mountinfo reading it (and FuseMount/TempDir) rely on.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "testkit_cgroup_cleanup.hpp"
#include "testkit_internal.hpp"

namespace nestbox::testkit {
namespace detail {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '7' && text[i + 2] >= '0' && text[i + 2] <= '7' &&
        text[i + 3] >= '0' && text[i + 3] <= '7') {
      out += static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 + (text[i + 3] - '0'));
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

struct MountLine {
  std::string root;
  std::string mountpoint;
  std::string fstype;
};

std::vector<MountLine> read_mountinfo() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) throw std::runtime_error("testkit: cannot read /proc/self/mountinfo");
  std::vector<MountLine> lines;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mountpoint, word;
    if (!(fields >> id >> parent >> dev >> root >> mountpoint)) continue;
    // Optional fields run up to a lone "-", then fstype.
    while (fields >> word && word != "-") {
    }
    std::string fstype;
    fields >> fstype;
    lines.push_back({unescape_octal(root), unescape_octal(mountpoint), fstype});
  }
  return lines;
}

}  // namespace

std::vector<std::string> mount_points() {
  std::vector<std::string> out;
  for (auto& m : read_mountinfo()) out.push_back(std::move(m.mountpoint));
  return out;
}

std::vector<CgroupMountPoint> cgroup_mounts() {
  std::vector<CgroupMountPoint> out;
  for (auto& m : read_mountinfo()) {
    if (m.fstype != "cgroup" && m.fstype != "cgroup2") continue;
    bool duplicate = false;
    for (const auto& seen : out) duplicate = duplicate || seen.mountpoint == m.mountpoint;
    if (duplicate) continue;
    out.push_back({m.mountpoint, m.root, m.fstype == "cgroup2"});
  }
  return out;
}

std::vector<std::string> cgroup_dirs(const nestbox::CgroupPath& path) {
  std::vector<std::string> dirs;
  for (const auto& m : cgroup_mounts()) {
    auto root = nestbox::CgroupPath::try_parse(m.root);
    if (!root) continue;
    auto rel = path.relative_to(*root);
    if (!rel) continue;
    std::string dir = m.mountpoint + (rel->is_root() ? "" : rel->str());
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) dirs.push_back(dir);
  }
  return dirs;
}

}  // namespace detail

std::optional<std::string> missing_cgroup_write() {
  if (auto reason = missing_root()) return reason;
  // Probe with a throw-away directory at the top of each hierarchy: what the
  // sandbox itself will need.
  std::string name = "nestbox-test-probe-" + std::to_string(::getpid());
  std::string last_error = "no cgroup hierarchy is mounted";
  for (const auto& m : detail::cgroup_mounts()) {
    if (m.root != "/") continue;
    std::string dir = m.mountpoint + "/" + name;
    if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) {
      ::rmdir(dir.c_str());
      return std::nullopt;
    }
    last_error = "mkdir " + dir + ": " + std::strerror(errno);
  }
  return "needs a writable cgroup hierarchy: " + last_error;
}

// ---- CgroupSandbox -------------------------------------------------------------

namespace {
std::atomic<unsigned> g_sandbox_counter{0};
std::once_flag g_stale_swept;

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}
}  // namespace

namespace detail {

void remove_stale_sandboxes(const nestbox::CgroupTree& tree) {
  const std::string_view prefix = kSandboxPrefix + 1;  // without the '/'
  for (const auto& name : tree.children(nestbox::CgroupPath())) {
    std::string_view rest(name);
    if (!rest.starts_with(prefix)) continue;
    rest.remove_prefix(prefix.size());
    const auto dash = rest.find('-');
    if (dash == std::string_view::npos || !all_digits(rest.substr(0, dash)) || !all_digits(rest.substr(dash + 1)))
      continue;
    const pid_t owner = static_cast<pid_t>(std::stol(std::string(rest.substr(0, dash))));
    if (owner == ::getpid() || ::kill(owner, 0) == 0 || errno != ESRCH) continue;
    const std::string path = "/" + name;
    if (cleanup_sandbox(path.c_str(), false))
      std::fprintf(stderr, "testkit: removed cgroup sandbox %s left by test process %d, which is gone\n",
                   path.c_str(), static_cast<int>(owner));
  }
}

}  // namespace detail

CgroupSandbox::CgroupSandbox() : tree_(nestbox::open_host_cgroup_tree()) {
  std::call_once(g_stale_swept, [&] { detail::remove_stale_sandboxes(*tree_); });
  std::string name = std::string(detail::kSandboxPrefix + 1) + std::to_string(::getpid()) + "-" +
                     std::to_string(g_sandbox_counter.fetch_add(1));
  root_ = nestbox::CgroupPath().child(name);
  // Registered before creation so an interruption half-way still cleans up.
  detail::register_sandbox(root_.str());
  try {
    tree_->create(root_);
  } catch (...) {
    detail::cleanup_sandbox(root_.str().c_str(), false);
    detail::unregister_sandbox(root_.str());
    throw;
  }
}

CgroupSandbox::~CgroupSandbox() {
  bool ok = detail::cleanup_sandbox(root_.str().c_str(), false);
  detail::unregister_sandbox(root_.str());
  if (!ok) {
    std::fprintf(stderr, "testkit: could not fully remove cgroup sandbox %s\n", root_.str().c_str());
    ADD_FAILURE() << "cgroup sandbox " << root_.str() << " could not be removed";
  }
}

nestbox::CgroupPath CgroupSandbox::make(std::string_view rel) {
  std::string text(rel);
  if (text.empty() || text[0] != '/') text.insert(text.begin(), '/');
  nestbox::CgroupPath relative = nestbox::CgroupPath::parse(text);
  nestbox::CgroupPath path = root_;
  for (const auto& component : relative.components()) {
    path = path.child(component);
    if (!tree_->exists(path)) tree_->create(path);
  }
  return path;
}

void CgroupSandbox::clear() {
  if (!detail::cleanup_sandbox(root_.str().c_str(), true)) {
    throw std::runtime_error("testkit: could not clear cgroup sandbox " + root_.str());
  }
}

}  // namespace nestbox::testkit
