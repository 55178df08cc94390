// SPDX-License-Identifier: Apache-2.0
// ReaderCache over the real /proc, with real child processes.
#include "reader_cache.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "nestbox/error.hpp"

namespace nestbox::fs {
namespace {

// A child that sleeps until killed; reaped by the destructor.
class Sleeper {
 public:
  Sleeper() {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::pause();
      ::_exit(0);
    }
  }
  ~Sleeper() { stop(); }
  pid_t pid() const { return pid_; }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

const ProcFs& proc() {
  static ProcFs p;
  return p;
}

TEST(ReaderCache, ALiveReaderIsReadOnceWithinTheTtl) {
  Sleeper child;
  ASSERT_GT(child.pid(), 0);
  ReaderCache cache(proc(), Layout::Unified, std::chrono::seconds(60), 16);
  auto first = cache.get(child.pid());
  auto again = cache.get(child.pid());
  EXPECT_EQ(first, again);  // the same entry, not a second read of /proc
  EXPECT_EQ(first->pidns, proc().ns_inode(child.pid(), "pid"));
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ReaderCache, AnExpiredEntryIsReadAgain) {
  Sleeper child;
  ReaderCache cache(proc(), Layout::Unified, std::chrono::milliseconds(1), 16);
  auto first = cache.get(child.pid());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_NE(cache.get(child.pid()), first);
}

TEST(ReaderCache, AnExitedReaderIsNeverServedFromTheCache) {
  auto child = std::make_unique<Sleeper>();
  const pid_t pid = child->pid();
  ReaderCache cache(proc(), Layout::Unified, std::chrono::seconds(60), 16);
  auto first = cache.get(pid);
  child->stop();  // the pid is free now and could be handed to another process
  try {
    // Only possible if the pid was reused already: then it must be a fresh read.
    EXPECT_NE(cache.get(pid), first) << "pid " << pid << " was reused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::NotFound) << e.what();
    EXPECT_EQ(cache.size(), 0u);  // the dead entry was dropped
  }
}

TEST(ReaderCache, TheBoundHoldsAndTheLatestReadersAreStillAnswered) {
  Sleeper a, b, c;
  ReaderCache cache(proc(), Layout::Unified, std::chrono::seconds(60), 2);
  for (pid_t pid : {a.pid(), b.pid(), c.pid()}) {
    auto info = cache.get(pid);
    EXPECT_EQ(info->pidns, proc().ns_inode(pid, "pid"));
  }
  EXPECT_EQ(cache.size(), 2u);
}

TEST(ReaderCache, ThreadsOfAReaderAreAnsweredToo) {
  ReaderCache cache(proc(), Layout::Unified, std::chrono::seconds(60), 16);
  pid_t tid = 0;
  std::shared_ptr<const ReaderInfo> info;
  std::thread t([&] {
    tid = static_cast<pid_t>(::gettid());
    info = cache.get(tid);
  });
  t.join();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->pidns, proc().ns_inode(::getpid(), "pid"));
}

}  // namespace
}  // namespace nestbox::fs
