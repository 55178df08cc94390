// SPDX-License-Identifier: Apache-2.0
// MOUNTPOINT/cgroup: the reader's own cgroup is the root of the view, and the
// attacks lxcfs once fell to (CVE-2015-1342: reaching/creating in siblings;
// CVE-2015-1344: moving other users' processes) are refused.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fs_fixture.hpp"

namespace nestbox::fs::test {
namespace {

namespace stdfs = std::filesystem;

class FsViewTest : public FsTest {
 protected:
  void SetUp() override {
    FsTest::SetUp();
    if (IsSkipped()) return;
    user_ = &testkit::test_user();
    mine_ = sandbox().make("mine");
    victim_ = sandbox().make("victim");
    tree().delegate(mine_, user_->uid, user_->gid);
    view_ = mnt("cgroup/" + memory_view_name());
  }
  testkit::CommandResult as_user(const std::string& script, const CgroupPath& cg) {
    testkit::RunOptions opts;
    opts.cgroup = cg;
    return user_->run({"sh", "-c", script}, opts);
  }
  std::optional<CgroupPath> memory_cgroup_of(pid_t pid) { return tree().cgroup_of(pid, "memory"); }

  const testkit::TestUser* user_ = nullptr;
  CgroupPath mine_, victim_;
  std::string view_;
};

TEST_F(FsViewTest, OwnCgroupIsTheRoot) {
  sandbox().make("mine/sub");
  auto r = as_user("ls " + view_, mine_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("sub\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cgroup.procs\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("victim"), std::string::npos) << r.out;
  // File content is the real file's.
  auto procs = as_user("cat " + view_ + "/cgroup.procs", mine_);
  EXPECT_EQ(procs.exit_code, 0) << procs.err;
  EXPECT_FALSE(procs.out.empty());
}

TEST_F(FsViewTest, HiddenSiblingAndParentPathsAreNotFound) {
  for (const std::string& path :
       {view_ + "/victim", view_ + "/../memory/victim", view_ + "/mine", view_ + "/../../cgroup/victim"}) {
    auto r = as_user("stat " + path, mine_);
    EXPECT_NE(r.exit_code, 0) << path << " is visible: " << r.out;
  }
}

TEST_F(FsViewTest, DelegatedMkdirAndRmdir) {
  auto r = as_user("mkdir " + view_ + "/child && ls -ld " + view_ + "/child", mine_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  std::string real = real_memory_dir(mine_.child("child"));
  ASSERT_EQ(::stat(real.c_str(), &st), 0) << real;
  EXPECT_EQ(st.st_uid, user_->uid);
  r = as_user("rmdir " + view_ + "/child", mine_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(stdfs::exists(real));
}

TEST_F(FsViewTest, MkdirWithoutDelegationRefused) {
  // The user sits in victim, which was not delegated: its view root is root-owned.
  auto r = as_user("mkdir " + view_ + "/x", victim_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(stdfs::exists(real_memory_dir(victim_) + "/x"));
}

TEST_F(FsViewTest, LimitOfOwnRootNotWritable) {
  const std::string file = layout_.layout == Layout::Unified ? "memory.max" : "memory.limit_in_bytes";
  const std::string before = slurp(real_memory_dir(mine_) + "/" + file);
  ASSERT_FALSE(before.empty()) << file << " of the delegated cgroup should exist";
  auto r = as_user("echo 4096 > " + view_ + "/" + file, mine_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(slurp(real_memory_dir(mine_) + "/" + file), before);
}

TEST_F(FsViewTest, MovingAnotherUsersProcessRefused) {  // CVE-2015-1344
  sandbox().make("mine/a");
  // A root-owned process inside the user's own subtree.
  testkit::RunOptions opts;
  opts.cgroup = mine_.child("a");
  auto sleeper = testkit::Child::spawn({"sleep", "1000"}, opts);
  auto r = as_user("echo " + std::to_string(sleeper.pid()) + " > " + view_ + "/cgroup.procs", mine_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(memory_cgroup_of(sleeper.pid()), mine_.child("a"));
}

TEST_F(FsViewTest, PullingOwnProcessFromSiblingRefused) {
  // The user's own process, but in a cgroup outside the user's view.
  testkit::RunOptions opts;
  opts.cgroup = victim_;
  opts.uid = user_->uid;
  opts.gid = user_->gid;
  auto sleeper = testkit::Child::spawn({"sleep", "1000"}, opts);
  auto r = as_user("echo " + std::to_string(sleeper.pid()) + " > " + view_ + "/cgroup.procs", mine_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(memory_cgroup_of(sleeper.pid()), victim_);
}

TEST_F(FsViewTest, MovingOwnProcessInsideOwnSubtreeWorks) {
  auto r = as_user("mkdir " + view_ + "/a && mkdir " + view_ + "/b", mine_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  testkit::RunOptions opts;
  opts.cgroup = mine_.child("a");
  opts.uid = user_->uid;
  opts.gid = user_->gid;
  auto sleeper = testkit::Child::spawn({"sleep", "1000"}, opts);
  r = as_user("echo " + std::to_string(sleeper.pid()) + " > " + view_ + "/b/cgroup.procs", mine_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(memory_cgroup_of(sleeper.pid()), mine_.child("b"));
}

TEST_F(FsViewTest, DirectoryHandleOfAnotherViewIsUseless) {  // CVE-2015-1342 shape
  // A process of the same user in victim keeps its cwd inside *its* view; the
  // attacker in mine reaches that directory through /proc/<pid>/cwd and tries
  // to read, list and create there.
  testkit::RunOptions opts;
  opts.cgroup = victim_;
  opts.uid = user_->uid;
  opts.gid = user_->gid;
  auto holder = testkit::Child::spawn({"sh", "-c", "cd " + view_ + " && exec sleep 1000"}, opts);
  const std::string cwd = "/proc/" + std::to_string(holder.pid()) + "/cwd";
  // Wait until the holder sits in the view (its cwd link points into the mount).
  for (int i = 0; i < 200 && stdfs::read_symlink(cwd).string().find(view_) != 0; ++i) usleep(20000);
  ASSERT_EQ(stdfs::read_symlink(cwd).string().find(view_), 0u);
  // Control: from inside victim the same path works, so the refusals below come
  // from the view's per-reader check, not from /proc access rules.
  auto control = as_user("cat " + cwd + "/cgroup.procs", victim_);
  ASSERT_EQ(control.exit_code, 0) << control.err;
  for (const std::string& attack :
       {"ls " + cwd + "/", "cat " + cwd + "/cgroup.procs", "mkdir " + cwd + "/evil",
        "echo $$ > " + cwd + "/cgroup.procs", "rm " + cwd + "/cgroup.procs", "mv " + cwd + "/x " + cwd + "/y"}) {
    auto r = as_user(attack, mine_);
    EXPECT_NE(r.exit_code, 0) << attack << " succeeded: " << r.out;
    // ENOENT: "No such file or directory" (dash says "Directory nonexistent" on create).
    EXPECT_TRUE(r.err.find("No such file") != std::string::npos || r.err.find("nonexistent") != std::string::npos)
        << attack << ": " << r.err;
  }
  EXPECT_FALSE(stdfs::exists(real_memory_dir(victim_) + "/evil"));
}

TEST_F(FsViewTest, SymlinksAndFilesCannotBeCreated) {
  for (const std::string& attack : {"ln -s /sys/fs/cgroup " + view_ + "/link", "touch " + view_ + "/newfile"}) {
    auto r = as_user(attack, mine_);
    EXPECT_NE(r.exit_code, 0) << attack;
  }
  EXPECT_FALSE(stdfs::exists(real_memory_dir(mine_) + "/link"));
}

TEST_F(FsViewTest, FilesCannotBeRemoved) {
  // cgroupfs answers EPERM to unlink; the view does the same.
  auto r = as_user("rm " + view_ + "/cgroup.procs", mine_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
  EXPECT_TRUE(stdfs::exists(real_memory_dir(mine_) + "/cgroup.procs"));
}

// cgroup v1 renames a cgroup within its parent; cgroup2 refuses every rename.
TEST_F(FsViewTest, DelegatedRenameWithinParent) {
  const bool v1 = memory_view_name() != "unified";
  // The shell stays in the renamed directory: its handle must follow the new name.
  auto r = as_user("mkdir " + view_ + "/a && cd " + view_ + "/a && mv -T " + view_ + "/a " + view_ +
                       "/b && cat cgroup.procs >/dev/null && ls " + view_,
                   mine_);
  if (v1) {
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("b\n"), std::string::npos) << r.out;
    EXPECT_TRUE(stdfs::is_directory(real_memory_dir(mine_.child("b"))));
    EXPECT_FALSE(stdfs::exists(real_memory_dir(mine_.child("a"))));
  } else {
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
    EXPECT_TRUE(stdfs::is_directory(real_memory_dir(mine_.child("a"))));
  }
}

TEST_F(FsViewTest, RenameOutOfParentRefused) {
  auto r = as_user("mkdir " + view_ + "/a " + view_ + "/b && mv -T " + view_ + "/a " + view_ + "/b/a", mine_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(stdfs::is_directory(real_memory_dir(mine_.child("a"))));
  EXPECT_FALSE(stdfs::exists(real_memory_dir(mine_.child("b").child("a"))));
  // Into another hierarchy: refused without a copy (mv copies after EXDEV, which
  // would make a cgroup there).
  const std::string pids = hierarchy_dir("pids");
  if (memory_view_name() != "unified" && !pids.empty() && pids != hierarchy_dir("memory")) {
    r = as_user("mv -T " + view_ + "/a " + mnt("cgroup/pids") + "/a", mine_);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(stdfs::is_directory(real_memory_dir(mine_.child("a"))));
    EXPECT_FALSE(stdfs::exists(pids + mine_.child("a").str()));
  }
}

TEST_F(FsViewTest, RenameWithoutDelegationRefused) {
  // victim is root-owned: its user may look but not rename.
  sandbox().make("victim/sub");
  auto r = as_user("mv -T " + view_ + "/sub " + view_ + "/renamed", victim_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  EXPECT_TRUE(stdfs::is_directory(real_memory_dir(victim_.child("sub"))));
  EXPECT_FALSE(stdfs::exists(real_memory_dir(victim_.child("renamed"))));
}

// The node table is shared by every reader; a uid keeping its nodes referenced
// (here through the dentry cache after a recursive walk) is refused once its
// share is full, and the others go on: a second uid (one of a container's
// subordinate uids) and root walk their own views with no error. 1024 nodes:
// one uid gets 128 nodes or 32 KiB of them, whichever comes first.
class FsNodeShareTest : public FsViewTest {
 protected:
  FsNodeShareTest() { extra_args_ = {"--max-nodes=1024"}; }
};

TEST_F(FsNodeShareTest, OneUidFillingItsShareLeavesRoomForOthers) {
  for (const char* sub : {"mine/a", "mine/b", "mine/c", "mine/d", "mine/e", "mine/f"}) sandbox().make(sub);
  auto flood = as_user("ls -lR " + view_ + " >/dev/null", mine_);
  EXPECT_NE(flood.exit_code, 0) << "the walk of ~200 nodes fitted in a share of 128";
  EXPECT_NE(flood.err.find("Too many open files in system"), std::string::npos) << flood.err;  // ENFILE

  // Another uid, in a cgroup of its own: its whole view, each file read.
  const uid_t other = user_->subuid_start != 0 ? user_->subuid_start + 1 : 60001;
  testkit::RunOptions opts;
  opts.cgroup = victim_;
  opts.uid = other;
  opts.gid = other;
  const std::string walk = "ls -l " + view_ + " >/dev/null && cat " + view_ + "/cgroup.procs " + view_ +
                           "/memory.events 2>/dev/null >/dev/null; ls -l " + view_ + " | wc -l";
  auto r = testkit::run({"sh", "-c", walk}, opts);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("Too many open files"), std::string::npos) << r.err;
  EXPECT_GT(std::atoi(r.out.c_str()), 10) << r.out;
  // Root, which finds room while the others are full.
  testkit::RunOptions as_root;
  as_root.cgroup = victim_;
  r = testkit::run({"sh", "-c", "ls -lR " + view_ + " | wc -l"}, as_root);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("Too many open files"), std::string::npos) << r.err;
  // And the flooding uid itself is refused only what exceeds its share: a file
  // it already holds a node for still reads.
  auto own = as_user("cat " + view_ + "/cgroup.procs >/dev/null", mine_);
  EXPECT_EQ(own.exit_code, 0) << own.err;
}

}  // namespace
}  // namespace nestbox::fs::test
