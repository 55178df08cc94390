// SPDX-License-Identifier: Apache-2.0
#include "nestbox/logging.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "nestbox/unique_fd.hpp"
#include "testkit.hpp"

namespace nestbox {
namespace {

TEST(EscapeForLog, PrintableAsciiIsKept) {
  EXPECT_EQ(escape_for_log("Create /user-1000/job: ok"), "Create /user-1000/job: ok");
  EXPECT_EQ(escape_for_log(""), "");
}

TEST(EscapeForLog, ControlsBackslashAndHighBytesAreEscaped) {
  EXPECT_EQ(escape_for_log("a\nb"), "a\\nb");
  EXPECT_EQ(escape_for_log("\t\r"), "\\t\\r");
  EXPECT_EQ(escape_for_log("\x1b[2J"), "\\x1b[2J");
  EXPECT_EQ(escape_for_log(std::string("nul\0x", 5)), "nul\\x00x");
  EXPECT_EQ(escape_for_log("\x7f\xc3\xa9"), "\\x7f\\xc3\\xa9");
  // A backslash is doubled, so an escaped "\n" cannot be forged from text.
  EXPECT_EQ(escape_for_log("a\\nb"), "a\\\\nb");
}

// The installed logger escapes whatever its callers format into a message: a
// client's newline cannot start a forged line in the log.
TEST(InitLogging, EveryMessageReachesStderrOnOneLine) {
  namespace tk = nestbox::testkit;
  tk::TempDir dir;
  const std::string path = dir.path() + "/stderr";
  std::fflush(stderr);
  UniqueFd saved(::dup(STDERR_FILENO));
  ASSERT_TRUE(saved);
  {
    UniqueFd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    ASSERT_TRUE(file);
    ASSERT_EQ(::dup2(file.get(), STDERR_FILENO), STDERR_FILENO);
  }
  auto previous = spdlog::default_logger();
  init_logging("nestbox-test", spdlog::level::info);
  spdlog::warn("Create {}: refused", "/x\n2026-12-02 00:00:00.000 nestbox-cgmgr[1] info: forged");
  spdlog::default_logger()->flush();
  spdlog::set_default_logger(previous);
  ::dup2(saved.get(), STDERR_FILENO);

  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string log = text.str();
  EXPECT_NE(log.find("Create /x\\n2026-12-02 00:00:00.000 nestbox-cgmgr[1] info: forged: refused"), std::string::npos)
      << log;
  // Exactly one line: the forged one never starts a line of its own.
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
}

}  // namespace
}  // namespace nestbox
