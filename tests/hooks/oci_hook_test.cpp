// SPDX-License-Identifier: Apache-2.0
// nestbox-oci-hook with a real runtime: rootful podman (runc, the cgroupfs
// manager, no network) starts busybox containers from a locally imported
// rootfs, with the hook installed from the hooks.d file the project ships
// (only its program path and --fs changed to this build and this test's
// mount). What is checked is what a user sees inside: free -m, the CPU count,
// uptime, and that containers that did not ask are left alone.
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fs_fixture.hpp"
#include "nestbox/parse.hpp"
#include "render.hpp"

namespace nestbox::fs::test {
namespace {

using nlohmann::json;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class OciHookTest : public FsTest {
 protected:
  void SetUp() override {
    NESTBOX_SKIP_IF_MISSING(testkit::missing_program("podman"));
    NESTBOX_SKIP_IF_MISSING(testkit::missing_program("runc"));
    FsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    work_ = std::make_unique<testkit::TempDir>("nestbox-oci", 0755);
    import_busybox_image();
    cgroup_parent_ = sandbox().root().str() + "/podman";
  }

  void TearDown() override {
    std::cerr << "+ teardown\n" << std::flush;
    if (work_) {
      podman({"rm", "--all", "--force"});
      unmount_below(work_->path());
    }
    // The sandbox's cleanup removes what podman made below its prefix, in
    // every hierarchy (also those the sandbox itself does not manage).
    FsTest::TearDown();
    work_.reset();
  }

  // podman with its storage, state and hooks in this test's directory.
  testkit::CommandResult podman(std::vector<std::string> args) {
    std::vector<std::string> argv =
        testkit::podman_command(work_->path() + "/storage", work_->path() + "/run", work_->path() + "/tmp");
    argv.push_back("--hooks-dir=" + work_->path() + "/hooks.d");
    argv.insert(argv.end(), args.begin(), args.end());
    testkit::RunOptions opts;
    opts.timeout = std::chrono::seconds(120);
    // Each call in the log, so that a slow or stuck step is named.
    const auto t0 = std::chrono::steady_clock::now();
    std::cerr << "+ podman " << args.front() << "\n" << std::flush;
    auto r = testkit::run(argv, opts);
    std::cerr << "  exit " << r.exit_code << " after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count()
              << " ms\n" << std::flush;
    return r;
  }

  // Installs the shipped hooks.d file, pointed at this build's hook and this
  // test's mount; `edit` may change it further (e.g. to run for every container).
  void install_hook(const std::function<void(json&)>& edit = {}) {
    json hook = json::parse(slurp(testkit::build_dir() + "/hooks/nestbox-fs.json"));
    hook["hook"]["path"] = testkit::built_program("nestbox-oci-hook");
    hook["hook"]["args"] = json::array({"nestbox-oci-hook", "--fs", mount_->mountpoint()});
    if (edit) edit(hook);
    work_->write("hooks.d/nestbox-fs.json", hook.dump(2));
  }

  // `podman run` of a busybox shell script with the given options.
  testkit::CommandResult run_container(const std::vector<std::string>& options, const std::string& script) {
    std::vector<std::string> args{"run", "--rm", "--network=none", "--cgroup-parent=" + cgroup_parent_};
    for (const auto& limit : testkit::podman_run_limits()) args.push_back(limit);
    args.insert(args.end(), options.begin(), options.end());
    args.insert(args.end(), {kImage, "sh", "-c", script});
    return podman(args);
  }

  // free -m's total memory in a container.
  static std::optional<std::uint64_t> free_total_mb(const std::string& out) {
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string label;
      std::uint64_t total = 0;
      if (fields >> label >> total && label == "Mem:") return total;
    }
    return std::nullopt;
  }

  static std::uint64_t host_mem_mb() { return kb(slurp("/proc/meminfo"), "MemTotal") / 1024; }

  static constexpr const char* kImage = "localhost/nestbox-test-busybox";
  std::unique_ptr<testkit::TempDir> work_;
  std::string cgroup_parent_;

 private:
  void import_busybox_image() {
    auto imported = podman({"import", testkit::busybox_rootfs(work_->path()), kImage});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
  }

  // Mounts podman left below `dir` (a container's shm after a crash), deepest first.
  static void unmount_below(const std::string& dir) {
    std::vector<std::string> targets;
    std::istringstream lines(slurp("/proc/self/mountinfo"));
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string id, parent, dev, root, target;
      fields >> id >> parent >> dev >> root >> target;
      if (target.starts_with(dir + "/")) targets.push_back(target);
    }
    std::sort(targets.rbegin(), targets.rend());
    for (const auto& t : targets) ::umount2(t.c_str(), MNT_DETACH);
  }
};

// The script every container runs: what free, the CPU counters and uptime say.
constexpr const char* kProbe =
    "/usr/bin/free -m; echo cpus=$(grep -c ^processor /proc/cpuinfo); "
    "echo sysfs_cpus=$(ls -d /sys/devices/system/cpu/cpu[0-9]* | wc -l); "
    "echo uptime=$(cut -d. -f1 /proc/uptime); /usr/bin/uptime";

std::uint64_t value_after(const std::string& out, const std::string& key) {
  const auto at = out.find(key + "=");
  EXPECT_NE(at, std::string::npos) << key << " missing in:\n" << out;
  if (at == std::string::npos) return 0;
  return std::strtoull(out.c_str() + at + key.size() + 1, nullptr, 10);
}

TEST_F(OciHookTest, AnAnnotatedContainerSeesItsLimitsWithoutAnyVolume) {
  install_hook();
  auto r = run_container({"--memory=256m", "--cpus=1", "--annotation=io.nestbox.fs=true"}, kProbe);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(free_total_mb(r.out), 256u) << r.out;
  EXPECT_EQ(value_after(r.out, "cpus"), 1u) << r.out;
  EXPECT_EQ(value_after(r.out, "sysfs_cpus"), 1u) << r.out;
  // The container's age, not the host's (the host has been up longer than this test).
  EXPECT_LT(value_after(r.out, "uptime"), 120u) << r.out;
}

TEST_F(OciHookTest, ContainersThatDidNotAskAreLeftAlone) {
  install_hook();
  const auto host_mb = host_mem_mb();
  for (const std::vector<std::string>& opts : {std::vector<std::string>{"--memory=256m"},
                                              {"--memory=256m", "--annotation=io.nestbox.fs=false"}}) {
    auto r = run_container(opts, "/usr/bin/free -m");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(free_total_mb(r.out), host_mb) << opts.back() << "\n" << r.out;
  }
}

TEST_F(OciHookTest, InstalledForAllAContainerOptsOutByAnnotation) {
  // The site-wide form README gives: always run, --default on.
  install_hook([this](json& hook) {
    hook["when"] = json{{"always", true}};
    hook["hook"]["args"] = json::array({"nestbox-oci-hook", "--fs", mount_->mountpoint(), "--default", "on"});
  });
  auto bound = run_container({"--memory=256m"}, "/usr/bin/free -m");
  ASSERT_EQ(bound.exit_code, 0) << bound.err;
  EXPECT_EQ(free_total_mb(bound.out), 256u) << bound.out;

  auto declined = run_container({"--memory=256m", "--annotation=io.nestbox.fs=false"}, "/usr/bin/free -m");
  ASSERT_EQ(declined.exit_code, 0) << declined.err;
  EXPECT_EQ(free_total_mb(declined.out), host_mem_mb()) << declined.out;

  // A value that is neither: the start fails and says which value is wrong.
  auto bad = run_container({"--memory=256m", "--annotation=io.nestbox.fs=yes"}, "/usr/bin/free -m");
  EXPECT_NE(bad.exit_code, 0) << bad.out;
  EXPECT_NE(bad.err.find("io.nestbox.fs='yes': expected true or false"), std::string::npos) << bad.err;
}

TEST_F(OciHookTest, WithoutNestboxFsTheContainerStillStarts) {
  testkit::TempDir empty("nestbox-oci-nofs", 0755);
  install_hook([&](json& hook) {
    hook["hook"]["args"] = json::array({"nestbox-oci-hook", "--fs", empty.path()});
  });
  auto r = run_container({"--memory=256m", "--annotation=io.nestbox.fs=true"}, "/usr/bin/free -m");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(free_total_mb(r.out), host_mem_mb()) << r.out;
}

}  // namespace
}  // namespace nestbox::fs::test
