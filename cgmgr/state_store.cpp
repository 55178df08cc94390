// SPDX-License-Identifier: Apache-2.0
#include "state_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <utility>
#include <nlohmann/json.hpp>

#include "nestbox/error.hpp"
#include "nestbox/json_integer.hpp"
#include "nestbox/safe_io.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox::cgmgr {
namespace {

constexpr int kFormatVersion = 1;

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

void write_all(int fd, const std::string& data, const std::string& what) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "write " + what);
    }
    done += static_cast<std::size_t>(n);
  }
}

// An integer member: only an integer that fits T (see json_integer.hpp).
template <typename T>
T integer_field(const nlohmann::json& j, const char* key) {
  if (auto v = fitting_integer<T>(j.at(key))) return *v;
  throw Error(Errc::InvalidValue, std::string(key) + " must be an integer in range");
}

std::string fmt_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

std::string state_to_json(const PersistentState& state) {
  nlohmann::json grants = nlohmann::json::array();
  for (const Grant& g : state.grants)
    grants.push_back({{"path", g.path.str()}, {"uid", g.uid}, {"gid", g.gid},
                      {"origin", g.from_policy ? "policy" : "delegate"}});
  nlohmann::json marks = nlohmann::json::array();
  for (const auto& [path, seen] : state.remove_on_empty)
    marks.push_back({{"path", path}, {"seen_populated", seen}});
  nlohmann::json doc = {{"version", kFormatVersion}, {"grants", grants}, {"remove_on_empty", marks}};
  return doc.dump(2) + "\n";
}

PersistentState state_from_json(const std::string& text, const std::string& origin) {
  PersistentState state;
  try {
    auto doc = nlohmann::json::parse(text);
    if (integer_field<int>(doc, "version") != kFormatVersion)
      throw Error(Errc::InvalidValue, origin + ": unsupported state format version");
    for (const auto& g : doc.at("grants")) {
      Grant grant;
      grant.path = CgroupPath::parse(g.at("path").get<std::string>());
      grant.uid = integer_field<uid_t>(g, "uid");
      grant.gid = integer_field<gid_t>(g, "gid");
      grant.from_policy = g.at("origin").get<std::string>() == "policy";
      state.grants.push_back(std::move(grant));
    }
    for (const auto& m : doc.at("remove_on_empty"))
      state.remove_on_empty[CgroupPath::parse(m.at("path").get<std::string>()).str()] =
          m.at("seen_populated").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(Errc::InvalidValue, origin + ": malformed state file: " + e.what());
  } catch (const Error& e) {
    throw Error(e.code(), origin + ": " + e.what());
  }
  return state;
}

PersistentState StateStore::load() {
  // The file grants subtrees: only one the manager's own user wrote may be
  // believed. Not through a symlink (O_NOFOLLOW), only a regular file owned by
  // that user, writable by no one else.
  UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (!fd) {
    if (errno == ENOENT) return {};
    if (errno == ELOOP) throw Error(Errc::PermissionDenied, "open " + path_ + ": a symbolic link; refusing the state file", ELOOP);
    throw_errno(errno, "open " + path_);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno(errno, "stat " + path_);
  if (!S_ISREG(st.st_mode))
    throw Error(Errc::InvalidValue, "read " + path_ + ": " + (S_ISDIR(st.st_mode) ? "Is a directory" : "not a regular file"),
                S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
  if (st.st_uid != ::geteuid())
    throw Error(Errc::PermissionDenied, "read " + path_ + ": owned by uid " + std::to_string(st.st_uid) +
                                            ", not by the manager's uid " + std::to_string(::geteuid()) +
                                            "; refusing the state file");
  if ((st.st_mode & 07777 & ~static_cast<mode_t>(0644)) != 0)
    throw Error(Errc::PermissionDenied, "read " + path_ + ": mode " + fmt_mode(st.st_mode) +
                                            " is more than 0644; refusing the state file");
  std::string text;
  try {
    text = read_fd(fd.get());
  } catch (const Error& e) {
    throw Error(e.code(), "read " + path_ + ": " + e.what(), e.sys_errno());
  }
  PersistentState state = state_from_json(text, path_);
  flushed_grants_ = state.grants;
  written_ = std::move(text);
  return state;
}

void StateStore::save(const PersistentState& state) {
  const bool flush = !flushed_grants_ || *flushed_grants_ != state.grants;
  const std::string tmp = path_ + ".tmp";
  const std::string data = state_to_json(state);
  if (data == written_ && !flush) return;  // the file already says exactly this
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) throw_errno(errno, "create " + tmp);
    write_all(fd.get(), data, tmp);
    if (flush && ::fsync(fd.get()) != 0) throw_errno(errno, "fsync " + tmp);
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) throw_errno(errno, "rename " + tmp + " to " + path_);
  written_ = data;
  ++writes_;
  if (!flush) return;
  // The rename itself must reach the disk too.
  UniqueFd dir(::open(dir_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir) ::fsync(dir.get());
  flushed_grants_ = state.grants;
  ++flushes_;
}

}  // namespace nestbox::cgmgr
