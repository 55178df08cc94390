// SPDX-License-Identifier: Apache-2.0
// State file: round trip, atomic replacement, and rejection of damaged files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

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

// Only a regular file the manager's user owns, writable by no one else, is
// believed: the file grants subtrees.
TEST(StateStore, OnlyAPrivateRegularFileOfTheManagersUserIsBelieved) {
  testkit::TempDir dir;
  const std::string good = dir.write("good.json", "{\"version\": 1, \"grants\": [], \"remove_on_empty\": []}");
  EXPECT_NO_THROW(StateStore(good).load());
  auto refused = [](const std::string& path, const std::string& says) {
    try {
      StateStore(path).load();
      ADD_FAILURE() << path << " was loaded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();  // names the file
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  const std::string link = dir.path() + "/link.json";
  ASSERT_EQ(::symlink(good.c_str(), link.c_str()), 0);
  refused(link, "symbolic link");
  const std::string subdir = dir.path() + "/dir.json";
  ASSERT_EQ(::mkdir(subdir.c_str(), 0700), 0);
  refused(subdir, "Is a directory");
  const std::string writable = dir.write("writable.json", "{\"version\": 1, \"grants\": [], \"remove_on_empty\": []}");
  ASSERT_EQ(::chmod(writable.c_str(), 0664), 0);
  refused(writable, "mode 0664");
  if (::geteuid() == 0) {
    const std::string theirs = dir.write("theirs.json", "{\"version\": 1, \"grants\": [], \"remove_on_empty\": []}");
    ASSERT_EQ(::chown(theirs.c_str(), 1000, 1000), 0);
    refused(theirs, "owned by uid 1000");
  }
}

}  // namespace
}  // namespace nestbox::cgmgr
