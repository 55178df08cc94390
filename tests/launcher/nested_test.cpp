// SPDX-License-Identifier: Apache-2.0
// nestbox-run inside a nestbox-run container, as the unprivileged test user: the
// inner launcher is in another pid namespace than the manager, so it must name
// its pid 1 by a pidfd (a number would mean another process to the manager),
// mount procfs and sysfs although the outer container has files bound over
// both, and load its seccomp filter under the outer one's listener.
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>

#include "managed_stack.hpp"

namespace nestbox::launcher_test {
namespace {

class LauncherNested : public ManagedStackTest {
 protected:
  // What the inner launcher needs from the host: the bus socket, nestbox-fs and
  // the launcher itself (the outer container's /tmp is its own).
  std::vector<std::string> outer_args(const std::string& memory) {
    const std::string address = stack().bus->address();
    const std::string bus_socket = address.substr(address.find('=') + 1);
    std::vector<std::string> args{"--memory", memory};
    probe("");
    for (const std::string& dir : {bus_socket.substr(0, bus_socket.rfind('/')), stack().fs->mountpoint(),
                                   launcher().substr(0, launcher().rfind('/')), probe_dir_->path()}) {
      args.push_back("--bind");
      args.push_back(dir + ":" + dir + ":ro");
    }
    args.push_back("--");
    return args;
  }
  // The inner nestbox-run command line, as a shell word list.
  // The probe is bound on (the outer container's /tmp is not the inner one's).
  std::string inner(const std::string& options) {
    probe("");
    return launcher() + " --bus " + stack().bus->address() + " --fs " + stack().fs->mountpoint() + " --bind " +
           probe_dir_->path() + ":" + probe_dir_->path() + ":ro " + options;
  }
  // A command printing what sysinfo(2) (glibc's sysconf) and the boot clock
  // say, in whole MiB and seconds: "<tag>-phys N", "<tag>-boot N".
  std::string probe(const std::string& tag) {
    if (!probe_dir_) {
      probe_dir_ = std::make_unique<testkit::TempDir>("nestbox-nested", 0755);
      probe_dir_->write("probe.py",
                        "import os, sys, time\n"
                        "print(sys.argv[1] + '-phys', os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') >> 20)\n"
                        "print(sys.argv[1] + '-boot', int(time.clock_gettime(time.CLOCK_BOOTTIME)))\n");
    }
    return "python3 " + probe_dir_->path() + "/probe.py " + tag;
  }
  CgroupPath user_cgroup() {
    return stack().sandbox->root().child("user-" + std::to_string(testkit::test_user().uid));
  }

 private:
  std::unique_ptr<testkit::TempDir> probe_dir_;
};

std::string mem_total_mib(const std::string& free_output, int nth) {
  std::istringstream in(free_output);
  int seen = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Mem:", 0) != 0) continue;
    if (seen++ != nth) continue;
    std::istringstream words(line);
    std::string label, total;
    words >> label >> total;
    return total;
  }
  return "";
}

bool has_line(const std::string& text, const std::function<bool(const std::string&)>& pred) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (pred(line)) return true;
  return false;
}

std::string comm_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  std::getline(in, comm);
  return comm;
}

// "<label> <integer>" lines printed by the probe below.
std::optional<long long> figure(const std::string& text, const std::string& label) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(label + " ", 0) == 0) return std::stoll(line.substr(label.size() + 1));
  return std::nullopt;
}

TEST_F(LauncherNested, AContainerInsideAContainerGetsItsOwnLimitsClocksAndExitStatus) {
  // Default inner name: the inner pid repeats across containers, so it carries
  // the pid namespace.
  auto args = outer_args("256M");
  args.insert(args.end(), {"sh", "-c",
                           "free -m; " + probe("outer") + "; " +
                               inner("--memory 64M -- sh -c 'free -m; hostname; " + probe("inner") + "; exit 3'") +
                               "; rc=$?; " + probe("after") + "; exit $rc"});
  auto r = run(args);
  ASSERT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_EQ(mem_total_mib(r.out, 0), "256") << r.out;
  EXPECT_EQ(mem_total_mib(r.out, 1), "64") << r.out;
  // sysinfo goes to the outer container's launcher, which answers each caller
  // from its own cgroup.
  EXPECT_EQ(figure(r.out, "outer-phys"), 256) << r.out;
  EXPECT_EQ(figure(r.out, "inner-phys"), 64) << r.out;
  // The inner container's clock starts with it: it is behind the outer one's.
  auto inner_boot = figure(r.out, "inner-boot"), after_boot = figure(r.out, "after-boot");
  ASSERT_TRUE(inner_boot && after_boot) << r.out;
  EXPECT_LE(*inner_boot, *after_boot) << r.out;
  EXPECT_TRUE(has_line(r.out, [](const std::string& l) {
    return l.rfind("nb-", 0) == 0 && std::count(l.begin(), l.end(), '-') == 2 &&
           std::all_of(l.begin() + 3, l.end(), [](char c) { return c == '-' || (c >= '0' && c <= '9'); });
  })) << r.out;
  // Nothing to complain about: no error, and no hint about subordinate ids
  // (inside a container's user namespace /etc/subuid does not apply).
  EXPECT_EQ(r.err, "") << r.err;
}

TEST_F(LauncherNested, TheInnerCommandRunsInTheCgroupTheManagerMadeForIt) {
  const std::string inner_name = name_ + "-in";
  auto args = outer_args("256M");
  args.insert(args.end(), {"sh", "-c", inner("--name " + inner_name + " --memory 64M --pids 32 -- sleep 600")});
  testkit::Child outer = spawn(args);
  const CgroupPath inner_cg = user_cgroup().child(inner_name);
  auto& tree = stack().sandbox->tree();
  // The manager read the inner launcher's pidfd: the process it moved is the
  // inner container's pid 1 (nestbox-init), whose child is the command.
  auto sleeping = [&] {
    if (!tree.exists(inner_cg)) return false;
    auto pids = tree.processes(inner_cg, true);
    return std::any_of(pids.begin(), pids.end(), [](pid_t p) { return comm_of(p) == "sleep"; });
  };
  ASSERT_TRUE(eventually(sleeping)) << "no sleep in " << inner_cg.str();
  EXPECT_EQ(tree.limit(inner_cg, "memory.max").value_or("?"), "67108864");
  EXPECT_EQ(tree.limit(inner_cg, "pids.max").value_or("?"), "32");
  // The inner launcher itself stays in the outer container's cgroup.
  auto outer_pids = tree.processes(user_cgroup().child(name_), true);
  EXPECT_TRUE(std::any_of(outer_pids.begin(), outer_pids.end(),
                          [](pid_t p) { return comm_of(p) == "nestbox-run"; }));
  // Stopping the outer container stops the inner one; both cgroups go.
  outer.kill(SIGTERM);
  EXPECT_EQ(outer.wait(), 128 + SIGTERM);
  EXPECT_TRUE(eventually([&] { return !tree.exists(inner_cg); })) << inner_cg.str() << " left";
  EXPECT_TRUE(eventually([&] { return processes_mentioning(inner_name).empty(); }));
}

}  // namespace
}  // namespace nestbox::launcher_test
