// What must survive a restart and cannot be read back from cgroupfs alone: the
// grant table (who was given which subtree, and how) and the remove-on-empty
// marks. Stored as a small JSON file, replaced atomically (temp + fsync + rename +
// fsync of the directory) so a crash leaves either the old or the new state.
#pragma once

#include <map>
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
  PersistentState load() const;
  void save(const PersistentState& state) const;

 private:
  std::string path_;
};

}  // namespace nestbox::cgmgr
