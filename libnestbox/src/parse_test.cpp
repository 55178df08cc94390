// SPDX-License-Identifier: Apache-2.0
#include "nestbox/parse.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "nestbox/error.hpp"

namespace nestbox {
namespace {

void expect_invalid(auto fn) {
  try {
    fn();
    ADD_FAILURE() << "expected InvalidValue";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::InvalidValue) << e.what();
  }
}

TEST(ParseCpuList, RangesAndSingles) {
  EXPECT_EQ(parse_cpu_list("0-3,8,10-11\n"), (CpuList{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(parse_cpu_list(""), CpuList{});
  EXPECT_EQ(parse_cpu_list(" \n"), CpuList{});
  EXPECT_EQ(parse_cpu_list(" 5 "), CpuList{5});
  EXPECT_EQ(parse_cpu_list("3,1,1-2"), (CpuList{1, 2, 3}));
  EXPECT_EQ(parse_cpu_list("8191"), CpuList{8191});
}

TEST(ParseCpuList, RejectsJunk) {
  for (const char* bad : {"3-1", "a", "1,", ",1", "1,,2", "-1", "1-", "1-2-3", "8192", "0-8192", "1 2", "0x1",
                          "99999999999999999999"})
    expect_invalid([&] { parse_cpu_list(bad); });
}

TEST(FormatCpuList, RoundTrips) {
  EXPECT_EQ(format_cpu_list({}), "");
  EXPECT_EQ(format_cpu_list({0, 1, 2, 3, 8}), "0-3,8");
  EXPECT_EQ(format_cpu_list({1, 3, 5}), "1,3,5");
  for (const char* text : {"0-3,8,10-11", "0", "2-5", "1,3,5-7"})
    EXPECT_EQ(format_cpu_list(parse_cpu_list(text)), text);
}

TEST(ParseIntegers, Unsigned) {
  EXPECT_EQ(parse_u64("0"), 0u);
  EXPECT_EQ(parse_u64(" 42\n"), 42u);
  EXPECT_EQ(parse_u64("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
  for (const char* bad : {"", "-1", "+1", "1.5", "12a", "18446744073709551616", "1 2"})
    expect_invalid([&] { parse_u64(bad); });
}

TEST(ParseIntegers, Signed) {
  EXPECT_EQ(parse_i64("-1\n"), -1);
  EXPECT_EQ(parse_i64("100000"), 100000);
  EXPECT_EQ(parse_i64("-9223372036854775808"), std::numeric_limits<std::int64_t>::min());
  for (const char* bad : {"", "-", "--1", "9223372036854775808", "1e3"}) expect_invalid([&] { parse_i64(bad); });
}

TEST(ParseSize, SuffixesAndMax) {
  EXPECT_EQ(parse_size("max"), std::nullopt);
  EXPECT_EQ(parse_size("max\n"), std::nullopt);
  EXPECT_EQ(parse_size("1234"), 1234u);
  EXPECT_EQ(parse_size("256M"), 256ull << 20);
  EXPECT_EQ(parse_size("256m"), 256ull << 20);
  EXPECT_EQ(parse_size("1G"), 1ull << 30);
  EXPECT_EQ(parse_size("1GB"), 1ull << 30);
  EXPECT_EQ(parse_size("512KiB"), 512ull << 10);
  EXPECT_EQ(parse_size("2T"), 2ull << 40);
  EXPECT_EQ(parse_size("0"), 0u);
}

TEST(ParseSize, RejectsBadInput) {
  for (const char* bad : {"", "-1", "1.5G", "1X", "G", "1Gi", "1 G", "MAX", "16777216T", "99999999999999999999",
                          "1iB", "infinity"})
    expect_invalid([&] { parse_size(bad); });
}

TEST(FormatLimit, Values) {
  EXPECT_EQ(format_limit(std::nullopt), "max");
  EXPECT_EQ(format_limit(Limit(7)), "7");
  EXPECT_EQ(min_limit(std::nullopt, Limit(5)), Limit(5));
  EXPECT_EQ(min_limit(Limit(3), Limit(5)), Limit(3));
  EXPECT_EQ(min_limit(std::nullopt, std::nullopt), std::nullopt);
}

TEST(ParseCpuMax, Forms) {
  EXPECT_EQ(parse_cpu_max("max 100000\n"), (CpuMax{std::nullopt, 100000}));
  EXPECT_EQ(parse_cpu_max("50000 100000"), (CpuMax{50000, 100000}));
  EXPECT_EQ(parse_cpu_max("50000"), (CpuMax{50000, 100000}));
  EXPECT_EQ(parse_cpu_max("max"), (CpuMax{std::nullopt, 100000}));
  EXPECT_EQ(format_cpu_max({50000, 200000}), "50000 200000");
  EXPECT_EQ(format_cpu_max({std::nullopt, 100000}), "max 100000");
  for (const char* bad : {"", "1 2 3", "-1 100000", "50000 0", "x 100000", "50000 max"})
    expect_invalid([&] { parse_cpu_max(bad); });
}

TEST(ParseKeyed, Flat) {
  auto kv = parse_flat_keyed("usage_usec 120\nuser_usec 100\nsystem_usec 20\nbogus x\nthree 1 2\n\n");
  EXPECT_EQ(kv.size(), 3u);
  EXPECT_EQ(kv.at("usage_usec"), 120u);
  EXPECT_EQ(kv.at("system_usec"), 20u);
  EXPECT_FALSE(kv.contains("bogus"));
}

TEST(ParseKeyed, Nested) {
  auto nk = parse_nested_keyed(
      "8:0 rbytes=1024 wbytes=2048 rios=1 wios=2 dbytes=0 dios=0\n"
      "some avg10=0.50 avg60=0.00 avg300=0.00 total=1234\n");
  EXPECT_EQ(nk.at("8:0").at("wbytes"), "2048");
  EXPECT_EQ(nk.at("some").at("avg10"), "0.50");
  EXPECT_EQ(nk.at("some").at("total"), "1234");
}

TEST(SplitHelpers, LinesWsTrim) {
  EXPECT_EQ(split_lines("a\nb\n").size(), 2u);
  EXPECT_EQ(split_lines("a\n\nb").size(), 3u);
  EXPECT_TRUE(split_lines("").empty());
  auto ws = split_ws("  a \t b\nc  ");
  ASSERT_EQ(ws.size(), 3u);
  EXPECT_EQ(ws[2], "c");
  EXPECT_EQ(trim(" \n x y \t"), "x y");
}

}  // namespace
}  // namespace nestbox
