#include <gtest/gtest.h>

#include "render_cache.hpp"

namespace nestbox::fs {
namespace {

using namespace std::chrono_literals;

TEST(RenderCache, HitWithinTtlMissAfter) {
  RenderCache c(100ms, 8);
  auto t0 = RenderCache::Clock::time_point{} + 1h;
  c.put("k", "v", t0);
  EXPECT_EQ(c.get("k", t0 + 99ms), "v");
  EXPECT_FALSE(c.get("k", t0 + 100ms));
  EXPECT_FALSE(c.get("other", t0));
}

TEST(RenderCache, StaysBounded) {
  RenderCache c(100ms, 4);
  auto t0 = RenderCache::Clock::time_point{} + 1h;
  for (int i = 0; i < 100; ++i) c.put(std::to_string(i), "v", t0);
  EXPECT_LE(c.size(), 4u);
  EXPECT_EQ(c.get("99", t0), "v");
}

}  // namespace
}  // namespace nestbox::fs
