// SPDX-License-Identifier: Apache-2.0
#include "state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <utility>
#include <nlohmann/json.hpp>

#include "nestbox/error.hpp"
#include "nestbox/json_integer.hpp"
#include "nestbox/proc.hpp"
#include "nestbox/safe_io.hpp"
#include "nestbox/unique_fd.hpp"
#include "options.hpp"

namespace nestbox::launcher {

nlohmann::json record_to_json(const ContainerRecord& r) {
  return nlohmann::json{{"name", r.name},         {"launcher_pid", r.launcher_pid},
                        {"launcher_start", r.launcher_start},
                        {"init_pid", r.init_pid}, {"cgroup", r.cgroup},
                        {"bus", r.bus},           {"hostname", r.hostname},
                        {"rootfs", r.rootfs},     {"command", r.command},
                        {"created", r.created},   {"limits", r.limits}};
}

namespace {

// An integer member: only an integer that fits T (see json_integer.hpp).
template <typename T>
T integer_field(const nlohmann::json& j, const char* key) {
  if (auto v = fitting_integer<T>(j.at(key))) return *v;
  throw std::out_of_range(std::string("record field ") + key + " is not an integer in range");
}

}  // namespace

ContainerRecord record_from_json(const nlohmann::json& j) {
  ContainerRecord r;
  r.name = j.at("name").get<std::string>();
  r.launcher_pid = integer_field<pid_t>(j, "launcher_pid");
  r.launcher_start = integer_field<std::uint64_t>(j, "launcher_start");
  r.init_pid = j.contains("init_pid") ? integer_field<pid_t>(j, "init_pid") : 0;
  r.cgroup = j.value("cgroup", "");
  r.bus = j.value("bus", "");
  r.hostname = j.value("hostname", "");
  r.rootfs = j.value("rootfs", "");
  r.command = j.value("command", std::vector<std::string>{});
  r.created = j.contains("created") ? integer_field<std::int64_t>(j, "created") : 0;
  r.limits = j.value("limits", std::map<std::string, std::string>{});
  return r;
}

std::string default_state_dir(uid_t uid, const std::string& xdg_runtime_dir, const std::string& home) {
  struct stat st {};
  auto owned_dir = [&](const std::string& p) {
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid;
  };
  if (!xdg_runtime_dir.empty() && xdg_runtime_dir.front() == '/' && owned_dir(xdg_runtime_dir))
    return xdg_runtime_dir + "/nestbox";
  const std::string run_user = "/run/user/" + std::to_string(uid);
  if (owned_dir(run_user)) return run_user + "/nestbox";
  // /tmp is shared: anyone can take the name first. Ours if it is missing (we
  // create it) or a private directory of ours; otherwise (squatted, or left
  // open) the records go below $HOME, which no one else can create names in.
  const std::string tmp = "/tmp/nestbox-" + std::to_string(uid);
  if (::lstat(tmp.c_str(), &st) != 0 ||
      (S_ISDIR(st.st_mode) && st.st_uid == uid && (st.st_mode & 077) == 0))
    return tmp;
  if (!home.empty() && home.front() == '/' && owned_dir(home)) {
    const std::string cache = home + "/.cache";
    if (::mkdir(cache.c_str(), 0700) != 0 && errno != EEXIST) return tmp;  // StateDir explains
    return cache + "/nestbox-run";
  }
  return tmp;
}

std::uint64_t process_start_ticks(pid_t pid) noexcept {
  try {
    return ProcFs("/proc").start_time_ticks(pid);
  } catch (...) {
    return 0;
  }
}

namespace {
std::string octal(unsigned mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode);
  return buf;
}
}  // namespace

StateDir::StateDir(std::string path) : path_(std::move(path)) {
  if (::mkdir(path_.c_str(), 0700) != 0 && errno != EEXIST) throw_errno(errno, "cannot create " + path_);
  struct stat st {};
  if (::lstat(path_.c_str(), &st) != 0) throw_errno(errno, "cannot stat " + path_);
  // Another user could have pre-created a /tmp fallback directory to spy on or
  // forge our records: insist on a private directory of our own.
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077) != 0)
    throw Error(Errc::PermissionDenied,
                "state directory " + path_ + " must be a directory owned by uid " + std::to_string(::geteuid()) +
                    " with mode 0700, but it is " + (S_ISDIR(st.st_mode) ? "a directory" : "not a directory") +
                    " of uid " + std::to_string(st.st_uid) + " with mode " + octal(st.st_mode & 07777) +
                    ": remove it (as its owner or root), or set XDG_RUNTIME_DIR (or HOME) to a private "
                    "directory of yours");
}

std::string StateDir::file(const std::string& name) const {
  validate_name(name);  // names are file names: never let one climb out
  return path_ + "/" + name + ".json";
}

std::optional<ContainerRecord> StateDir::load(const std::string& name) const {
  UniqueFd fd(::open(file(name).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return std::nullopt;
  try {
    return record_from_json(nlohmann::json::parse(read_fd(fd.get())));
  } catch (const std::exception&) {
    // A record cut short (launcher killed mid-write cannot happen with rename, but a
    // crash during claim can leave an empty file): treat as stale.
    return ContainerRecord{name, 0, 0, 0, "", "", "", "", {}, 0, {}};
  }
}

bool StateDir::live(const ContainerRecord& r) const {
  return r.launcher_pid > 0 && r.launcher_start != 0 && process_start_ticks(r.launcher_pid) == r.launcher_start;
}

void StateDir::claim(const ContainerRecord& record) {
  const std::string target = file(record.name);
  for (int attempt = 0; attempt < 2; ++attempt) {
    UniqueFd fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd) {
      std::string text = record_to_json(record).dump();
      if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        int err = errno;
        ::unlink(target.c_str());
        throw_errno(err, "cannot write " + target);
      }
      return;
    }
    if (errno != EEXIST) throw_errno(errno, "cannot create " + target);
    auto existing = load(record.name);
    if (existing && live(*existing))
      throw Error(Errc::Exists, "a container named '" + record.name + "' is already running (pid " +
                                    std::to_string(existing->launcher_pid) + ")");
    ::unlink(target.c_str());  // stale: its launcher is gone
  }
  throw Error(Errc::Exists, "a container named '" + record.name + "' is being started concurrently");
}

void StateDir::update(const ContainerRecord& record) {
  const std::string target = file(record.name);
  const std::string tmp = target + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) throw_errno(errno, "cannot create " + tmp);
  std::string text = record_to_json(record).dump();
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw_errno(errno, "cannot write " + tmp);
  fd.reset();
  if (::rename(tmp.c_str(), target.c_str()) != 0) throw_errno(errno, "cannot rename " + tmp);
}

std::optional<ContainerRecord> StateDir::find(const std::string& name) {
  auto record = load(name);
  if (!record) return std::nullopt;
  if (!live(*record)) {
    remove(name);
    return std::nullopt;
  }
  return record;
}

std::vector<ContainerRecord> StateDir::list() {
  std::vector<std::string> names;
  if (DIR* dir = ::opendir(path_.c_str())) {
    while (dirent* e = ::readdir(dir)) {
      std::string n = e->d_name;
      if (n.size() > 5 && n.ends_with(".json")) names.push_back(n.substr(0, n.size() - 5));
    }
    ::closedir(dir);
  }
  std::sort(names.begin(), names.end());
  std::vector<ContainerRecord> out;
  for (const auto& n : names) {
    try {
      validate_name(n);
    } catch (const Error&) {
      continue;  // not ours
    }
    if (auto r = find(n)) out.push_back(std::move(*r));
  }
  return out;
}

void StateDir::remove(const std::string& name) noexcept {
  try {
    ::unlink(file(name).c_str());
  } catch (...) {
  }
}

}  // namespace nestbox::launcher
