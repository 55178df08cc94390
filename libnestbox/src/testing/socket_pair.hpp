// SPDX-License-Identifier: Apache-2.0
// A connected SOCK_SEQPACKET pair for tests of messages over unix sockets.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "nestbox/unique_fd.hpp"

namespace nestbox::testing {

struct SocketPair {
  UniqueFd a, b;
  SocketPair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    a.reset(sv[0]);
    b.reset(sv[1]);
  }
};

}  // namespace nestbox::testing
