// SPDX-License-Identifier: Apache-2.0
// State file: round trip, atomic replacement, and rejection of damaged files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "nestbox/error.hpp"
#include "state_store.hpp"
#include "testkit.hpp"

namespace nestbox::cgmgr {
namespace {

TEST(StateStore, MissingFileIsEmptyState) {
  testkit::TempDir dir;
  EXPECT_EQ(StateStore(dir.path() + "/state.json").load(), PersistentState{});
}

TEST(StateStore, RoundTripLeavesNoTempFile) {
  testkit::TempDir dir;
  StateStore store(dir.path() + "/state.json");
  PersistentState s;
  s.grants.push_back(Grant{CgroupPath::parse("/nb/user-1000"), 1000, 100, true});
  s.grants.push_back(Grant{CgroupPath::parse("/nb/team"), 1001, 1001, false});
  s.remove_on_empty["/nb/user-1000/job"] = true;
  s.remove_on_empty["/nb/team/x"] = false;
  store.save(s);
  EXPECT_EQ(store.load(), s);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/state.json.tmp"));
  s.grants.pop_back();
  store.save(s);  // replaces the previous file
  EXPECT_EQ(store.load(), s);
}

TEST(StateStore, OnlyGrantChangesAreFlushedToDisk) {
  testkit::TempDir dir;
  StateStore store(dir.path() + "/state.json");
  PersistentState s;
  s.grants.push_back(Grant{CgroupPath::parse("/nb/user-1000"), 1000, 100, true});
  store.save(s);
  EXPECT_EQ(store.flushes(), 1u);
  // A mark (a container's cgroup) is saved, readable at once, but not flushed.
  s.remove_on_empty["/nb/user-1000/job"] = false;
  store.save(s);
  s.remove_on_empty["/nb/user-1000/job"] = true;
  store.save(s);
  EXPECT_EQ(store.flushes(), 1u);
  EXPECT_EQ(StateStore(store.path()).load(), s);
  // A changed grant table is flushed again.
  s.grants.push_back(Grant{CgroupPath::parse("/nb/team"), 1001, 1001, false});
  store.save(s);
  EXPECT_EQ(store.flushes(), 2u);
  // A store that loaded the file knows its grants are on disk already.
  StateStore reopened(store.path());
  reopened.load();
  s.remove_on_empty.clear();
  reopened.save(s);
  EXPECT_EQ(reopened.flushes(), 0u);
}

TEST(StateStore, SavingWhatTheFileHoldsWritesNothing) {
  testkit::TempDir dir;
  StateStore store(dir.path() + "/state.json");
  PersistentState s;
  s.remove_on_empty["/nb/user-1000/job"] = true;
  store.save(s);
  store.save(s);
  EXPECT_EQ(store.writes(), 1u);
  s.remove_on_empty.clear();
  store.save(s);
  EXPECT_EQ(store.writes(), 2u);
  EXPECT_EQ(StateStore(store.path()).load(), s);
}

TEST(StateStore, DamagedFilesAreRejected) {
  testkit::TempDir dir;
  for (const char* text : {"{", "{\"version\": 2, \"grants\": [], \"remove_on_empty\": []}",
                           "{\"version\": 1, \"grants\": [{\"path\": \"/a/../b\", \"uid\": 1, \"gid\": 1, "
                           "\"origin\": \"policy\"}], \"remove_on_empty\": []}",
                           "{\"version\": 1}",
                           // A float or a uid beyond 32 bits must not be cast (fuzz/state_json_fuzz).
                           "{\"version\": 1e30, \"grants\": [], \"remove_on_empty\": []}",
                           "{\"version\": 1, \"grants\": [{\"path\": \"/a\", \"uid\": 4294968296, \"gid\": 1, "
                           "\"origin\": \"policy\"}], \"remove_on_empty\": []}",
                           "{\"version\": 1, \"grants\": [{\"path\": \"/a\", \"uid\": 1000.5, \"gid\": 1, "
                           "\"origin\": \"policy\"}], \"remove_on_empty\": []}"}) {
    std::string path = dir.write("bad.json", text);
    EXPECT_THROW(StateStore(path).load(), Error) << text;
  }
}

}  // namespace
}  // namespace nestbox::cgmgr
