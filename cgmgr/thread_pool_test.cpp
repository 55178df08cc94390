// SPDX-License-Identifier: Apache-2.0
// The pool's fairness: one key flooding can neither take another key's share of
// the queue nor all the workers, and root is never refused for the total.
#include "thread_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace nestbox::cgmgr {
namespace {

using namespace std::chrono_literals;

// Jobs that wait until the test opens the gate.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(m_);
    cv_.wait(lock, [this] { return open_; });
  }
  void open() {
    {
      std::lock_guard lock(m_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool open_ = false;
};

bool wait_until(const std::function<bool()>& pred) {
  for (int i = 0; i < 500; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

TEST(ThreadPool, AFloodingKeyIsBoundedAndAnotherKeyIsStillServed) {
  Gate gate;
  std::atomic<int> flood_ran{0}, other_ran{0};
  std::vector<int> order;  // 1 = flood, 2 = other, as the jobs ran
  std::mutex order_mutex;
  {
    ThreadPool pool(2, 64, 16);
    const std::uint32_t flooder = 1000, other = 1001;
    int accepted = 0, refused = 0;
    for (int i = 0; i < 200; ++i) {
      bool ok = pool.try_submit(flooder, [&] {
        gate.wait();
        {
          std::lock_guard lock(order_mutex);
          order.push_back(1);
        }
        ++flood_ran;
      });
      ok ? ++accepted : ++refused;
    }
    // The flooder got exactly its share; the rest was refused.
    EXPECT_EQ(accepted, 16);
    EXPECT_EQ(refused, 184);
    // The flooder runs on at most one of the two workers: the other worker is
    // free, so another key's job runs at once even while the gate is shut.
    std::atomic<bool> ran_while_blocked{false};
    ASSERT_TRUE(pool.try_submit(other, [&] { ran_while_blocked = true; }));
    EXPECT_TRUE(wait_until([&] { return ran_while_blocked.load(); }));
    // Another key's calls are all accepted while the flood waits...
    for (int i = 0; i < 10; ++i)
      ASSERT_TRUE(pool.try_submit(other, [&] {
        {
          std::lock_guard lock(order_mutex);
          order.push_back(2);
        }
        ++other_ran;
      }));
    EXPECT_TRUE(wait_until([&] { return other_ran.load() == 10; }));
    gate.open();
  }  // the destructor drains every queue
  EXPECT_EQ(flood_ran.load(), 16);
  // ...and they did not wait behind the flood's backlog.
  ASSERT_GE(order.size(), 10u);
  EXPECT_EQ(order.front(), 2);
}

TEST(ThreadPool, RootIsAcceptedWhenTheTotalIsFull) {
  Gate gate;
  {
    ThreadPool pool(1, 8, 4);
    // The only worker is busy first, so everything after it waits.
    std::atomic<bool> busy{false};
    ASSERT_TRUE(pool.try_submit(999, [&] {
      busy = true;
      gate.wait();
    }));
    ASSERT_TRUE(wait_until([&] { return busy.load(); }));
    int accepted = 0;
    for (std::uint32_t uid = 1000; uid < 1010; ++uid)
      for (int i = 0; i < 4; ++i) accepted += pool.try_submit(uid, [&] { gate.wait(); }) ? 1 : 0;
    EXPECT_EQ(accepted, 8);  // the total
    EXPECT_FALSE(pool.try_submit(2000, [] {}));
    std::atomic<bool> root_ran{false};
    EXPECT_TRUE(pool.try_submit(0, [&] { root_ran = true; }));
    gate.open();
    EXPECT_TRUE(wait_until([&] { return root_ran.load(); }));
  }
}

TEST(ThreadPool, JobsOfOneKeyStillUseEveryWorkerButOne) {
  Gate gate;
  std::atomic<int> started{0};
  {
    ThreadPool pool(4, 64, 32);
    for (int i = 0; i < 8; ++i) ASSERT_TRUE(pool.try_submit(7, [&] {
      ++started;
      gate.wait();
    }));
    EXPECT_TRUE(wait_until([&] { return started.load() == 3; }));
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(started.load(), 3);  // not 4: one worker stays for others
    gate.open();
  }
  EXPECT_EQ(started.load(), 8);
}

}  // namespace
}  // namespace nestbox::cgmgr
