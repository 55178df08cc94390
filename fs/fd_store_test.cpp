// SPDX-License-Identifier: Apache-2.0
#include "fd_store.hpp"

#include <gtest/gtest.h>

namespace nestbox::fs {
namespace {

TEST(SupervisorState, RoundTripsThroughTheMemfd) {
  SupervisorState s{41, std::string("\x28\0\0\0\x1a\0\0\0binary INIT", 19)};
  UniqueFd fd = make_state_memfd(s);
  ASSERT_TRUE(fd);
  auto back = read_state(fd.get());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->epoch, 41);
  EXPECT_EQ(back->init, s.init);
  // Rewritten in place, shorter: nothing of the old content is left.
  ASSERT_TRUE(rewrite_state(fd.get(), SupervisorState{42, "x"}));
  back = read_state(fd.get());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->epoch, 42);
  EXPECT_EQ(back->init, "x");
}

TEST(SupervisorState, AnythingElseIsRefused) {
  const std::string good = encode_state({7, "abc"});
  EXPECT_TRUE(decode_state(good));
  for (const std::string& bad :
       {std::string(), std::string("nestbox-fs supervisor state 1\n"), good.substr(0, good.size() - 1), good + "d",
        std::string("nestbox-fs supervisor state 1\n70000\n0\n"), std::string("nestbox-fs supervisor state 1\n-1\n0\n"),
        std::string("nestbox-fs supervisor state 2\n7\n3\nabc"), std::string("nestbox-fs supervisor state 1\n7\n99999999\n")})
    EXPECT_FALSE(decode_state(bad)) << bad;
}

TEST(FdStore, NothingWithoutAServiceManager) {
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("LISTEN_FDS");
  EXPECT_FALSE(FdStore::available());
  StoredConnection c = FdStore::take();
  EXPECT_FALSE(c.fuse);
  EXPECT_FALSE(c.state);
}

}  // namespace
}  // namespace nestbox::fs
