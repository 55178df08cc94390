// SPDX-License-Identifier: Apache-2.0
// Other runtimes in a login's delegation. An ordinary user logs in through
// pam_nestbox (the session cgroup the manager made in the user's delegation)
// and then, as that user, starts
//   - an unprivileged LXC container (lxc-create -t busybox, a memory limit in
//     its config, nestbox-fs's LXC mount hook) in a cgroup the manager makes
//     in the delegation: free -m inside shows the limit;
//   - a rootless podman container (cgroupfs manager, runc): its cgroup is
//     made in the delegation.
// Skipped with the reason when lxc or podman is missing.
#include <sstream>

#include "pam_fixture.hpp"

namespace nestbox::cgmgr_test {
namespace {

#ifdef NESTBOX_PAM_MODULE

class RuntimeLoginTest : public PamLoginTest {
 protected:
  // Room for a container runtime: its own processes and a 256 MiB container.
  std::string policy_text() const override {
    return "[user." + tk::test_user().name + "]\n[user." + tk::test_user().name + ".limits]\n"
           "memory.max = \"1G\"\npids.max = 512\n";
  }
  void SetUp() override {
    NESTBOX_SKIP_IF_MISSING(tk::missing_fuse());
    PamLoginTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    work_ = std::make_unique<tk::TempDir>("nestbox-runtime", 0755);
    const auto& user = tk::test_user();
    home_ = work_->path() + "/home";
    ASSERT_EQ(tk::run({"install", "-d", "-o", std::to_string(user.uid), "-g", std::to_string(user.gid), "-m", "0711",  // LXC: the container root must traverse it
                       home_, home_ + "/run"})
                  .exit_code,
              0);
    fs_ = std::make_unique<tk::FuseMount>(
        std::vector<std::string>{tk::built_program("nestbox-fs"), "-f", "--log-level=info"});
  }
  void TearDown() override {
    fs_.reset();
    PamLoginTest::TearDown();  // the sandbox kills what the runtimes left (podman's pause process) and removes it
    work_.reset();
  }

  // A login of the test user whose session runs `script` as that user
  // (setpriv, as su does after the session opened), with a fresh environment.
  tk::CommandResult login_and_run(const std::string& script) {
    const auto& user = tk::test_user();
    const std::string file = work_->write("script.sh", "set -eu\n" + script);
    const std::string command = "setpriv --reuid=" + std::to_string(user.uid) + " --regid=" +
                                std::to_string(user.gid) + " --init-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin"
                                " DBUS_SYSTEM_BUS_ADDRESS=" + bus_->address() + " HOME=" + home_ + " XDG_RUNTIME_DIR=" + home_ + "/run NESTBOX_FS=" +
                                fs_->mountpoint() + " W=" + work_->path() + " sh " + file;
    return login(user.name, command, std::chrono::seconds(300));
  }

  // The cgroup of the manager's hierarchy in /proc/PID/cgroup text after
  // `marker` (the memory line on v1/hybrid, the cgroup2 line on v2).
  std::string cgroup_after(const std::string& out, const std::string& marker) const {
    const auto at = out.find(marker);
    if (at == std::string::npos) return "";
    std::istringstream lines(out.substr(at + marker.size()));
    const bool v2 = sandbox_->tree().layout() == Layout::Unified;
    for (std::string line; std::getline(lines, line);) {
      const auto a = line.find(':'), b = line.find(':', a + 1);
      if (a == std::string::npos || b == std::string::npos) continue;
      const std::string ctrls = line.substr(a + 1, b - a - 1);
      if (v2 ? line.starts_with("0::") : ctrls == "memory") return line.substr(b + 1);
    }
    return "";
  }

  std::string grant() const { return root_ + "/user-" + std::to_string(tk::test_user().uid); }
  std::string session_prefix() const { return grant() + "/session-"; }

  std::unique_ptr<tk::TempDir> work_;
  std::unique_ptr<tk::FuseMount> fs_;
  std::string home_;
};

TEST_F(RuntimeLoginTest, AnUnprivilegedLxcContainerLivesInTheUsersDelegationAndSeesItsLimit) {
  NESTBOX_SKIP_IF_MISSING(tk::missing_program("lxc-start"));
  NESTBOX_SKIP_IF_MISSING(tk::missing_userns());
  const auto& user = tk::test_user();
  const std::string ids = std::to_string(user.subuid_start) + " " + std::to_string(user.subuid_count);
  work_->write("lxc.conf", "lxc.net.0.type = empty\n"
                           "lxc.idmap = u 0 " + ids + "\nlxc.idmap = g 0 " + ids + "\n"
                           "lxc.apparmor.profile = unconfined\n");
  const bool v2 = sandbox_->tree().layout() == Layout::Unified;
  // Appended to the container's config after lxc-create: the limit, the hook
  // as installed (the build's copy runs the build's nestbox-oci-hook), and
  // procps's free (the busybox template binds the host's libraries already).
  work_->write("lxc-extra.conf",
               std::string(v2 ? "lxc.cgroup2.memory.max = 268435456\n" : "lxc.cgroup.memory.limit_in_bytes = 256M\n") +
                   "lxc.hook.mount = " NESTBOX_LXC_HOOK "\n"
                   "lxc.mount.entry = /usr/bin/free usr/bin/free none ro,bind,create=file 0 0\n");
  auto r = login_and_run(R"sh(L=$HOME/lxc
lxc-create -P $L -n c1 -f $W/lxc.conf -t busybox >$HOME/create.log 2>&1 || { cat $HOME/create.log >&2; exit 1; }
cat $W/lxc-extra.conf >> $L/c1/config
# lxc-start in a cgroup of its own in the delegation, as nestbox-run starts its
# containers: on cgroup v2 the login's cgroup holds this shell, and a cgroup
# with processes cannot hand controllers down to the container's.
sh -c 'busctl --system call org.nestbox.CgroupManager1 /org/nestbox/CgroupManager1 org.nestbox.CgroupManager1 \
         CreateAndAttach "sa{ss}ub" lxc-c1 1 memory.max 512M $$ false >/dev/null &&
       exec lxc-start -P "$0" -n c1 -l INFO -o "$1"' "$L" "$HOME/c1.log" || { cat $HOME/c1.log >&2; exit 1; }
pid=$(lxc-info -P $L -n c1 -p -H)
echo "init cgroup:"; cat /proc/$pid/cgroup
echo "meminfo: $(lxc-attach -P $L -n c1 -- grep MemTotal /proc/meminfo)"
echo "free:"; lxc-attach -P $L -n c1 -- /usr/bin/free -m
echo "uptime=$(lxc-attach -P $L -n c1 -- cut -d. -f1 /proc/uptime)"
lxc-stop -P $L -n c1 -k
)sh");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_NE(r.out.find("command_exit=0\n"), std::string::npos) << r.out << r.err;
  ASSERT_EQ(r.out.rfind("open=Success\n", 0), 0u) << r.out;
  const std::string cg = cgroup_after(r.out, "init cgroup:\n");
  EXPECT_EQ(cg.rfind(grant() + "/lxc-c1/", 0), 0u) << "the container is not in the user's delegation:\n" << r.out;
  EXPECT_NE(r.out.find("meminfo: MemTotal:         262144 kB"), std::string::npos) << r.out;
  const auto free_at = r.out.find("free:\n");
  ASSERT_NE(free_at, std::string::npos) << r.out;
  std::istringstream free_out(r.out.substr(r.out.find("Mem:", free_at)));
  std::string label;
  unsigned long total = 0;
  free_out >> label >> total;
  EXPECT_EQ(total, 256u) << r.out;
  const auto up = r.out.find("uptime=");
  ASSERT_NE(up, std::string::npos) << r.out;
  EXPECT_LT(std::stoul(r.out.substr(up + 7)), 300u) << "the container's age, not the host's:\n" << r.out;
}

TEST_F(RuntimeLoginTest, RootlessPodmanPutsItsContainerInTheUsersDelegation) {
  NESTBOX_SKIP_IF_MISSING(tk::missing_program("podman"));
  NESTBOX_SKIP_IF_MISSING(tk::missing_program("runc"));
  NESTBOX_SKIP_IF_MISSING(tk::missing_userns());
  tk::busybox_rootfs(work_->path());
  const std::string podman =
      tk::join_words(tk::podman_command("$HOME/storage", "$XDG_RUNTIME_DIR/podman", "$HOME/tmp"));
  auto r = login_and_run("P=\"" + podman + "\"\nL=\"" + tk::join_words(tk::podman_run_limits()) + "\"\n" +
                         R"sh($P import $W/rootfs.tar localhost/nestbox-test-busybox >/dev/null
id=$($P run -d --network none $L localhost/nestbox-test-busybox sleep 60)
pid=$($P inspect --format '{{.State.Pid}}' $id)
echo "container cgroup:"; cat /proc/$pid/cgroup
echo "login cgroup:"; cat /proc/self/cgroup
$P rm -f $id >/dev/null
)sh");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_NE(r.out.find("command_exit=0\n"), std::string::npos) << r.out << r.err;
  const std::string login_cg = cgroup_after(r.out, "login cgroup:\n");
  const std::string container_cg = cgroup_after(r.out, "container cgroup:\n");
  ASSERT_EQ(login_cg.rfind(session_prefix(), 0), 0u) << r.out;
  // A cgroup of its own in the user's delegation: below the login's on v1
  // (runc nests it there), beside it on v2 (a cgroup holding the login's
  // processes cannot have controllers handed down, so runc goes up a level).
  EXPECT_EQ(container_cg.rfind(grant() + "/", 0), 0u) << r.out;
  EXPECT_NE(container_cg, login_cg) << r.out;
}

#endif

}  // namespace
}  // namespace nestbox::cgmgr_test
