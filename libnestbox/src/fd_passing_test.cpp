// SPDX-License-Identifier: Apache-2.0
#include "nestbox/fd_passing.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nestbox/error.hpp"
#include "testing/socket_pair.hpp"

namespace nestbox {
namespace {

using Pair = nestbox::testing::SocketPair;

ino_t inode_of(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return st.st_ino;
}

TEST(FdPassing, SeveralFdsArriveInOrderWithTheBytes) {
  Pair p;
  int p1[2], p2[2];
  ASSERT_EQ(::pipe(p1), 0);
  ASSERT_EQ(::pipe(p2), 0);
  UniqueFd r1(p1[0]), w1(p1[1]), r2(p2[0]), w2(p2[1]);
  const int fds[] = {w1.get(), r2.get()};
  send_fds(p.a.get(), "take v1", fds);
  auto m = receive_fds(p.b.get(), 64, 4);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->bytes, "take v1");
  ASSERT_EQ(m->fds.size(), 2u);
  EXPECT_EQ(inode_of(m->fds[0].get()), inode_of(w1.get()));
  EXPECT_EQ(inode_of(m->fds[1].get()), inode_of(r2.get()));
  EXPECT_EQ(::fcntl(m->fds[0].get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  p.a.reset();
  EXPECT_FALSE(receive_fds(p.b.get(), 64, 4));  // end of file
}

TEST(FdPassing, TooManyFdsOrBytesAreRefused) {
  Pair p;
  int pp[2];
  ASSERT_EQ(::pipe(pp), 0);
  UniqueFd r(pp[0]), w(pp[1]);
  const int two[] = {r.get(), w.get()};
  send_fds(p.a.get(), "x", two);
  EXPECT_THROW(receive_fds(p.b.get(), 64, 1), Error);
  send_fds(p.a.get(), std::string(65, 'x'));
  EXPECT_THROW(receive_fds(p.b.get(), 64, 1), Error);
  // The refused fds were closed: the pipe's write end is ours alone again.
  w.reset();
  char c;
  EXPECT_EQ(::read(r.get(), &c, 1), 0);
  const int nine[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_THROW(send_fds(p.a.get(), "x", nine), Error);
}

}  // namespace
}  // namespace nestbox
