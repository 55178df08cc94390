// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "render_cache.hpp"

namespace nestbox::fs {
namespace {

using namespace std::chrono_literals;

Text text(const char* s) { return std::make_shared<const std::string>(s); }

TEST(RenderCache, HitWithinTtlMissAfter) {
  RenderCache c(100ms, 8);
  auto t0 = RenderCache::Clock::time_point{} + 1h;
  c.put("k", text("v"), t0);
  ASSERT_TRUE(c.get("k", t0 + 99ms));
  EXPECT_EQ(*c.get("k", t0 + 99ms), "v");
  EXPECT_FALSE(c.get("k", t0 + 100ms));
  EXPECT_FALSE(c.get("other", t0));
}

TEST(RenderCache, HitSharesTheText) {
  RenderCache c(100ms, 8);
  auto t0 = RenderCache::Clock::time_point{} + 1h;
  Text t = text("v");
  c.put("k", t, t0);
  EXPECT_EQ(c.get("k", t0).get(), t.get());
}

TEST(RenderCache, StaysBounded) {
  RenderCache c(100ms, 4);
  auto t0 = RenderCache::Clock::time_point{} + 1h;
  for (int i = 0; i < 100; ++i) c.put(std::to_string(i), text("v"), t0);
  EXPECT_LE(c.size(), 4u);
  EXPECT_TRUE(c.get("99", t0));
  EXPECT_FALSE(c.get("0", t0));
}

TEST(RenderCache, ExpiredEntriesDroppedOnPut) {
  RenderCache c(100ms, 64);
  auto t0 = RenderCache::Clock::time_point{} + 1h;
  for (int i = 0; i < 10; ++i) c.put(std::to_string(i), text("v"), t0);
  c.put("late", text("v"), t0 + 50ms);
  c.put("later", text("v"), t0 + 100ms);
  EXPECT_EQ(c.size(), 2u);
  EXPECT_TRUE(c.get("late", t0 + 100ms));
}

TEST(RenderCache, ReplacedEntryOutlivesItsFirstRecord) {
  RenderCache c(100ms, 64);
  auto t0 = RenderCache::Clock::time_point{} + 1h;
  c.put("k", text("old"), t0);
  c.put("k", text("new"), t0 + 80ms);
  c.put("x", text("v"), t0 + 120ms);  // drops the record of the first put only
  ASSERT_TRUE(c.get("k", t0 + 120ms));
  EXPECT_EQ(*c.get("k", t0 + 120ms), "new");
  c.put("y", text("v"), t0 + 180ms);
  EXPECT_FALSE(c.get("k", t0 + 180ms));
  EXPECT_EQ(c.size(), 2u);
}

}  // namespace
}  // namespace nestbox::fs
