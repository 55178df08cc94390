// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "access.hpp"
#include "nestbox/error.hpp"

namespace nestbox::fs {
namespace {

struct stat file(uid_t uid, gid_t gid, mode_t mode) {
  struct stat st {};
  st.st_uid = uid;
  st.st_gid = gid;
  st.st_mode = S_IFREG | mode;
  return st;
}

Cred user(uid_t uid, gid_t gid, std::vector<gid_t> groups = {}) { return Cred{100, uid, gid, std::move(groups)}; }

TEST(Dac, OwnerGroupOther) {
  auto st = file(1000, 1000, 0640);
  EXPECT_TRUE(dac_allows(st, user(1000, 1000), kRead | kWrite));
  EXPECT_TRUE(dac_allows(st, user(2000, 1000), kRead));
  EXPECT_FALSE(dac_allows(st, user(2000, 1000), kWrite));
  EXPECT_TRUE(dac_allows(st, user(2000, 3000, {1000}), kRead));
  EXPECT_FALSE(dac_allows(st, user(2000, 3000), kRead));
}

TEST(Dac, OwnerBitsWinEvenWhenGroupWouldAllow) {
  auto st = file(1000, 1000, 0064);
  EXPECT_FALSE(dac_allows(st, user(1000, 1000), kRead));
}

TEST(Dac, RootOverrides) {
  auto st = file(1000, 1000, 0);
  EXPECT_TRUE(dac_allows(st, user(0, 0), kRead | kWrite));
}

MoveRequest request(uid_t writer, uid_t target, std::string_view view, std::string_view src, std::string_view dst) {
  MoveRequest r;
  r.writer = user(writer, writer);
  r.target_ruid = r.target_suid = target;
  r.view_root = CgroupPath::parse(view);
  r.source = CgroupPath::parse(src);
  r.destination = CgroupPath::parse(dst);
  return r;
}

TEST(CheckMove, InsideOwnViewAllowed) {
  CgroupPath seen;
  check_move(request(1000, 1000, "/c", "/c/a", "/c/b"), [&](const CgroupPath& p) {
    seen = p;
    return true;
  });
  EXPECT_EQ(seen, CgroupPath::parse("/c"));
}

TEST(CheckMove, OtherUsersProcessRefused) {  // CVE-2015-1344 shape
  EXPECT_THROW(check_move(request(1000, 2000, "/c", "/c/a", "/c/b"), [](auto&) { return true; }), Error);
}

TEST(CheckMove, RootMayMoveAnyonesProcessInsideView) {
  EXPECT_NO_THROW(check_move(request(0, 2000, "/c", "/c/a", "/c/b"), [](auto&) { return true; }));
}

TEST(CheckMove, SourceOutsideViewRefused) {
  // Pulling a process in from a sibling: the common ancestor is above the view.
  EXPECT_THROW(check_move(request(1000, 1000, "/c", "/d", "/c/b"), [](auto&) { return true; }), Error);
}

TEST(CheckMove, DestinationOutsideViewRefused) {
  EXPECT_THROW(check_move(request(1000, 1000, "/c", "/c/a", "/d"), [](auto&) { return true; }), Error);
}

TEST(CheckMove, PrefixIsNotAncestor) {
  EXPECT_THROW(check_move(request(1000, 1000, "/c", "/cc/a", "/c/b"), [](auto&) { return true; }), Error);
}

TEST(CheckMove, NeedsWriteOnCommonAncestorProcs) {
  EXPECT_THROW(check_move(request(1000, 1000, "/c", "/c/a/x", "/c/b"), [](auto&) { return false; }), Error);
}

}  // namespace
}  // namespace nestbox::fs
