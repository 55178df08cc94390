// SPDX-License-Identifier: Apache-2.0
// What must survive a restart and cannot be read back from cgroupfs alone: the
// grant table (who was given which subtree, and how) and the remove-on-empty
// marks. Stored as a small JSON file, replaced atomically (temp + rename) so a
// crash of the manager leaves either the old or the new state. A save that
// changes the grant table is also flushed to disk (fsync of the file and its
// directory): grants are the admin's decisions and must survive a power loss.
// Saves that only change remove-on-empty marks are not flushed: the cgroups they
// name live in memory and are gone after a reboot anyway, and skipping the flush
// keeps a container start free of disk waits. (The manager also writes marks a
// moment after they change rather than in the call: see Manager::kMarkWriteDelay.)
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "authorizer.hpp"

namespace nestbox::cgmgr {

struct PersistentState {
  std::vector<Grant> grants;
  // path -> whether processes were seen in it since it was marked (removal
  // happens on the populated -> empty transition).
  std::map<std::string, bool> remove_on_empty;
  friend bool operator==(const PersistentState&, const PersistentState&) = default;
};

std::string state_to_json(const PersistentState& state);
// Throws Error(InvalidValue) naming what is wrong.
PersistentState state_from_json(const std::string& text, const std::string& origin);

class StateStore {
 public:
  explicit StateStore(std::string path) : path_(std::move(path)) {}
  const std::string& path() const noexcept { return path_; }
  // An absent file is an empty state (first start).
  PersistentState load();
  void save(const PersistentState& state);
  // How many saves wrote the file, and how many of those were flushed to disk
  // (for tests and diagnostics). A save of what the file already holds writes nothing.
  std::size_t writes() const noexcept { return writes_; }
  std::size_t flushes() const noexcept { return flushes_; }

 private:
  std::string path_;
  // The grant table as last flushed (or loaded); nullopt before either.
  std::optional<std::vector<Grant>> flushed_grants_;
  std::optional<std::string> written_;  // the file's text as last written or loaded
  std::size_t writes_ = 0;
  std::size_t flushes_ = 0;
};

}  // namespace nestbox::cgmgr
