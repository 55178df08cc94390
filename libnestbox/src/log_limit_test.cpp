// SPDX-License-Identifier: Apache-2.0
#include "nestbox/log_limit.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nestbox {
namespace {

using namespace std::chrono_literals;

// A limiter on a hand-moved clock that records its summaries.
struct LogLimiterFixture : ::testing::Test {
  std::chrono::steady_clock::time_point now{};
  struct Line {
    std::string cause;
    std::uint64_t suppressed;
    spdlog::level::level_enum level;
    bool operator==(const Line&) const = default;
  };
  std::vector<Line> summaries;
  LogLimiter make(unsigned lines, std::size_t max_causes = 256) {
    return LogLimiter(
        LogLimiter::Config{lines, 60s, max_causes}, [this] { return now; },
        [this](std::string_view cause, std::uint64_t n, spdlog::level::level_enum level) {
          summaries.push_back({std::string(cause), n, level});
        });
  }
  static unsigned allowed(LogLimiter& limiter, std::string_view cause, int tries,
                          spdlog::level::level_enum level = spdlog::level::warn) {
    unsigned n = 0;
    for (int i = 0; i < tries; ++i) n += limiter.allow(cause, level) ? 1 : 0;
    return n;
  }
};

TEST_F(LogLimiterFixture, FewLinesPerCauseAndWindow) {
  auto limiter = make(3);
  EXPECT_EQ(allowed(limiter, "lookup-enfile uid 1000", 100), 3u);
  now += 59s;
  EXPECT_EQ(allowed(limiter, "lookup-enfile uid 1000", 10), 0u);
  EXPECT_TRUE(summaries.empty());
}

TEST_F(LogLimiterFixture, OneCauseDoesNotSilenceAnother) {
  auto limiter = make(2);
  EXPECT_EQ(allowed(limiter, "bad write uid 1000", 1000), 2u);
  EXPECT_EQ(allowed(limiter, "bad write uid 2000", 5), 2u);
}

TEST_F(LogLimiterFixture, SummaryOfEachHeldBackCauseWhenTheWindowEnds) {
  auto limiter = make(2);
  allowed(limiter, "b", 7, spdlog::level::debug);
  allowed(limiter, "a", 3, spdlog::level::debug);
  allowed(limiter, "a", 1, spdlog::level::warn);
  allowed(limiter, "quiet", 2);
  now += 60s;
  EXPECT_TRUE(limiter.allow("c", spdlog::level::info));
  // Sorted by cause; the level is the highest held back; "quiet" lost nothing.
  EXPECT_EQ(summaries, (std::vector<Line>{{"a", 2, spdlog::level::warn}, {"b", 5, spdlog::level::debug}}));
  // The new window starts afresh for every cause.
  EXPECT_EQ(allowed(limiter, "b", 5), 2u);
}

TEST_F(LogLimiterFixture, NoSummaryWithoutLinesHeldBack) {
  auto limiter = make(5);
  allowed(limiter, "a", 5);
  now += 10min;
  allowed(limiter, "a", 1);
  EXPECT_TRUE(summaries.empty());
}

TEST_F(LogLimiterFixture, CausesBeyondTheBoundShareOneEntry) {
  auto limiter = make(1, 3);
  for (int uid = 0; uid < 100; ++uid) limiter.allow("refusals to uid " + std::to_string(uid), spdlog::level::warn);
  limiter.flush();
  // Three named causes wrote their line; the other 97 shared one line.
  EXPECT_EQ(summaries, (std::vector<Line>{{std::string(LogLimiter::kOtherCauses), 96, spdlog::level::warn}}));
}

TEST_F(LogLimiterFixture, FlushReportsAndRestarts) {
  auto limiter = make(1);
  allowed(limiter, "a", 4);
  limiter.flush();
  EXPECT_EQ(summaries, (std::vector<Line>{{"a", 3, spdlog::level::warn}}));
  EXPECT_TRUE(limiter.allow("a", spdlog::level::warn));
}

}  // namespace
}  // namespace nestbox
