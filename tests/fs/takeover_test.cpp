// SPDX-License-Identifier: Apache-2.0
// nestbox-fs never breaks a running container's files: readers loop on files
// bound from the mount in their own mount namespaces (as containers hold them)
// across a live upgrade (SIGUSR1), ten kill -9's in a row of the serving
// process, and an upgrade to a binary that cannot start. Every read must
// succeed with the right MemTotal, and no read may wait more than 2 s.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "fs_fixture.hpp"
#include "nestbox/parse.hpp"
#include "nestbox/unique_fd.hpp"
#include "testkit.hpp"

namespace nestbox::fs::test {
namespace {

using namespace std::chrono_literals;
namespace tk = nestbox::testkit;

std::string memtotal_line(const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("MemTotal:", 0) == 0) return line;
  return "";
}

std::string kernel_release() {
  struct utsname u {};
  ::uname(&u);
  return u.release;
}

bool kernel_at_least(int major, int minor) {
  int ma = 0, mi = 0;
  if (std::sscanf(kernel_release().c_str(), "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

struct Tally {
  long reads = 0, errors = 0, wrong = 0, blocked = 0, crash_errors = 0;
  std::string first_error;
  std::string first_crash_error;  // sums only
};

std::string errno_name(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : std::to_string(err);
}

// One reader: its own mount namespace with the mount's meminfo bound over
// /proc/meminfo, open/read/close until `stop` exists. Reports a Tally line.
int reader(int report_fd, const std::string& source, const std::string& expected, const std::string& stop,
           const std::string& crashing) {
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount(source.c_str(), "/proc/meminfo", nullptr, MS_BIND, nullptr) != 0) {
    dprintf(report_fd, "setup-failed %s\n", std::strerror(errno));
    return 1;
  }
  Tally t;
  char buf[8192];
  while (::access(stop.c_str(), F_OK) != 0) {
    // Failed reads while the test kills servers are counted apart.
    const bool in_crash_phase = ::access(crashing.c_str(), F_OK) == 0;
    const auto start = std::chrono::steady_clock::now();
    int fd = ::open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? ::read(fd, buf, sizeof buf - 1) : -1;
    const int err = errno;
    if (fd >= 0) ::close(fd);
    if (std::chrono::steady_clock::now() - start > 2s) ++t.blocked;
    ++t.reads;
    if (n <= 0) {
      ++(in_crash_phase ? t.crash_errors : t.errors);
      // One word, naming the call and what it got.
      if (t.first_error.empty())
        t.first_error = fd < 0 ? "open:" + errno_name(err) : n < 0 ? "read:" + errno_name(err) : "read:empty";
      continue;
    }
    buf[n] = 0;
    if (memtotal_line(buf) != expected) ++t.wrong;
  }
  dprintf(report_fd, "%ld %ld %ld %ld %ld %s\n", t.reads, t.errors, t.crash_errors, t.wrong, t.blocked,
          t.first_error.empty() ? "-" : t.first_error.c_str());
  return 0;
}

// The readers of a test, forked one by one from the test's only thread, each
// with a pipe for its report. Whatever assertion ends a test early, they are
// stopped and reaped.
class ReaderPool {
 public:
  ReaderPool(int count, const std::string& source, const std::string& expected, const std::string& stop,
             const std::string& crashing)
      : stop_(stop) {
    for (int i = 0; i < count; ++i) {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) break;
      pid_t pid = ::fork();
      if (pid < 0) break;
      if (pid == 0) {
        ::close(p[0]);
        ::_exit(reader(p[1], source, expected, stop, crashing));
      }
      ::close(p[1]);
      readers_.push_back({pid, p[0]});
    }
  }
  ~ReaderPool() {
    if (collected_) return;
    std::ofstream(stop_) << "stop\n";
    for (const Reader& r : readers_) {
      ::kill(r.pid, SIGKILL);
      ::waitpid(r.pid, nullptr, 0);
      ::close(r.out);
    }
  }
  std::size_t size() const { return readers_.size(); }
  // Stops the readers and sums their reports; a reader still stuck in a read
  // 10 s after the stop is counted in `hung` (and killed).
  Tally collect(long& hung) {
    { std::ofstream(stop_) << "stop\n"; }
    std::vector<std::string> reports;
    hung = 0;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    for (const Reader& r : readers_) {
      std::string text;
      char buf[256];
      for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        struct pollfd pfd = {r.out, POLLIN, 0};
        if (::poll(&pfd, 1, static_cast<int>(std::max<long>(left.count(), 0))) <= 0) {
          ++hung;
          ::kill(r.pid, SIGKILL);
          break;
        }
        ssize_t n = ::read(r.out, buf, sizeof buf);
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
      }
      ::close(r.out);
      ::waitpid(r.pid, nullptr, 0);
      if (!text.empty()) reports.push_back(text);
    }
    collected_ = true;
    Tally total;
    for (const auto& text : reports) {
      std::istringstream in(text);
      Tally t;
      in >> t.reads >> t.errors >> t.crash_errors >> t.wrong >> t.blocked >> t.first_error;
      if (in.fail()) {
        ++total.errors;
        if (total.first_error.empty()) total.first_error = "a reader reported: " + text;
        continue;
      }
      total.reads += t.reads;
      total.errors += t.errors;
      total.crash_errors += t.crash_errors;
      total.wrong += t.wrong;
      total.blocked += t.blocked;
      if (total.first_error.empty() && t.errors) total.first_error = t.first_error;
      if (total.first_crash_error.empty() && t.crash_errors) total.first_crash_error = t.first_error;
    }
    return total;
  }

 private:
  struct Reader {
    pid_t pid;
    int out;
  };
  std::string stop_;
  std::vector<Reader> readers_;
  bool collected_ = false;
};

// How many readers a test runs: `wanted`, or NESTBOX_TAKEOVER_READERS where
// the CPUs are emulated (the VM tier under TCG), where many busy processes
// alone keep a read waiting for seconds.
int reader_count(int wanted) {
  if (const char* n = std::getenv("NESTBOX_TAKEOVER_READERS")) return std::max(1, std::atoi(n));
  return wanted;
}

// Stops the readers, prints what they saw under `label`, and checks that the
// event cost them nothing: every reader answered, no failed read, no wrong
// value, none blocked over 2 s.
void expect_readers_saw_nothing(ReaderPool& pool, const std::string& label) {
  long hung = 0;
  Tally total = pool.collect(hung);
  std::cout << label << ": " << pool.size() << " readers, " << total.reads << " reads, " << total.errors
            << " errors, " << total.wrong << " wrong MemTotal, " << total.blocked << " reads blocked > 2 s\n";
  EXPECT_EQ(hung, 0) << "readers never answered";
  EXPECT_GT(total.reads, static_cast<long>(pool.size()));
  EXPECT_EQ(total.errors, 0) << "first error: " << total.first_error;
  EXPECT_EQ(total.wrong, 0);
  EXPECT_EQ(total.blocked, 0);
}

// Every test needs root (mounts), FUSE and the built nestbox-fs.
class FsTakeover : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mounts)";
    NESTBOX_SKIP_IF_MISSING(tk::missing_fuse());
    built_ = tk::built_program("nestbox-fs");
    if (::access(built_.c_str(), X_OK) != 0) GTEST_SKIP() << "nestbox-fs is not built at " << built_;
  }
  std::string built_;
};

TEST_F(FsTakeover, ReadersSeeNoErrorAcrossUpgradeCrashesAndAFailedUpgrade) {
  const std::string built = built_;
  // A copy of the program: the test replaces it to play a package upgrade.
  tk::TempDir bin("nestbox-fs-bin", 0755);
  const std::string program = bin.path() + "/nestbox-fs";
  std::filesystem::copy_file(built, program);
  ::chmod(program.c_str(), 0755);

  tk::FuseMount mount({program, "-f"});
  const pid_t supervisor = mount.daemon_pid();
  const std::string source = mount.mountpoint() + "/proc/meminfo";
  const std::string expected = memtotal_line(slurp(source));
  ASSERT_FALSE(expected.empty()) << slurp(source);

  // 100 readers as containers would hold them.
  const int kReaders = reader_count(100);
  const std::string stop = bin.path() + "/stop";
  const std::string crashing = bin.path() + "/crashing";
  ReaderPool pool(kReaders, source, expected, stop, crashing);
  ASSERT_EQ(pool.size(), static_cast<std::size_t>(kReaders));
  std::this_thread::sleep_for(1s);

  auto server = [&]() -> pid_t {
    for (int i = 0; i < 100; ++i) {
      auto kids = children_of(supervisor);
      if (kids.size() == 1) return kids.front();
      std::this_thread::sleep_for(50ms);
    }
    return -1;
  };
  // 1. Live upgrade to the binary now at the path (a fresh copy of the build).
  std::filesystem::copy_file(built, program + ".new");
  ::chmod((program + ".new").c_str(), 0755);
  std::filesystem::rename(program + ".new", program);
  const pid_t before = server();
  ASSERT_GT(before, 0);
  ASSERT_EQ(::kill(supervisor, SIGUSR1), 0);
  bool replaced = false;
  for (int i = 0; i < 100 && !replaced; ++i) {
    std::this_thread::sleep_for(100ms);
    auto kids = children_of(supervisor);
    replaced = kids.size() == 1 && kids.front() != before;
  }
  EXPECT_TRUE(replaced) << "the upgrade did not replace the server";
  // 2. Ten crashes of the serving process in a row. Only kernels with
  // FUSE_NOTIFY_RESEND (6.9) give back the requests a killed server had read;
  // on older ones those readers wait for good (README: what each kernel gets).
  const bool resend = kernel_at_least(6, 9);
  if (!resend)
    std::cout << "[ SKIPPED-PART ] kill -9 of the server: kernel " << kernel_release()
              << " has no FUSE_NOTIFY_RESEND, so requests in flight at a crash are lost there\n";
  if (resend) std::ofstream(crashing) << "1\n";
  for (int i = 0; resend && i < 10; ++i) {
    const pid_t s = server();
    ASSERT_GT(s, 0) << "no server after crash " << i;
    ::kill(s, SIGKILL);
    std::this_thread::sleep_for(500ms);
    // Each kill hits a server that serves: a read of our own completes only
    // once the restarted one answers (on a slow machine, a kill before that
    // would hit a server still starting, which the supervisor retries with a
    // growing pause, as it must for a broken install).
    // (Our own read is not counted: the readers count.)
    for (int tries = 0; tries < 100 && memtotal_line(slurp(source)) != expected; ++tries)
      std::this_thread::sleep_for(100ms);
  }
  if (resend) {
    std::this_thread::sleep_for(2s);  // a restart's last answers
    std::filesystem::remove(crashing);
  }
  // 3. An upgrade to a program that cannot start: the running server stays.
  {
    std::ofstream broken(program + ".new");
    broken << "#!/bin/sh\nexit 1\n";
  }
  ::chmod((program + ".new").c_str(), 0755);
  std::filesystem::rename(program + ".new", program);
  const pid_t serving = server();
  ::kill(supervisor, SIGUSR1);
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(server(), serving) << "the failed upgrade replaced the running server";

  long hung = 0;
  Tally total = pool.collect(hung);
  EXPECT_EQ(hung, 0) << "readers never answered";
  std::cout << "takeover: " << kReaders << " readers, " << total.reads << " reads, " << total.errors
            << " errors outside the crashes, " << total.crash_errors << " failed reads around the 10 kill -9s, "
            << total.wrong << " wrong MemTotal, " << total.blocked << " reads blocked > 2 s\n";
  EXPECT_GT(total.reads, kReaders);
  // Upgrades (done and failed) and crashes cost no read, no wrong value and
  // leave no reader waiting.
  EXPECT_EQ(total.errors, 0) << "first error: " << total.first_error;
  EXPECT_EQ(total.crash_errors, 0) << "failed reads around the kill -9s; first: " << total.first_crash_error;
  EXPECT_EQ(total.wrong, 0);
  EXPECT_EQ(total.blocked, 0);
  // A real stop still unmounts.
  mount.terminate_daemon();
  EXPECT_FALSE(tk::is_mounted(mount.mountpoint()));
}


// A stand-in for the service manager's side of sd_notify, as much of it as
// nestbox-fs uses: READY=1 and the fd store (FDSTORE=1 / FDSTOREREMOVE=1 with
// FDNAME=), on a datagram socket named by NOTIFY_SOCKET.
class FakeServiceManager {
 public:
  FakeServiceManager() : dir_("nestbox-fake-pid1", 0755), path_(dir_.path() + "/notify") {
    sock_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    bound_ = sock_ >= 0 && ::bind(sock_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~FakeServiceManager() {
    for (auto& [name, fd] : store_) ::close(fd);
    if (sock_ >= 0) ::close(sock_);
  }
  bool ok() const { return bound_; }
  const std::string& path() const { return path_; }
  // Takes the messages that arrive within `wait`, up to and including a
  // READY=1 (then true).
  bool pump(std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{sock_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 0))) <= 0) return false;
      char buf[4096];
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8) + CMSG_SPACE(sizeof(ucred))];
      iovec iov{buf, sizeof buf - 1};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t n = ::recvmsg(sock_, &msg, MSG_CMSG_CLOEXEC);
      if (n < 0) continue;
      std::vector<int> fds;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
          for (std::size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); ++i)
            fds.push_back(reinterpret_cast<int*>(CMSG_DATA(c))[i]);
      const std::string text(buf, static_cast<std::size_t>(n));
      std::string name;
      if (auto at = text.find("FDNAME="); at != std::string::npos)
        name = text.substr(at + 7, text.find('\n', at) - (at + 7));
      if (text.find("FDSTORE=1") != std::string::npos && fds.size() == 1 && !name.empty()) {
        if (store_.count(name)) ::close(store_[name]);
        store_[name] = fds.front();
        fds.clear();
      } else if (text.find("FDSTOREREMOVE=1") != std::string::npos && store_.count(name)) {
        ::close(store_[name]);
        store_.erase(name);
      }
      for (int fd : fds) ::close(fd);
      if (text.find("READY=1") != std::string::npos) return true;
    }
  }
  std::size_t stored() const { return store_.size(); }
  // Starts `argv` the way the service manager restarts a unit: the stored fds
  // from 3 on, named in LISTEN_FDNAMES, with LISTEN_PID its own pid.
  pid_t restart(const std::vector<std::string>& argv) {
    std::vector<std::pair<std::string, int>> fds(store_.begin(), store_.end());
    std::string names;
    for (const auto& [name, fd] : fds) names += (names.empty() ? "" : ":") + name;
    pid_t pid = ::fork();
    if (pid != 0) return pid;
    // Child: move the fds out of the way first, then to 3, 4, ...
    std::vector<int> high;
    for (const auto& [name, fd] : fds) high.push_back(::fcntl(fd, F_DUPFD, 100));
    for (std::size_t i = 0; i < high.size(); ++i) ::dup2(high[i], 3 + static_cast<int>(i));
    ::setenv("LISTEN_FDS", std::to_string(high.size()).c_str(), 1);
    ::setenv("LISTEN_FDNAMES", names.c_str(), 1);
    ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int log = ::open((dir_.path() + "/restarted.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  std::string restarted_log() const { return slurp(dir_.path() + "/restarted.log"); }

 private:
  tk::TempDir dir_;
  std::string path_;
  int sock_ = -1;
  bool bound_ = false;
  std::map<std::string, int> store_;
};

bool alive(pid_t pid) {
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close != std::string::npos && stat.size() > close + 2 && stat[close + 2] != 'Z';
}

// Under a service manager (Restart=, FileDescriptorStoreMax= of the shipped
// unit), a kill -9 of the supervisor itself: the one started next takes the
// connection, its state and the still-serving server from the fd store, the
// old server drains, and readers see nothing. The VM tier runs the same under
// the real systemd with the unit as shipped.
TEST_F(FsTakeover, ASupervisorRestartedWithTheFdStoreKeepsTheConnection) {
  const std::string program = built_;
  FakeServiceManager manager;
  ASSERT_TRUE(manager.ok()) << std::strerror(errno);
  tk::FuseMount mount({program, "-f"}, 20s, {{"NOTIFY_SOCKET", manager.path()}});
  const pid_t supervisor = mount.daemon_pid();
  ASSERT_TRUE(manager.pump(5s)) << "no READY=1 from the supervisor";
  EXPECT_EQ(manager.stored(), 4u) << "fuse, state, ctl and server are stored";
  const std::string source = mount.mountpoint() + "/proc/meminfo";
  const std::string expected = memtotal_line(slurp(source));
  ASSERT_FALSE(expected.empty());
  auto kids = children_of(supervisor);
  ASSERT_EQ(kids.size(), 1u);
  const pid_t old_server = kids.front();

  tk::TempDir work("nestbox-fdstore", 0755);
  const std::string stop = work.path() + "/stop";
  const int kReaders = reader_count(20);
  ReaderPool pool(kReaders, source, expected, stop, work.path() + "/never");
  ASSERT_EQ(pool.size(), static_cast<std::size_t>(kReaders));
  std::this_thread::sleep_for(1s);

  // 1. The supervisor dies; its server serves on (its control socket's other
  //    end is in the store, so it sees no EOF).
  ASSERT_EQ(::kill(supervisor, SIGKILL), 0);
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(alive(old_server)) << "the server must outlive its supervisor";
  // 2. The restart: a new supervisor from the stored fds, on the same mount.
  const pid_t next = manager.restart({program, "-f", mount.mountpoint()});
  ASSERT_GT(next, 0);
  struct Reap {
    pid_t pid;
    ~Reap() {
      if (pid <= 0) return;  // never kill(-1)
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reap{next};
  EXPECT_TRUE(manager.pump(20s)) << "no READY=1 from the restarted supervisor\n" << manager.restarted_log();
  // 3. The old server drains and exits; the new supervisor's one serves.
  bool drained = false;
  for (int i = 0; i < 100 && !drained; ++i) {
    drained = !alive(old_server);
    if (!drained) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(drained) << "the previous server did not exit\n" << manager.restarted_log();
  EXPECT_EQ(children_of(next).size(), 1u) << manager.restarted_log();
  std::this_thread::sleep_for(1s);

  expect_readers_saw_nothing(pool, "fd store restart");
  // Epochs go on from the stored state: the new server is not epoch 1 again.
  const std::string log = manager.restarted_log();
  EXPECT_NE(log.find("took over"), std::string::npos) << log;
  EXPECT_EQ(log.find("(epoch 1,"), std::string::npos) << log;

  // 4. A real stop of the restarted supervisor unmounts and empties the store.
  ASSERT_EQ(::kill(next, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(next, &status, 0), next);
  reap.pid = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
  manager.pump(200ms);
  EXPECT_EQ(manager.stored(), 0u) << "a stop leaves nothing to adopt";
  EXPECT_FALSE(tk::is_mounted(mount.mountpoint()));
}

std::size_t fuse_mounts_at(const std::string& mountpoint) {
  std::istringstream in(slurp("/proc/self/mountinfo"));
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point;
    f >> id >> parent >> dev >> root >> point;
    if (point == mountpoint && line.find(" - fuse") != std::string::npos) ++n;
  }
  return n;
}

// Without a service manager (a DaemonSet's rolling update: the new pod starts
// beside the old one, both see the node's /var/lib/nestbox): a second
// supervisor started with the same --handover socket takes the running mount
// over, its server serves, the first one's server drains, the first supervisor
// steps back and its stop unmounts nothing. Readers see nothing of it.
TEST_F(FsTakeover, ASupervisorStartedWithHandoverTakesTheRunningMountOver) {
  const std::string program = built_;
  tk::TempDir work("nestbox-handover", 0755);
  const std::string socket = work.path() + "/handover.sock";
  const std::string first_ready = work.path() + "/first.ready", second_ready = work.path() + "/second.ready";
  tk::FuseMount mount({program, "-f", "--handover", socket, "--ready-file", first_ready});
  const pid_t first = mount.daemon_pid();
  const std::string source = mount.mountpoint() + "/proc/meminfo";
  const std::string expected = memtotal_line(slurp(source));
  ASSERT_FALSE(expected.empty());
  for (int i = 0; i < 100 && ::access(socket.c_str(), F_OK) != 0; ++i) std::this_thread::sleep_for(50ms);
  struct stat st {};
  ASSERT_EQ(::stat(socket.c_str(), &st), 0) << "no handover socket";
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "only root may ask for the connection";
  auto first_kids = children_of(first);
  ASSERT_EQ(first_kids.size(), 1u);
  const pid_t first_server = first_kids.front();

  const std::string stop = work.path() + "/stop";
  const int kReaders = reader_count(20);
  ReaderPool pool(kReaders, source, expected, stop, work.path() + "/never");
  ASSERT_EQ(pool.size(), static_cast<std::size_t>(kReaders));
  std::this_thread::sleep_for(1s);

  // 1. The second supervisor: no mount of its own, the first one's connection.
  const std::string log = work.path() + "/second.log";
  EXPECT_EQ(slurp(first_ready), std::to_string(first) + "\n");
  tk::Child second = tk::Child::spawn({"sh", "-c", "exec \"$0\" -f --handover \"$1\" --ready-file \"$2\" \"$3\" 2>\"$4\"",
                                       program, socket, second_ready, mount.mountpoint(), log});
  // 2. Its server serves and the first one's drains and exits.
  bool handed = false;
  for (int i = 0; i < 200 && !handed; ++i) {
    handed = !alive(first_server) && children_of(second.pid()).size() == 1;
    if (!handed) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(handed) << "no handover\n" << slurp(log) << "\nfirst:\n" << slurp(mount.log_path());
  EXPECT_EQ(fuse_mounts_at(mount.mountpoint()), 1u) << "the second supervisor must not mount";
  EXPECT_TRUE(alive(first)) << "the first supervisor waits for its stop";
  // (A restart would come at once; the drained server may be a zombie for a moment.)
  std::this_thread::sleep_for(500ms);
  const auto kids = children_of(first);
  EXPECT_TRUE(std::none_of(kids.begin(), kids.end(), alive))
      << "the first supervisor must not restart its drained server";
  // Readiness follows who serves (a pod's probe: the mount alone serves either way).
  EXPECT_EQ(::access(first_ready.c_str(), F_OK), -1);
  EXPECT_EQ(slurp(second_ready), std::to_string(second.pid()) + "\n");
  // 3. The first supervisor's stop (its pod deleted) unmounts nothing.
  EXPECT_EQ(mount.terminate_daemon(), 0);
  EXPECT_TRUE(tk::is_mounted(mount.mountpoint()));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(memtotal_line(slurp(source)), expected);

  expect_readers_saw_nothing(pool, "handover");
  const std::string second_log = slurp(log);
  EXPECT_EQ(second_log.find("(epoch 1,"), std::string::npos) << "epochs go on from the first supervisor's\n"
                                                              << second_log;
  // 4. The socket now leads to the second supervisor, which a third could ask
  //    in turn; a real stop of the second one unmounts.
  EXPECT_EQ(::stat(socket.c_str(), &st), 0);
  second.kill(SIGTERM);
  EXPECT_EQ(second.wait(), 0) << second_log;
  EXPECT_FALSE(tk::is_mounted(mount.mountpoint()));
  EXPECT_EQ(::access(second_ready.c_str(), F_OK), -1);
}

// A SOCK_SEQPACKET socket bound at `path` (invalid if that fails).
UniqueFd bound_socket(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return UniqueFd();
  return fd;
}

// A supervisor that cannot get the connection from one that listens fails
// rather than mounting a second filesystem over the first one; nobody
// listening (a stale socket of a dead one) means mounting anew.
TEST_F(FsTakeover, HandoverRefusedOrStale) {
  const std::string program = built_;
  tk::TempDir work("nestbox-handover", 0755);
  // A listener that answers "busy".
  const std::string busy_socket = work.path() + "/busy.sock";
  {
    UniqueFd l = bound_socket(busy_socket);
    ASSERT_TRUE(l);
    ASSERT_EQ(::listen(l.get(), 1), 0);
    tk::Child peer = tk::Child::fork_fn([&]() -> int {
      UniqueFd c(::accept(l.get(), nullptr, nullptr));
      char buf[64];
      if (::recv(c.get(), buf, sizeof buf, 0) != 4) return 1;
      const char answer[] = "busy: an upgrade is still draining the previous server";
      return ::send(c.get(), answer, sizeof answer - 1, 0) > 0 ? 0 : 2;
    });
    tk::TempDir mnt("nestbox-handover-mnt", 0755);
    auto r = tk::run({program, "-f", "--handover", busy_socket, mnt.path()});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE((r.out + r.err).find("an upgrade is still draining"), std::string::npos) << r.out << r.err;
    EXPECT_FALSE(tk::is_mounted(mnt.path()));
    EXPECT_EQ(peer.wait(), 0);
  }
  // A socket file nobody listens on: mounted anew, and the socket is ours now.
  const std::string stale = work.path() + "/stale.sock";
  ASSERT_TRUE(bound_socket(stale));  // closed at once: the file stays, nobody listens
  tk::FuseMount mount({program, "-f", "--handover", stale});
  EXPECT_FALSE(memtotal_line(slurp(mount.mountpoint() + "/proc/meminfo")).empty());
}

}  // namespace
}  // namespace nestbox::fs::test
