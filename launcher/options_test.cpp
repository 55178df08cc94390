// SPDX-License-Identifier: Apache-2.0
#include "options.hpp"

#include <gtest/gtest.h>

#include "exit_status.hpp"
#include "nestbox/error.hpp"
#include "nestbox/parse.hpp"

namespace nestbox::launcher {
namespace {

ParseOutcome parse(std::vector<std::string> args) { return parse_command_line(args); }

TEST(Options, CommandAfterDashDash) {
  auto o = parse({"--memory", "128M", "--", "free", "-m"});
  ASSERT_TRUE(o.invocation) << o.err;
  EXPECT_EQ(o.invocation->mode, Mode::Run);
  EXPECT_EQ(o.invocation->run.command, (std::vector<std::string>{"free", "-m"}));
  EXPECT_EQ(o.invocation->run.limits.at("memory.max"), std::to_string(128ull << 20));
}

TEST(Options, CommandWithoutDashDashKeepsItsOptions) {
  auto o = parse({"--cpus", "1.5", "sh", "-c", "echo --tty"});
  ASSERT_TRUE(o.invocation) << o.err;
  EXPECT_EQ(o.invocation->run.command, (std::vector<std::string>{"sh", "-c", "echo --tty"}));
  EXPECT_FALSE(o.invocation->run.tty);
  EXPECT_EQ(o.invocation->run.limits.at("cpu.max"), "150000 100000");
}

TEST(Options, SubcommandNamesAfterDashDashAreCommands) {
  auto o = parse({"--", "list"});
  ASSERT_TRUE(o.invocation) << o.err;
  EXPECT_EQ(o.invocation->mode, Mode::Run);
  EXPECT_EQ(o.invocation->run.command, (std::vector<std::string>{"list"}));
}

TEST(Options, AllRunOptions) {
  auto o = parse({"--name", "web", "--rootfs", "/srv/root", "--swap", "64M", "--memory", "1G", "--cpuset", "0-1",
                  "--pids", "50", "--hostname", "box", "--bind", "/a:/b:ro", "--bind", "/c:/d", "--net", "host",
                  "--env", "A=1", "-e", "B=x=y", "--workdir", "/tmp/", "--tty", "--fs", "/mnt/fs", "--bus",
                  "unix:path=/x", "--", "true"});
  ASSERT_TRUE(o.invocation) << o.err;
  const RunOptions& r = o.invocation->run;
  EXPECT_EQ(r.name, "web");
  EXPECT_EQ(r.rootfs, "/srv/root");
  EXPECT_EQ(r.hostname, "box");
  ASSERT_EQ(r.binds.size(), 2u);
  EXPECT_TRUE(r.binds[0].read_only);
  EXPECT_FALSE(r.binds[1].read_only);
  EXPECT_EQ(r.net, NetMode::Host);
  EXPECT_EQ(r.env, (std::vector<std::pair<std::string, std::string>>{{"A", "1"}, {"B", "x=y"}}));
  EXPECT_EQ(r.workdir, "/tmp");
  EXPECT_TRUE(r.tty);
  EXPECT_EQ(r.fs_mount, "/mnt/fs");
  EXPECT_EQ(r.bus, "unix:path=/x");
  EXPECT_EQ(r.limits.at("memory.max"), std::to_string(1ull << 30));
  EXPECT_EQ(r.limits.at("memory.swap.max"), std::to_string(64ull << 20));
  EXPECT_EQ(r.limits.at("cpuset.cpus"), "0-1");
  EXPECT_EQ(r.limits.at("pids.max"), "50");
}

TEST(Options, TheTreeIsUsedFromItsDefaultPlaceUnlessRefused) {
  auto d = parse({"true"});
  ASSERT_TRUE(d.invocation) << d.err;
  EXPECT_EQ(d.invocation->run.fs_tree, "/var/lib/nestbox/tree");
  EXPECT_FALSE(d.invocation->run.fs_tree_asked);  // no warning if nothing is mounted there
  auto a = parse({"--fs-tree", "/mnt/tree", "true"});
  ASSERT_TRUE(a.invocation) << a.err;
  EXPECT_EQ(a.invocation->run.fs_tree, "/mnt/tree");
  EXPECT_TRUE(a.invocation->run.fs_tree_asked);
  auto n = parse({"--no-fs-tree", "true"});
  ASSERT_TRUE(n.invocation) << n.err;
  EXPECT_TRUE(n.invocation->run.fs_tree.empty());
  for (const auto& bad : std::vector<std::vector<std::string>>{
           {"--fs-tree", "/mnt/tree", "--no-fs-tree", "true"}, {"--fs-tree", "tree", "true"}, {"--fs-tree", "", "true"}}) {
    auto o = parse(bad);
    EXPECT_FALSE(o.invocation) << bad[0] << " " << bad[1];
    EXPECT_EQ(o.exit_code, kExitLauncherError);
    EXPECT_NE(o.err.find("--fs-tree"), std::string::npos) << o.err;
  }
}

TEST(Options, BadInputIsExit125WithAMessage) {
  const std::vector<std::vector<std::string>> bad = {
      {"--bogus", "true"},          {"--memory", "12Q", "true"},    {"--memory", "-5", "true"},
      {"--cpus", "abc", "true"},    {"--cpus", "0", "true"},        {"--cpus", "1.123456", "true"},
      {"--pids", "many", "true"},   {"--cpuset", "3-1", "true"},    {"--net", "bridge", "true"},
      {"--name", "../x", "true"},   {"--name", "a/b", "true"},      {"--bind", "/a", "true"},
      {"--env", "=v", "true"},      {"--hostname", "a b", "true"},  {"--swap", "1G", "true"},
      {"--fs", "relative", "true"}, {"--no-cgroup", "--memory", "1M", "true"},
      {},                           {"--memory", "1G"},             {"list", "extra"},
      {"exec"},                     {"exec", "name"},               {"exec", "bad/name", "--", "ls"},
  };
  for (const auto& args : bad) {
    auto o = parse(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_FALSE(o.invocation) << joined;
    EXPECT_EQ(o.exit_code, kExitLauncherError) << joined;
    EXPECT_FALSE(o.err.empty()) << joined;
  }
}

TEST(Options, HelpAndVersionExitZero) {
  auto help = parse({"--help"});
  EXPECT_FALSE(help.invocation);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--memory"), std::string::npos);
  EXPECT_NE(help.out.find("Exit status"), std::string::npos);
  auto version = parse({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.out.find(NESTBOX_VERSION), std::string::npos);
}

TEST(Options, ListAndExec) {
  auto l = parse({"list", "--json"});
  ASSERT_TRUE(l.invocation) << l.err;
  EXPECT_EQ(l.invocation->mode, Mode::List);
  EXPECT_TRUE(l.invocation->list.json);
  auto e = parse({"exec", "--env", "X=1", "web", "--", "ps", "-ef"});
  ASSERT_TRUE(e.invocation) << e.err;
  EXPECT_EQ(e.invocation->mode, Mode::Exec);
  EXPECT_EQ(e.invocation->exec.name, "web");
  EXPECT_EQ(e.invocation->exec.command, (std::vector<std::string>{"ps", "-ef"}));
  auto e2 = parse({"exec", "web", "ls", "-l"});
  ASSERT_TRUE(e2.invocation) << e2.err;
  EXPECT_EQ(e2.invocation->exec.command, (std::vector<std::string>{"ls", "-l"}));
}

TEST(Options, CpusToCpuMax) {
  EXPECT_EQ(cpus_to_cpu_max("1"), "100000 100000");
  EXPECT_EQ(cpus_to_cpu_max("0.5"), "50000 100000");
  EXPECT_EQ(cpus_to_cpu_max("2.25"), "225000 100000");
  EXPECT_EQ(cpus_to_cpu_max("0.01"), "1000 100000");
  for (const char* bad : {"", ".5", "1.", "-1", "1e3", "0.001", "2000", "1,5"})
    EXPECT_THROW(cpus_to_cpu_max(bad), Error) << bad;
}

}  // namespace
}  // namespace nestbox::launcher
