// SPDX-License-Identifier: Apache-2.0
// Authorization rules over plain data: containment, prefix confusion, ownership,
// the delegated root itself, quotas and ceilings.
#include <gtest/gtest.h>

#include "authorizer.hpp"
#include "nestbox/cgroup_tree.hpp"
#include "nestbox/error.hpp"

namespace nestbox::cgmgr {
namespace {

CgroupPath P(const char* text) { return CgroupPath::parse(text); }

const Caller kRoot{0, 0, 1};
const Caller kAlice{1000, 1000, 4000};
const Caller kBob{1001, 1001, 4001};

class AuthorizerTest : public ::testing::Test {
 protected:
  Authorizer auth{P("/nb"), {P("/nb/supervisor")}};
  std::vector<Grant> grants{{P("/nb/alice"), 1000, 1000, false}, {P("/nb/alice2"), 1001, 1001, true}};

  Errc mutation_error(const Caller& c, const char* path) {
    try {
      auth.authorize_mutation(c, P(path), grants, "Create");
    } catch (const Error& e) {
      return e.code();
    }
    return Errc::Io;  // "allowed": never the answer these tests expect
  }
};

TEST_F(AuthorizerTest, RootMayMutateStrictlyBelowRootOnly) {
  EXPECT_FALSE(auth.authorize_mutation(kRoot, P("/nb/x"), grants, "Create"));
  EXPECT_FALSE(auth.authorize_mutation(kRoot, P("/nb/alice/c"), grants, "Create"));
  EXPECT_EQ(mutation_error(kRoot, "/nb"), Errc::PermissionDenied);
  EXPECT_EQ(mutation_error(kRoot, "/other"), Errc::PermissionDenied);
  EXPECT_EQ(mutation_error(kRoot, "/nbx"), Errc::PermissionDenied);
  EXPECT_EQ(mutation_error(kRoot, "/nb/supervisor"), Errc::PermissionDenied);
  EXPECT_EQ(mutation_error(kRoot, "/nb/supervisor/x"), Errc::PermissionDenied);
}

TEST_F(AuthorizerTest, UserMayMutateStrictlyInsideOwnGrant) {
  auto g = auth.authorize_mutation(kAlice, P("/nb/alice/web"), grants, "Create");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->path, P("/nb/alice"));
  EXPECT_TRUE(auth.authorize_mutation(kAlice, P("/nb/alice/web/deep"), grants, "Create"));
}

TEST_F(AuthorizerTest, UserMayNotTouchOwnDelegatedRoot) {
  try {
    auth.authorize_mutation(kAlice, P("/nb/alice"), grants, "SetLimits");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::PermissionDenied);
    EXPECT_NE(std::string(e.what()).find("delegated to you"), std::string::npos) << e.what();
  }
}

TEST_F(AuthorizerTest, PrefixConfusionIsNotContainment) {
  // alice owns /nb/alice, bob owns /nb/alice2: neither reaches into the other.
  EXPECT_EQ(mutation_error(kAlice, "/nb/alice2/x"), Errc::PermissionDenied);
  EXPECT_EQ(mutation_error(kBob, "/nb/alice/x"), Errc::PermissionDenied);
  EXPECT_TRUE(auth.authorize_mutation(kBob, P("/nb/alice2/x"), grants, "Create"));
}

TEST_F(AuthorizerTest, UserOutsideAnyGrantIsDenied) {
  EXPECT_EQ(mutation_error(kAlice, "/nb/x"), Errc::PermissionDenied);
  EXPECT_EQ(mutation_error(kAlice, "/elsewhere/x"), Errc::PermissionDenied);
  EXPECT_EQ(mutation_error(Caller{1002, 1002, 5}, "/nb/alice/x"), Errc::PermissionDenied);
}

TEST_F(AuthorizerTest, ReadsStayBelowRoot) {
  EXPECT_NO_THROW(auth.check_readable(P("/nb")));
  EXPECT_NO_THROW(auth.check_readable(P("/nb/alice2/x")));
  EXPECT_THROW(auth.check_readable(P("/")), Error);
  EXPECT_THROW(auth.check_readable(P("/nb2")), Error);
}

ProcStatus owned_by(uid_t uid, pid_t pid = 77) {
  ProcStatus s;
  s.pid = pid;
  s.ruid = s.euid = uid;
  return s;
}

Errc attach_error(const Authorizer& a, const Caller& c, const std::optional<Grant>& g, const ProcStatus& s,
                  const char* source) {
  try {
    a.authorize_attach(c, P("/nb/alice/web"), g, s, P(source));
  } catch (const Error& e) {
    return e.code();
  }
  return Errc::Io;
}

TEST_F(AuthorizerTest, AttachOwnProcessFromOutsideOrInsideGrant) {
  std::optional<Grant> g = grants[0];
  EXPECT_NO_THROW(auth.authorize_attach(kAlice, P("/nb/alice/web"), g, owned_by(1000), P("/user.slice/s1")));
  EXPECT_NO_THROW(auth.authorize_attach(kAlice, P("/nb/alice/web"), g, owned_by(1000), P("/nb/alice/db")));
  EXPECT_NO_THROW(auth.authorize_attach(kAlice, P("/nb/alice/web"), g, owned_by(1000), P("/nb/alice")));
}

TEST_F(AuthorizerTest, AttachRefusesForeignProcessesAndForeignSources) {
  std::optional<Grant> g = grants[0];
  EXPECT_EQ(attach_error(auth, kAlice, g, owned_by(1001), "/user.slice"), Errc::PermissionDenied);
  EXPECT_EQ(attach_error(auth, kAlice, g, owned_by(0), "/"), Errc::PermissionDenied);
  ProcStatus setuid = owned_by(1000);
  setuid.euid = 0;
  EXPECT_EQ(attach_error(auth, kAlice, g, setuid, "/user.slice"), Errc::PermissionDenied);
  // The refusal names the effective uid, not the real one it shares with the caller.
  try {
    auth.authorize_attach(kAlice, P("/nb/alice/web"), g, setuid, P("/user.slice"));
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("effective uid 0"), std::string::npos) << e.what();
  }
  // Own process parked in a cgroup of the manager the caller cannot write.
  EXPECT_EQ(attach_error(auth, kAlice, g, owned_by(1000), "/nb/alice2/x"), Errc::PermissionDenied);
  EXPECT_EQ(attach_error(auth, kAlice, g, owned_by(1000), "/nb/rootonly"), Errc::PermissionDenied);
  EXPECT_EQ(attach_error(auth, kAlice, std::nullopt, owned_by(1000), "/x"), Errc::PermissionDenied);
  // Root may move anything.
  EXPECT_NO_THROW(auth.authorize_attach(kRoot, P("/nb/alice/web"), std::nullopt, owned_by(1001), P("/nb/alice2")));
}

TEST_F(AuthorizerTest, DelegateRules) {
  EXPECT_THROW(auth.authorize_delegate(kAlice, P("/nb/new"), 1000, grants), Error);
  EXPECT_NO_THROW(auth.authorize_delegate(kRoot, P("/nb/new"), 1002, grants));
  EXPECT_NO_THROW(auth.authorize_delegate(kRoot, P("/nb/alice"), 1000, grants));  // same grant again
  auto code = [&](const char* path, uid_t uid) {
    try {
      auth.authorize_delegate(kRoot, P(path), uid, grants);
    } catch (const Error& e) {
      return e.code();
    }
    return Errc::Io;
  };
  EXPECT_EQ(code("/nb/alice", 1002), Errc::Exists);
  EXPECT_EQ(code("/nb/alice/sub", 1002), Errc::Exists);
  EXPECT_EQ(code("/nb/alice/sub", 1000), Errc::Exists);
  EXPECT_EQ(code("/nb", 1002), Errc::PermissionDenied);
  EXPECT_EQ(code("/outside", 1002), Errc::PermissionDenied);
  EXPECT_EQ(code("/nb/supervisor", 1002), Errc::PermissionDenied);
  EXPECT_EQ(code("/nb/x", 0), Errc::InvalidValue);
}

TEST(AuthorizerQuota, DepthAndCount) {
  Quota q;
  q.max_depth = 2;
  q.max_cgroups = 3;
  Grant g{P("/nb/alice"), 1000, 1000, false};
  EXPECT_NO_THROW(Authorizer::check_depth(g, q, P("/nb/alice/a/b")));
  EXPECT_THROW(Authorizer::check_depth(g, q, P("/nb/alice/a/b/c")), Error);
  EXPECT_NO_THROW(Authorizer::check_count(g, q, 2));
  try {
    Authorizer::check_count(g, q, 3);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::QuotaExceeded);
  }
}

TEST(AuthorizerQuota, Ceilings) {
  Quota q;
  q.ceilings = {{"memory.max", normalize_limit("memory.max", "1G")},
                {"pids.max", "100"},
                {"cpu.max", normalize_limit("cpu.max", "50000 100000")},
                {"cpuset.cpus", normalize_limit("cpuset.cpus", "0-1")},
                {"cpu.weight", "200"}};
  auto ok = [&](const char* key, const char* value) {
    try {
      Authorizer::check_ceilings(q, {{key, normalize_limit(key, value)}});
      return true;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::QuotaExceeded);
      return false;
    }
  };
  EXPECT_TRUE(ok("memory.max", "512M"));
  EXPECT_TRUE(ok("memory.max", "1G"));
  EXPECT_FALSE(ok("memory.max", "2G"));
  EXPECT_FALSE(ok("memory.max", "max"));
  EXPECT_TRUE(ok("pids.max", "100"));
  EXPECT_FALSE(ok("pids.max", "101"));
  EXPECT_TRUE(ok("cpu.max", "25000 50000"));   // same ratio
  EXPECT_FALSE(ok("cpu.max", "50001 100000"));
  EXPECT_FALSE(ok("cpu.max", "max 100000"));
  EXPECT_TRUE(ok("cpuset.cpus", "1"));
  EXPECT_FALSE(ok("cpuset.cpus", "0-2"));
  EXPECT_TRUE(ok("cpu.weight", "200"));
  EXPECT_FALSE(ok("cpu.weight", "201"));
  EXPECT_TRUE(ok("memory.swap.max", "max"));  // no ceiling for it
}

}  // namespace
}  // namespace nestbox::cgmgr
