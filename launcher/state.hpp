// SPDX-License-Identifier: Apache-2.0
// Per-user record of running containers, one JSON file per name in a private
// directory: $XDG_RUNTIME_DIR/nestbox, else /run/user/<uid>/nestbox, else
// /tmp/nestbox-<uid> (created 0700), else, when someone else holds that name,
// $HOME/.cache/nestbox-run.
// A record is live while the launcher that wrote it runs (same pid and start
// time); stale records are pruned when seen.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace nestbox::launcher {

struct ContainerRecord {
  std::string name;
  pid_t launcher_pid = 0;
  std::uint64_t launcher_start = 0;  // start time (clock ticks) of launcher_pid
  pid_t init_pid = 0;                // host pid of the container's pid 1 (0 while starting)
  std::string cgroup;                // "" when started with --no-cgroup
  std::string bus;                   // D-Bus address used ("" = system bus)
  std::string hostname;
  std::string rootfs;                // "" = host root
  std::vector<std::string> command;
  std::int64_t created = 0;          // unix seconds
  std::map<std::string, std::string> limits;
};

nlohmann::json record_to_json(const ContainerRecord& record);
ContainerRecord record_from_json(const nlohmann::json& json);

// The state directory for `uid` given the environment's XDG_RUNTIME_DIR and HOME
// ("" if unset). When /tmp/nestbox-<uid> exists but is not a private directory of
// `uid` (another user may create it first), $HOME/.cache/nestbox-run instead
// (creating $HOME/.cache).
std::string default_state_dir(uid_t uid, const std::string& xdg_runtime_dir, const std::string& home = "");

class StateDir {
 public:
  // Creates the directory (0700) if needed; throws PermissionDenied if it exists but
  // is not a directory owned by the current user with no group/other access.
  explicit StateDir(std::string path);
  const std::string& path() const { return path_; }

  // Atomically claims `record.name` (O_EXCL) and writes the record. A stale record
  // of a dead launcher is replaced. Throws Error(Exists) if the name is in use.
  void claim(const ContainerRecord& record);
  // Replaces the record (write to a temp file, rename).
  void update(const ContainerRecord& record);
  // The live record for name, nullopt if none (stale ones are removed).
  std::optional<ContainerRecord> find(const std::string& name);
  // Live records sorted by name (stale ones are removed).
  std::vector<ContainerRecord> list();
  void remove(const std::string& name) noexcept;

 private:
  std::optional<ContainerRecord> load(const std::string& name) const;
  bool live(const ContainerRecord& record) const;
  std::string file(const std::string& name) const;
  std::string path_;
};

// Start time (field 22 of /proc/<pid>/stat) or 0 if the process is gone.
std::uint64_t process_start_ticks(pid_t pid) noexcept;

}  // namespace nestbox::launcher
