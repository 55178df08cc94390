// SPDX-License-Identifier: Apache-2.0
// Remove-on-empty marks reach the state file a moment after they change
// (Manager::kMarkWriteDelay), over a fixture cgroup v2 tree.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include "manager.hpp"
#include "nestbox/layout.hpp"
#include "testing/fixture.hpp"

namespace nestbox::cgmgr {
namespace {

class ManagerMarks : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.cgroup("cg", {{"cgroup.controllers", "cpu memory pids\n"}, {"cgroup.subtree_control", ""}});
    dir_.cgroup("cg/nb", {{"cgroup.procs", ""}, {"cgroup.events", "populated 0\n"}});
    dir_.cgroup("cg/nb/job", {{"cgroup.procs", ""}, {"cgroup.events", "populated 0\n"}});
    dir_.mkdir("proc");
    auto layout = HostLayout::parse(testing::mountinfo_line(41, dir_.abs("cg"), "cgroup2", "rw"),
                                    [&](const std::string&) { return dir_.read("cg/cgroup.controllers"); });
    TreeOptions opts;
    opts.proc_root = dir_.abs("proc");
    tree_ = open_cgroup_tree(layout, opts);
    manager_ = std::make_unique<Manager>(*tree_, Authorizer(CgroupPath::parse("/nb")), Policy{}, StateStore(state_path()));
    manager_->restore();
  }

  std::string state_path() const { return dir_.abs("state.json"); }
  static ino_t inode(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_ino;
  }
  std::map<std::string, bool> marks_on_disk() const { return StateStore(state_path()).load().remove_on_empty; }

  testing::FixtureDir dir_;
  std::unique_ptr<CgroupTree> tree_;
  std::unique_ptr<Manager> manager_;
  const Caller root_{0, 0, 1};
};

TEST_F(ManagerMarks, AMarkIsWrittenAfterTheDelayNotInTheCall) {
  manager_->remove_on_empty(root_, "/nb/job", true);
  EXPECT_EQ(manager_->marked_paths(), std::vector<std::string>{"/nb/job"});
  EXPECT_TRUE(marks_on_disk().empty());  // the call did not wait for the disk

  auto due = manager_->write_pending_marks();
  ASSERT_TRUE(due.has_value());
  EXPECT_LE(*due, Manager::kMarkWriteDelay);
  EXPECT_TRUE(marks_on_disk().empty());  // not due yet

  std::this_thread::sleep_for(Manager::kMarkWriteDelay + std::chrono::milliseconds(10));
  EXPECT_FALSE(manager_->write_pending_marks().has_value());
  EXPECT_EQ(marks_on_disk(), (std::map<std::string, bool>{{"/nb/job", false}}));
  EXPECT_FALSE(manager_->write_pending_marks().has_value());  // nothing pending any more
}

TEST_F(ManagerMarks, AShortLivedMarkCostsNoWrite) {
  const ino_t before = inode(state_path());
  manager_->remove_on_empty(root_, "/nb/job", true);
  // The container ended within the delay: its mark went away again (Remove drops
  // it the same way; a fixture directory holding files cannot be rmdir'ed).
  manager_->remove_on_empty(root_, "/nb/job", false);
  EXPECT_TRUE(manager_->marked_paths().empty());
  EXPECT_FALSE(manager_->write_pending_marks(true).has_value());
  // Nothing to say that the file does not already say: it was not replaced.
  EXPECT_EQ(inode(state_path()), before);
  EXPECT_TRUE(marks_on_disk().empty());
}

TEST_F(ManagerMarks, WriteNowFlushesAtOnce) {
  manager_->remove_on_empty(root_, "/nb/job", true);
  EXPECT_FALSE(manager_->write_pending_marks(true).has_value());
  EXPECT_EQ(marks_on_disk().count("/nb/job"), 1u);
  manager_->remove_on_empty(root_, "/nb/job", false);
  EXPECT_EQ(marks_on_disk().count("/nb/job"), 1u);
  EXPECT_FALSE(manager_->write_pending_marks(true).has_value());
  EXPECT_TRUE(marks_on_disk().empty());
}

// A mark on a cgroup that never held a process is kept for the grace period
// from the first sweep that sees it empty (the removal itself needs a real
// cgroup: GraceTest.AMarkedCgroupThatNeverHeldAProcessIsRemovedAfterTheGrace).
TEST_F(ManagerMarks, ANeverPopulatedMarkWaitsForTheGrace) {
  manager_->set_unpopulated_grace(std::chrono::seconds(30));
  manager_->remove_on_empty(root_, "/nb/job", true);
  const auto t0 = std::chrono::steady_clock::now();
  auto next = manager_->sweep_remove_on_empty(t0);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, std::chrono::seconds(30));
  next = manager_->sweep_remove_on_empty(t0 + std::chrono::seconds(20));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, std::chrono::seconds(10));  // counted from the first sweep, not restarted
  EXPECT_EQ(manager_->marked_paths(), std::vector<std::string>{"/nb/job"});

  // Seen populated once: an ordinary mark, no grace any more.
  dir_.write("cg/nb/job/cgroup.events", "populated 1\n");
  EXPECT_FALSE(manager_->sweep_remove_on_empty(t0 + std::chrono::seconds(25)).has_value());
  EXPECT_EQ(manager_->marked_paths(), std::vector<std::string>{"/nb/job"});
}

}  // namespace
}  // namespace nestbox::cgmgr
