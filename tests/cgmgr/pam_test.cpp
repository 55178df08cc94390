// SPDX-License-Identifier: Apache-2.0
// pam_nestbox in a login's session stack (a private PAM config directory, the
// private bus, a real user): the session gets a cgroup of its own inside the
// user's delegation, in every hierarchy the manager manages, owned by the user,
// removed with the session's last process; a login the module cannot serve
// still succeeds.
#include <sstream>

#include "pam_fixture.hpp"

namespace nestbox::cgmgr_test {
namespace {

#ifndef NESTBOX_PAM_MODULE
TEST(PamTest, ModuleIsBuilt) { GTEST_SKIP() << "pam_nestbox is not built: install libpam0g-dev and reconfigure"; }
#else

class PamTest : public PamLoginTest {
 protected:
  // The cgroup paths in /proc/self/cgroup text of the hierarchies the manager
  // manages here: the memory and pids lines on v1/hybrid, the cgroup2 line on v2.
  std::vector<std::string> paths_in(const std::string& text) const {
    std::vector<std::string> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      const auto a = line.find(':'), b = line.find(':', a + 1);
      if (a == std::string::npos || b == std::string::npos) continue;
      const std::string ctrls = line.substr(a + 1, b - a - 1);
      const bool v2 = line.compare(0, 3, "0::") == 0;
      const bool relevant = v2 ? sandbox_->tree().layout() == Layout::Unified
                               : ctrls.find("memory") != std::string::npos || ctrls.find("pids") != std::string::npos;
      if (relevant) out.push_back(line.substr(b + 1));
    }
    return out;
  }
};

TEST_F(PamTest, ALoginGetsASessionCgroupInItsDelegationThatGoesWithIt) {
  const auto& user = tk::test_user();
  const std::string grant = root_ + "/user-" + std::to_string(user.uid);
  auto r = login(user.name, "cat /proc/self/cgroup");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.rfind("open=Success\n", 0), 0u) << r.out;
  const auto at = r.out.find(grant + "/session-");
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string session = r.out.substr(at, r.out.find('\n', at) - at);
  EXPECT_NE(r.out.find("close=Success"), std::string::npos) << r.out;
  // The leader and what it started (the shell's cat) live in the session
  // cgroup in every hierarchy the manager manages (hybrid: each v1 one).
  const auto paths = paths_in(r.out);
  ASSERT_FALSE(paths.empty()) << r.out;
  for (const auto& p : paths) EXPECT_EQ(p, session) << r.out;
  // The login ended: its cgroup goes with its last process (remove-on-empty).
  EXPECT_TRUE(eventually([&] { return !sandbox_->tree().exists(CgroupPath::parse(session)); })) << session;
  EXPECT_TRUE(sandbox_->tree().exists(CgroupPath::parse(grant)));
}

TEST_F(PamTest, TheSessionCgroupIsTheUsers) {
  const auto& user = tk::test_user();
  // The session's command asks for its own cgroup's owner while it runs.
  auto r = login(user.name, "stat -c owner=%u /sys/fs/cgroup/unified$(sed -n 's/^0:://p' /proc/self/cgroup) "
                            "/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup) 2>/dev/null | head -1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("owner=" + std::to_string(user.uid)), std::string::npos) << r.out;
}

TEST_F(PamTest, ALoginTheModuleCannotServeStillOpens) {
  // nobody: the policy grants it nothing.
  auto r = login("nobody");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("open=Success\n", 0), 0u) << r.out;
  EXPECT_EQ(r.out.find(root_), std::string::npos) << r.out;
  // The manager is down.
  stop_daemon();
  r = login(tk::test_user().name);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("open=Success\n", 0), 0u) << r.out;
  EXPECT_EQ(r.out.find(root_), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("close=Success"), std::string::npos) << r.out;
}

#endif

}  // namespace
}  // namespace nestbox::cgmgr_test
