// SPDX-License-Identifier: Apache-2.0
// The busctl cookbook in README.md, run verbatim: the commands between the
// cookbook markers, the first block as root and the second as the test user,
// with the bus address in DBUS_SYSTEM_BUS_ADDRESS, "/nestbox" standing for this
// test's manager root and uid 1000 for the test user.
#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "cgmgr_fixture.hpp"

namespace nestbox::cgmgr_test {
namespace {

// The ```sh blocks between the cookbook markers, as lists of busctl lines.
std::vector<std::vector<std::string>> cookbook_blocks() {
  std::ifstream in(tk::source_dir() + "/README.md");
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  auto begin = text.find("<!-- cookbook:start -->");
  auto end = text.find("<!-- cookbook:end -->");
  if (begin == std::string::npos || end == std::string::npos) return {};
  std::istringstream body(text.substr(begin, end - begin));
  std::vector<std::vector<std::string>> blocks;
  bool in_block = false;
  for (std::string line; std::getline(body, line);) {
    if (line.rfind("```sh", 0) == 0) {
      in_block = true;
      blocks.emplace_back();
    } else if (line.rfind("```", 0) == 0) {
      in_block = false;
    } else if (in_block && line.rfind("busctl ", 0) == 0) {
      blocks.back().push_back(line);
    }
  }
  return blocks;
}

// One pass, so replacements are never themselves rewritten: a "/nestbox" cgroup
// path argument (not the object path /org/nestbox/...) -> root,
// the number 1000 (not part of a longer number) -> the test user's uid.
std::string substitute(const std::string& line, const std::string& root, uid_t uid) {
  std::string out;
  for (std::size_t i = 0; i < line.size();) {
    const bool arg_start = i == 0 || line[i - 1] == ' ';
    const char after = i + 8 < line.size() ? line[i + 8] : ' ';
    if (arg_start && line.compare(i, 8, "/nestbox") == 0 && (after == '/' || after == ' ')) {
      out += root;
      i += 8;
    } else if (line.compare(i, 4, "1000") == 0 && (i == 0 || !std::isdigit(static_cast<unsigned char>(line[i - 1]))) &&
               (i + 4 == line.size() || !std::isdigit(static_cast<unsigned char>(line[i + 4])))) {
      out += std::to_string(uid);
      i += 4;
    } else {
      out += line[i++];
    }
  }
  return out;
}

using CookbookTest = CgmgrTest;

TEST_F(CookbookTest, ReadmeCommandsRunVerbatim) {
  auto blocks = cookbook_blocks();
  ASSERT_EQ(blocks.size(), 2u) << "expected a root block and a user block in the README cookbook";
  ASSERT_FALSE(blocks[0].empty());
  ASSERT_FALSE(blocks[1].empty());
  const uid_t uid = tk::test_user().uid;
  for (std::size_t b = 0; b < 2; ++b) {
    for (const auto& line : blocks[b]) {
      const std::string command = substitute(line, root_, uid);
      auto r = b == 0 ? as_root({"sh", "-c", command}) : as_user({"sh", "-c", command});
      EXPECT_EQ(r.exit_code, 0) << command << "\n" << r.out << r.err;
    }
  }
  auto& tree = sandbox_->tree();
  EXPECT_FALSE(tree.exists(CgroupPath::parse(root_ + "/web")));
  EXPECT_TRUE(tree.exists(CgroupPath::parse(root_ + "/team")));
  EXPECT_EQ(tree.owner(CgroupPath::parse(root_ + "/team")), 0u);
  EXPECT_FALSE(tree.exists(CgroupPath::parse(root_ + "/user-" + std::to_string(uid) + "/job")));
  // The remove-on-empty cgroups (root's batch, the user's box) go away once the
  // watcher sees them empty.
  EXPECT_TRUE(eventually([&] { return !tree.exists(CgroupPath::parse(root_ + "/batch")); }));
  EXPECT_TRUE(eventually([&] { return !tree.exists(CgroupPath::parse(root_ + "/user-" + std::to_string(uid) + "/box")); }));
}

}  // namespace
}  // namespace nestbox::cgmgr_test
