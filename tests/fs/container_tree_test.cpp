// SPDX-License-Identifier: Apache-2.0
// nestbox-fs --container-tree: a container's files by the host pid of its
// pid 1, served from the page cache, refreshed within 100 ms, walkable only
// by the container's owner, kept across a live upgrade and a crash of its server.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "fs_fixture.hpp"
#include "nestbox/parse.hpp"

namespace nestbox::fs::test {
namespace {

using namespace std::chrono_literals;

class ContainerTreeTest : public FsTest {
 protected:
  void SetUp() override {
    extra_args_.insert(extra_args_.begin(), "--container-tree");
    FsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    cg_ = sandbox().make("ct");
    tree().set_limit(cg_, "memory.max", "268435456");
    // A container: pid 1 of a new pid namespace (unshare's child), in cg_.
    testkit::RunOptions in_cg;
    in_cg.cgroup = cg_;
    container_ = std::make_unique<testkit::Child>(
        testkit::Child::spawn({"unshare", "--fork", "--pid", "--kill-child", "sleep", "600"}, in_cg));
    for (int i = 0; i < 100 && init_ <= 0; ++i) {
      auto kids = children_of(container_->pid());
      init_ = kids.size() == 1 ? kids.front() : -1;
      if (init_ <= 0) std::this_thread::sleep_for(20ms);
    }
    ASSERT_GT(init_, 0) << "no container init";
  }
  void TearDown() override {
    container_.reset();
    FsTest::TearDown();
  }
  std::string file(const std::string& name) const { return mnt(std::to_string(init_) + "/proc/" + name); }

  CgroupPath cg_;
  std::unique_ptr<testkit::Child> container_;
  pid_t init_ = -1;
};

TEST_F(ContainerTreeTest, AContainersFilesShowItsLimitsAndFollowThemWithin100ms) {
  EXPECT_EQ(kb(slurp(file("meminfo")), "MemTotal"), 262144u);
  EXPECT_NE(slurp(file("cpuinfo")).find("processor"), std::string::npos);
  EXPECT_NE(slurp(file("stat")).find("cpu "), std::string::npos);
  EXPECT_FALSE(slurp(file("uptime")).empty());
  // Re-reads, as monitoring agents make them, all see one whole rendering.
  for (int i = 0; i < 2000; ++i) {
    const std::string text = slurp(file("meminfo"));
    ASSERT_EQ(kb(text, "MemTotal"), 262144u) << "read " << i;
    ASSERT_EQ(text.back(), '\n');
  }
  // A new limit shows once the cached attributes expire (50 ms) and the
  // rendering is renewed (50 ms).
  tree().set_limit(cg_, "memory.max", "134217728");
  const auto changed = std::chrono::steady_clock::now();
  std::uint64_t total = 0;
  while (std::chrono::steady_clock::now() - changed < 5s) {
    total = kb(slurp(file("meminfo")), "MemTotal");
    if (total == 131072u) break;
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(total, 131072u);
  std::cout << "container tree: new limit seen after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - changed).count()
            << " ms\n";
}

// How often the daemon was asked `opcode` (libfuse's debug log, "-o debug").
std::size_t requests(const std::string& log, const std::string& opcode) {
  const std::string needle = "opcode: " + opcode + " ";
  std::size_t n = 0;
  for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
  return n;
}

class ContainerTreeCacheTest : public ContainerTreeTest {
 protected:
  void SetUp() override {
    extra_args_ = {"-o", "debug"};
    ContainerTreeTest::SetUp();
  }
};

TEST_F(ContainerTreeCacheTest, ReopenedFilesAreServedFromThePageCacheNotTheDaemon) {
  // What a monitoring agent does: open, read to the end, close, again.
  constexpr int kReads = 3000;
  for (int i = 0; i < kReads; ++i) ASSERT_EQ(kb(slurp(file("meminfo")), "MemTotal"), 262144u) << "read " << i;
  const std::string log = slurp(mount_->log_path());
  ASSERT_GT(requests(log, "INIT"), 0u) << "no debug log from the daemon";
  const std::size_t opens = requests(log, "OPEN"), releases = requests(log, "RELEASE"),
                    reads = requests(log, "READ");
  std::cout << "container tree: " << kReads << " open/read/close cost the daemon " << opens << " OPEN, " << releases
            << " RELEASE, " << reads << " READ, " << requests(log, "GETATTR") << " GETATTR\n";
  // The kernel asks OPEN once, is told it need not, and never again.
  EXPECT_LE(opens, 1u);
  EXPECT_EQ(releases, 0u);
  // READs only when the content moved (at most about once per 50 ms).
  EXPECT_LT(reads, static_cast<std::size_t>(kReads / 10));
}

TEST_F(ContainerTreeTest, AFileKeptOpenAndReReadFromOffsetZeroFollowsALimit) {
  // What top and free -s do: one descriptor, lseek(0) and read, forever.
  const int fd = ::open(file("meminfo").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  auto reread = [fd] {
    std::string text(8192, '\0');
    EXPECT_EQ(::lseek(fd, 0, SEEK_SET), 0);
    const ssize_t n = ::read(fd, text.data(), text.size());
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return text;
  };
  EXPECT_EQ(kb(reread(), "MemTotal"), 262144u);
  tree().set_limit(cg_, "memory.max", "134217728");
  const auto changed = std::chrono::steady_clock::now();
  std::uint64_t total = 0;
  while (std::chrono::steady_clock::now() - changed < 5s && total != 131072u) {
    total = kb(reread(), "MemTotal");
    std::this_thread::sleep_for(5ms);
  }
  ::close(fd);
  EXPECT_EQ(total, 131072u);
}

TEST_F(ContainerTreeTest, OnlyAContainersInitNamesADirectoryAndOnlyItsOwnerWalksIn) {
  struct stat st {};
  EXPECT_EQ(::stat(mnt(std::to_string(::getpid())).c_str(), &st), -1) << "not a container's init";
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(::stat(mnt("1").c_str(), &st), -1) << "the host's init is not a container's";
  for (const char* bad : {"01", "self", "0", "99999999"}) {
    EXPECT_EQ(::stat(mnt(bad).c_str(), &st), -1) << bad;
  }
  ASSERT_EQ(::stat(mnt(std::to_string(init_)).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0500u);
  EXPECT_EQ(st.st_uid, 0u);  // this container's init runs as root
  // Another user can neither list the tree nor walk into the container.
  const auto& user = testkit::test_user();
  auto ls = user.run({"ls", mount_->mountpoint()});
  EXPECT_NE(ls.exit_code, 0) << ls.out;
  auto cat = user.run({"cat", file("meminfo")});
  EXPECT_NE(cat.exit_code, 0) << cat.out;
  EXPECT_NE(cat.err.find("Permission denied"), std::string::npos) << cat.err;
  // Once the container is gone, so is its directory.
  container_.reset();
  bool gone = false;
  for (int i = 0; i < 300 && !gone; ++i) {
    gone = ::stat(file("meminfo").c_str(), &st) != 0;
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(gone);
}

TEST_F(ContainerTreeTest, FilesStayReadableAcrossALiveUpgrade) {
  EXPECT_EQ(kb(slurp(file("meminfo")), "MemTotal"), 262144u);
  ASSERT_EQ(::kill(mount_->daemon_pid(), SIGUSR1), 0);
  // Reads through the upgrade: the node ids are the same for every server.
  const auto until = std::chrono::steady_clock::now() + 3s;
  int reads = 0;
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_EQ(kb(slurp(file("meminfo")), "MemTotal"), 262144u) << "read " << reads;
    ++reads;
  }
  EXPECT_GT(reads, 0);
  EXPECT_NE(slurp(mount_->log_path()).find("upgrade: server"), std::string::npos) << slurp(mount_->log_path());
}

std::vector<std::string> cpu_dirs(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename();
    if (name.size() > 3 && name.starts_with("cpu") && name.find_first_not_of("0123456789", 3) == std::string::npos)
      out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The container's /sys/devices/system/cpu: its CPUs only (host numbers), the
// host's entries below them, the lists following its cpuset; kept across a
// live upgrade (host entries are numbered by the host's inode numbers).
TEST_F(ContainerTreeTest, TheCpuDirectoryShowsTheContainersCpusAndFollowsItsCpuset) {
  const auto online = parse_cpu_list(slurp("/sys/devices/system/cpu/online"));
  if (online.size() < 2) GTEST_SKIP() << "needs at least 2 online CPUs to hide one (host has " << online.size() << ")";
  const std::string first = std::to_string(online.front()), last = std::to_string(online.back());
  tree().set_limit(cg_, "cpuset.cpus", last);
  const std::string dir = mnt(std::to_string(init_) + "/sys/devices/system/cpu");
  EXPECT_EQ(slurp(dir + "/online"), last + "\n");
  EXPECT_EQ(slurp(dir + "/possible"), last + "\n");
  EXPECT_EQ(cpu_dirs(dir), std::vector<std::string>{"cpu" + last});
  struct stat st {};
  EXPECT_EQ(::stat((dir + "/cpu" + first).c_str(), &st), -1) << "a hidden CPU";
  EXPECT_EQ(errno, ENOENT);
  // Below a visible CPU, the host's own entries and content.
  const std::string core = "/cpu" + last + "/topology/core_id";
  EXPECT_EQ(slurp(dir + core), slurp("/sys/devices/system/cpu" + core));
  ASSERT_EQ(::lstat((dir + "/cpu" + last + "/subsystem").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(std::filesystem::read_symlink(dir + "/cpu" + last + "/subsystem"),
            std::filesystem::read_symlink("/sys/devices/system/cpu/cpu" + last + "/subsystem"));
  EXPECT_EQ(slurp(dir + "/kernel_max"), slurp("/sys/devices/system/cpu/kernel_max"));
  // Nothing there can be written, even by the host's root (which the kernel
  // lets open it: it overrides the mode).
  const int w = ::open((dir + "/kernel_max").c_str(), O_WRONLY | O_CLOEXEC);
  const bool written = w >= 0 && ::write(w, "1\n", 2) >= 0;
  if (w >= 0) ::close(w);
  EXPECT_FALSE(written);
  EXPECT_EQ(slurp(dir + "/kernel_max"), slurp("/sys/devices/system/cpu/kernel_max"));

  // A descriptor kept open on `online` and re-read from offset 0 follows the
  // cpuset; the listing does too.
  const int fd = ::open((dir + "/online").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  tree().set_limit(cg_, "cpuset.cpus", first);
  std::string text;
  for (int i = 0; i < 500 && text != first + "\n"; ++i) {
    char buf[256];
    const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
    text.assign(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    if (text != first + "\n") std::this_thread::sleep_for(10ms);
  }
  ::close(fd);
  EXPECT_EQ(text, first + "\n");
  // The directory's attributes (and so its cached listing) may be 50 ms older.
  std::vector<std::string> listed;
  for (int i = 0; i < 500 && listed != std::vector<std::string>{"cpu" + first}; ++i) {
    listed = cpu_dirs(dir);
    if (listed != std::vector<std::string>{"cpu" + first}) std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(listed, std::vector<std::string>{"cpu" + first});
  // Its cached name, too, lasts at most 50 ms more.
  bool hidden = false;
  for (int i = 0; i < 500 && !hidden; ++i) {
    hidden = ::stat((dir + "/cpu" + last).c_str(), &st) == -1 && errno == ENOENT;
    if (!hidden) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(hidden) << "cpu" << last << " is still there";

  // Across a live upgrade: a directory descriptor held from the old server
  // still leads to the host's entries, which the new server never looked up.
  const int cpu = ::open((dir + "/cpu" + first).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(cpu, 0) << std::strerror(errno);
  ASSERT_EQ(::kill(mount_->daemon_pid(), SIGUSR1), 0);
  for (int i = 0; i < 300 && slurp(mount_->log_path()).find("upgrade: server") == std::string::npos; ++i)
    std::this_thread::sleep_for(20ms);
  ASSERT_NE(slurp(mount_->log_path()).find("upgrade: server"), std::string::npos) << slurp(mount_->log_path());
  std::this_thread::sleep_for(200ms);  // past every cached attribute and name
  const int id = ::openat(cpu, "topology/core_id", O_RDONLY | O_CLOEXEC);
  EXPECT_GE(id, 0) << std::strerror(errno);
  if (id >= 0) {
    char buf[64];
    const ssize_t n = ::read(id, buf, sizeof buf);
    EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0),
              slurp("/sys/devices/system/cpu/cpu" + first + "/topology/core_id"));
    ::close(id);
  }
  ::close(cpu);
}

bool kernel_at_least(int major, int minor) {
  struct utsname u {};
  ::uname(&u);
  int ma = 0, mi = 0;
  if (std::sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

TEST_F(ContainerTreeTest, FilesStayReadableAcrossKill9OfItsServer) {
  // Requests a killed server had read come back to the next one only with
  // FUSE_NOTIFY_RESEND (6.9); before it, a reader caught mid-request waits
  // for good (README: what each kernel gets).
  if (!kernel_at_least(6, 9)) GTEST_SKIP() << "the kernel has no FUSE_NOTIFY_RESEND (6.9): a kill -9 loses requests";
  const pid_t supervisor = mount_->daemon_pid();
  auto server = [&]() -> pid_t {
    auto kids = children_of(supervisor);
    return kids.size() == 1 ? kids.front() : -1;
  };
  // Two readers as a container has them: open/read/close in a loop, and one
  // descriptor re-read from offset 0 (top, free -s).
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0}, wrong{0};
  std::string first_wrong;
  std::mutex first_mutex;
  auto note = [&](const std::string& what) {
    ++wrong;
    std::lock_guard lock(first_mutex);
    if (first_wrong.empty()) first_wrong = what;
  };
  std::vector<std::thread> readers;
  // Joined on every way out of the test (a failed assertion returns early).
  struct Join {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~Join() {
      stop = true;
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  } join{stop, readers};
  readers.emplace_back([&] {
    while (!stop) {
      const std::string text = slurp(file("meminfo"));
      if (kb(text, "MemTotal") != 262144u) note("open/read/close: \"" + text.substr(0, 80) + "\"");
      ++reads;
      std::this_thread::sleep_for(1ms);
    }
  });
  readers.emplace_back([&] {
    const int fd = ::open(file("stat").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      note(std::string("open stat: ") + std::strerror(errno));
      return;
    }
    std::string text(65536, '\0');
    while (!stop) {
      const ssize_t n = ::pread(fd, text.data(), text.size(), 0);
      if (n <= 0 || std::string_view(text.data(), static_cast<std::size_t>(n)).find("cpu ") != 0)
        note("kept descriptor: " + std::string(n < 0 ? std::strerror(errno) : "no cpu line"));
      ++reads;
      std::this_thread::sleep_for(1ms);
    }
    ::close(fd);
  });
  // The crashes start once the first server has started (one killed while
  // starting is a start that failed, which the supervisor reports and exits
  // on: a service manager's to retry).
  for (int t = 0; t < 400 && slurp(mount_->log_path()).find("supervising") == std::string::npos; ++t)
    std::this_thread::sleep_for(50ms);
  ASSERT_NE(slurp(mount_->log_path()).find("supervising"), std::string::npos) << slurp(mount_->log_path());
  constexpr int kCrashes = 5;
  int restarted = 0;
  for (int i = 0; i < kCrashes; ++i) {
    pid_t s = -1;
    for (int t = 0; t < 200 && s <= 0; ++t) {
      s = server();
      if (s <= 0) std::this_thread::sleep_for(50ms);
    }
    ASSERT_GT(s, 0) << "no server before crash " << i << "; children of the supervisor: " << children_of(supervisor).size()
                    << "\n" << slurp(mount_->log_path());
    ASSERT_EQ(::kill(s, SIGKILL), 0) << std::strerror(errno);
    for (int t = 0; t < 200 && (server() <= 0 || server() == s); ++t) std::this_thread::sleep_for(50ms);
    // The next server answers: a name never looked up before reaches the
    // daemon (a read may be served from the page cache without it).
    const std::string probe = mnt(std::to_string(init_) + "/proc/probe-" + std::to_string(i));
    auto asker = testkit::Child::fork_fn([&] {
      struct stat st {};
      return ::stat(probe.c_str(), &st) == -1 && errno == ENOENT ? 0 : 1;
    });
    if (asker.wait(20s) == 0) ++restarted;
  }
  std::this_thread::sleep_for(300ms);
  stop = true;
  for (auto& t : readers) t.join();
  std::cout << "container tree: " << kCrashes << " kill -9 of the server, " << restarted << " restarts, " << reads
            << " reads, " << wrong << " failed or wrong\n";
  EXPECT_EQ(restarted, kCrashes) << "a restarted server did not answer within 20 s";
  EXPECT_EQ(wrong, 0) << first_wrong;
  // The supervisor saw each crash, and the kernel re-queued what was in flight.
  const std::string log = slurp(mount_->log_path());
  std::size_t killed = 0;
  for (auto at = log.find("server killed by signal 9"); at != std::string::npos;
       at = log.find("server killed by signal 9", at + 1))
    ++killed;
  EXPECT_EQ(killed, static_cast<std::size_t>(kCrashes)) << log;
  EXPECT_EQ(log.find("cannot re-queue"), std::string::npos) << log;
}

}  // namespace
}  // namespace nestbox::fs::test
