// SPDX-License-Identifier: Apache-2.0
#include "nestbox/proc.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "nestbox/error.hpp"
#include "nestbox/parse.hpp"
#include "nestbox/safe_io.hpp"

namespace nestbox {
namespace {

std::vector<pid_t> parse_pid_list(std::string_view text) {
  std::vector<pid_t> out;
  for (auto tok : split_ws(text)) out.push_back(static_cast<pid_t>(parse_u64(tok)));
  return out;
}

std::string read_proc_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    if (err == ENOENT || err == ESRCH) throw Error(Errc::NotFound, "process gone: " + path, err);
    throw_errno(err, "open " + path);
  }
  try {
    return read_fd(fd.get());
  } catch (const Error& e) {
    // Reading a dead process's files fails with ESRCH.
    if (e.sys_errno() == ESRCH) throw Error(Errc::NotFound, "process gone: " + path, ESRCH);
    throw;
  }
}

}  // namespace

std::vector<ProcCgroupEntry> parse_proc_cgroup(std::string_view text) {
  std::vector<ProcCgroupEntry> out;
  for (auto line : split_lines(text)) {
    if (trim(line).empty()) continue;
    auto c1 = line.find(':');
    auto c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos)
      throw Error(Errc::InvalidValue, "malformed /proc/<pid>/cgroup line: \"" + std::string(line) + "\"");
    ProcCgroupEntry entry;
    entry.hierarchy_id = static_cast<unsigned>(parse_u64(line.substr(0, c1)));
    auto ctrls = line.substr(c1 + 1, c2 - c1 - 1);
    while (!ctrls.empty()) {
      auto comma = ctrls.find(',');
      if (!ctrls.substr(0, comma).empty()) entry.controllers.emplace_back(ctrls.substr(0, comma));
      if (comma == std::string_view::npos) break;
      ctrls.remove_prefix(comma + 1);
    }
    // The path is everything after the second colon (it may itself contain ':').
    entry.path = std::string(line.substr(c2 + 1));
    if (entry.path.empty() || entry.path.front() != '/')
      throw Error(Errc::InvalidValue, "malformed /proc/<pid>/cgroup path: \"" + std::string(line) + "\"");
    out.push_back(std::move(entry));
  }
  return out;
}

ProcStatus parse_proc_status(std::string_view text) {
  ProcStatus st;
  bool have_pid = false, have_uid = false;
  for (auto line : split_lines(text)) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto key = line.substr(0, colon);
    auto value = trim(line.substr(colon + 1));
    auto ids = [&] {
      auto parts = split_ws(value);
      if (parts.size() < 2) throw Error(Errc::InvalidValue, "malformed status line: \"" + std::string(line) + "\"");
      return std::pair{static_cast<unsigned>(parse_u64(parts[0])), static_cast<unsigned>(parse_u64(parts[1]))};
    };
    if (key == "Pid") {
      st.pid = static_cast<pid_t>(parse_u64(value));
      have_pid = true;
    } else if (key == "PPid") {
      st.ppid = static_cast<pid_t>(parse_u64(value));
    } else if (key == "Uid") {
      std::tie(st.ruid, st.euid) = ids();
      have_uid = true;
    } else if (key == "Gid") {
      std::tie(st.rgid, st.egid) = ids();
    } else if (key == "State") {
      if (value.empty()) throw Error(Errc::InvalidValue, "empty State in status");
      st.state = value.front();
    } else if (key == "NSpid") {
      st.nspid = parse_pid_list(value);
    }
  }
  if (!have_pid || !have_uid) throw Error(Errc::InvalidValue, "status lacks Pid or Uid lines");
  return st;
}

ProcFs::ProcFs(std::string root) : root_(std::move(root)) {}

std::string ProcFs::path(pid_t pid, std::string_view file) const {
  if (pid <= 0) throw Error(Errc::InvalidValue, "invalid pid " + std::to_string(pid));
  return root_ + "/" + std::to_string(pid) + "/" + std::string(file);
}

std::vector<ProcCgroupEntry> ProcFs::cgroups(pid_t pid) const {
  return parse_proc_cgroup(read_proc_file(path(pid, "cgroup")));
}

std::optional<TimensOffsets> parse_timens_offsets(std::string_view text) {
  std::optional<double> monotonic, boottime;
  for (auto line : split_lines(text)) {
    auto f = split_ws(line);
    if (f.size() != 3) return std::nullopt;
    std::int64_t sec = 0, nsec = 0;
    try {
      sec = parse_i64(f[1]);
      nsec = parse_i64(f[2]);
    } catch (const Error&) {
      return std::nullopt;
    }
    if (nsec < 0 || nsec >= 1'000'000'000) return std::nullopt;
    const double value = static_cast<double>(sec) + static_cast<double>(nsec) / 1e9;
    if (f[0] == "monotonic") monotonic = value;
    else if (f[0] == "boottime") boottime = value;
  }
  if (!monotonic || !boottime) return std::nullopt;
  return TimensOffsets{*monotonic, *boottime};
}

ProcStatus ProcFs::status(pid_t pid) const { return parse_proc_status(read_proc_file(path(pid, "status"))); }

std::uint64_t ProcFs::start_time_ticks(pid_t pid) const {
  auto text = read_proc_file(path(pid, "stat"));
  // comm (field 2) may contain spaces and ')' - fields after the last ')' are safe.
  auto close = text.rfind(')');
  if (close == std::string::npos) throw Error(Errc::InvalidValue, "malformed stat of pid " + std::to_string(pid));
  auto fields = split_ws(std::string_view(text).substr(close + 1));
  // fields[0] is field 3 (state), so field 22 is fields[19].
  if (fields.size() < 20) throw Error(Errc::InvalidValue, "short stat of pid " + std::to_string(pid));
  return parse_u64(fields[19]);
}

std::optional<ino_t> parse_ns_link(std::string_view target, std::string_view ns) {
  // "pid:[4026531836]": the number is the inode of the namespace file.
  if (target.size() < ns.size() + 4 || target.substr(0, ns.size()) != ns) return std::nullopt;
  target.remove_prefix(ns.size());
  if (target.substr(0, 2) != ":[" || target.back() != ']') return std::nullopt;
  target = target.substr(2, target.size() - 3);
  if (target.empty() || target.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  try {
    return static_cast<ino_t>(parse_u64(target));
  } catch (const Error&) {
    return std::nullopt;
  }
}

ino_t ProcFs::ns_inode(pid_t pid, std::string_view ns) const {
  if (ns.empty() || ns.find('/') != std::string_view::npos || ns == "." || ns == "..")
    throw Error(Errc::InvalidValue, "invalid namespace name \"" + std::string(ns) + "\"");
  auto p = path(pid, "ns/" + std::string(ns));
  auto gone_or_throw = [&](int err, const char* what) {
    if (err == ENOENT || err == ESRCH) throw Error(Errc::NotFound, "process gone: " + p, err);
    throw_errno(err, what + p);
  };
  // The link's text names the inode; reading it is much cheaper than stat(),
  // which makes procfs open the namespace file. Anything else (a fixture's
  // ordinary symlink) is followed.
  char target[64];
  ssize_t n = ::readlink(p.c_str(), target, sizeof target);
  if (n < 0 && errno != EINVAL) gone_or_throw(errno, "readlink ");
  if (n >= 0 && static_cast<std::size_t>(n) < sizeof target) {
    if (auto ino = parse_ns_link(std::string_view(target, static_cast<std::size_t>(n)), ns)) return *ino;
  }
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) gone_or_throw(errno, "stat ");
  return st.st_ino;
}

pid_t ProcFs::pidns_init(pid_t pid) const {
  const ino_t ns = ns_inode(pid, "pid");
  pid_t cur = pid;
  // Bounded: a parent chain longer than this is a loop in a broken fixture.
  for (int steps = 0; steps < 4096; ++steps) {
    auto st = status(cur);
    if (!st.nspid.empty() && st.nspid.back() == 1) return cur;
    if (st.ppid <= 0) break;
    bool same_ns = false;
    try {
      same_ns = ns_inode(st.ppid, "pid") == ns;
    } catch (const Error& e) {
      if (e.code() == Errc::NotFound) break;
      if (e.code() != Errc::PermissionDenied) throw;
      // Some inits hide their ns links even from root. A parent is either in the
      // same pid namespace or in an ancestor one, so equal NSpid depth means same.
      same_ns = status(st.ppid).nspid.size() == st.nspid.size();
    }
    if (!same_ns) break;
    cur = st.ppid;
  }
  // Not reached by walking (the process entered the namespace with setns, or
  // its ancestors died): find the namespace's init by scanning.
  for (pid_t candidate : all_pids()) {
    try {
      if (ns_inode(candidate, "pid") != ns) continue;
      auto st = status(candidate);
      if (!st.nspid.empty() && st.nspid.back() == 1) return candidate;
    } catch (const Error& e) {
      // Gone meanwhile, or a process whose namespace we may not inspect.
      if (e.code() != Errc::NotFound && e.code() != Errc::PermissionDenied) throw;
    }
  }
  throw Error(Errc::NotFound, "no init process found for the pid namespace of pid " + std::to_string(pid));
}

std::vector<pid_t> ProcFs::all_pids() const {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(root_.c_str()), ::closedir);
  if (!dir) throw_errno(errno, "open " + root_);
  std::vector<pid_t> out;
  while (auto* ent = ::readdir(dir.get())) {
    std::string_view name(ent->d_name);
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    if (name.size() > 9) continue;
    out.push_back(static_cast<pid_t>(parse_u64(name)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace nestbox
