// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "nestbox/cgroup_tree.hpp"
#include "nestbox/error.hpp"
#include "nestbox/logging.hpp"

namespace nestbox {
namespace {

TEST(Limits, KnownKeys) {
  for (auto key : kLimitKeys) EXPECT_TRUE(is_limit_key(key));
  EXPECT_FALSE(is_limit_key("memory.high"));
  EXPECT_FALSE(is_limit_key("cgroup.procs"));
}

TEST(Limits, NormalizesValidValues) {
  EXPECT_EQ(normalize_limit("memory.max", "256M"), "268435456");
  EXPECT_EQ(normalize_limit("memory.max", "max"), "max");
  EXPECT_EQ(normalize_limit("memory.swap.max", "0"), "0");
  EXPECT_EQ(normalize_limit("cpu.max", "50000 100000"), "50000 100000");
  EXPECT_EQ(normalize_limit("cpu.max", "max"), "max 100000");
  EXPECT_EQ(normalize_limit("cpu.weight", "100"), "100");
  EXPECT_EQ(normalize_limit("cpuset.cpus", "3,0-1,2"), "0-3");
  EXPECT_EQ(normalize_limit("cpuset.mems", "0"), "0");
  EXPECT_EQ(normalize_limit("pids.max", "10"), "10");
  EXPECT_EQ(normalize_limit("pids.max", "max"), "max");
  EXPECT_EQ(normalize_limit("io.max", "8:0 wiops=100 rbps=1M"), "8:0 rbps=1048576 wiops=100");
  EXPECT_EQ(normalize_limit("io.max", "8:16 wbps=max"), "8:16 wbps=max");
}

TEST(Limits, RefusesInvalidValuesWithClearMessages) {
  const std::pair<const char*, const char*> bad[] = {
      {"memory.max", "-1"},        {"memory.max", "1.5G"},     {"memory.swap.max", "lots"},
      {"cpu.max", "500 100000"},   {"cpu.max", "50000 10"},    {"cpu.max", "50000 2000000"},
      {"cpu.max", "abc"},          {"cpu.weight", "0"},        {"cpu.weight", "10001"},
      {"cpu.weight", "-5"},        {"cpuset.cpus", ""},        {"cpuset.cpus", "1-0"},
      {"cpuset.mems", "x"},        {"pids.max", "-1"},         {"pids.max", "ten"},
      {"io.max", "8:0"},           {"io.max", "sda rbps=1"},   {"io.max", "8:0 rbps=0"},
      {"io.max", "8:0 foo=1"},     {"io.max", "8:0 rbps=1 rbps=2"}, {"memory.high", "1"},
      {"../../etc/passwd", "x"},
  };
  for (const auto& [key, value] : bad) {
    try {
      normalize_limit(key, value);
      ADD_FAILURE() << key << "=" << value << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::InvalidValue);
      std::string msg = e.what();
      EXPECT_NE(msg.find("allowed"), std::string::npos) << msg;
    }
  }
}

TEST(Errors, NamesAndErrnos) {
  EXPECT_EQ(errc_name(Errc::Busy), "Busy");
  EXPECT_EQ(dbus_error_name(Errc::InvalidPath), "org.nestbox.Error.InvalidPath");
  EXPECT_EQ(errc_from_errno(ENOENT), Errc::NotFound);
  EXPECT_EQ(errc_from_errno(EPERM), Errc::PermissionDenied);
  EXPECT_EQ(errc_from_errno(ENOTEMPTY), Errc::Busy);
  EXPECT_EQ(errc_from_errno(ERANGE), Errc::InvalidValue);
  EXPECT_EQ(errc_from_errno(EIO), Errc::Io);
  EXPECT_EQ(to_errno(Error(Errc::NotFound, "x")), ENOENT);
  EXPECT_EQ(to_errno(Error(Errc::Io, "x", EROFS)), EROFS);
  try {
    throw_errno(EEXIST, "mkdir /x");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::Exists);
    EXPECT_EQ(e.sys_errno(), EEXIST);
    EXPECT_NE(std::string(e.what()).find("mkdir /x: "), std::string::npos);
  }
}

TEST(Logging, Levels) {
  EXPECT_EQ(parse_log_level("debug"), spdlog::level::debug);
  EXPECT_EQ(parse_log_level("error"), spdlog::level::err);
  EXPECT_THROW(parse_log_level("loud"), Error);
  init_logging("nestbox-test", spdlog::level::warn);
  EXPECT_EQ(spdlog::default_logger()->name(), "nestbox-test");
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::warn);
}

}  // namespace
}  // namespace nestbox
