// SPDX-License-Identifier: Apache-2.0
// The setup socket's messages and the cgroup view's wire form.
#include "setup_channel.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nestbox/error.hpp"
#include "testing/socket_pair.hpp"

namespace nestbox::launcher {
namespace {

using Pair = nestbox::testing::SocketPair;

TEST(SetupChannel, TagTextAndFdArriveTogether) {
  Pair p;
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  UniqueFd r(pipefd[0]), w(pipefd[1]);
  send_setup_message(p.a.get(), 'C', "memory\t0\t/sys/fs/cgroup/memory/x\n", w.get());
  send_setup_message(p.a.get(), 'G');
  auto m1 = receive_setup_message(p.b.get());
  ASSERT_TRUE(m1);
  EXPECT_EQ(m1->tag, 'C');
  EXPECT_EQ(m1->text, "memory\t0\t/sys/fs/cgroup/memory/x\n");
  ASSERT_TRUE(m1->fd);
  ASSERT_EQ(::write(m1->fd.get(), "k", 1), 1);  // the same pipe
  char c = 0;
  ASSERT_EQ(::read(r.get(), &c, 1), 1);
  EXPECT_EQ(c, 'k');
  auto m2 = receive_setup_message(p.b.get());
  ASSERT_TRUE(m2);
  EXPECT_EQ(m2->tag, 'G');
  EXPECT_TRUE(m2->text.empty());
  EXPECT_FALSE(m2->fd);
  p.a.reset();
  EXPECT_FALSE(receive_setup_message(p.b.get()));  // end of file
}

TEST(SetupChannel, OversizedTextIsRefused) {
  Pair p;
  EXPECT_THROW(send_setup_message(p.a.get(), 'C', std::string(kMaxSetupText + 1, 'x')), Error);
}

TEST(CgroupViewWire, RoundTrip) {
  std::vector<CgroupViewEntry> view = {{"memory", "/sys/fs/cgroup/memory/nb/user-1000/c", false},
                                       {"unified", "/sys/fs/cgroup/unified/nb/user-1000/c", true},
                                       {"", "/sys/fs/cgroup/nb/user-1000/c", true}};
  auto back = decode_cgroup_view(encode_cgroup_view(view));
  ASSERT_EQ(back.size(), view.size());
  for (std::size_t i = 0; i < view.size(); ++i) {
    EXPECT_EQ(back[i].target, view[i].target);
    EXPECT_EQ(back[i].host_dir, view[i].host_dir);
    EXPECT_EQ(back[i].cgroup2, view[i].cgroup2);
  }
  EXPECT_TRUE(decode_cgroup_view("").empty());
}

TEST(CgroupViewWire, RejectsWhatCannotBeEncodedOrParsed) {
  EXPECT_THROW(encode_cgroup_view({{"memory", "/sys/fs/cgroup/memory/a\nb", false}}), Error);
  for (const char* bad : {"memory\t0\t/x", "memory\t2\t/x\n", "memory\t0\tx\n", "memory 0 /x\n", "memory\t0\t\n",
                          "memory\t01\t/x\n"})
    EXPECT_THROW(decode_cgroup_view(bad), Error) << bad;
}

}  // namespace
}  // namespace nestbox::launcher
