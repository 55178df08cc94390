// SPDX-License-Identifier: Apache-2.0
#include "fs_fixture.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "render.hpp"

namespace nestbox::fs::test {

void FsTest::SetUp() {
  NESTBOX_SKIP_IF_MISSING(testkit::missing_root());
  NESTBOX_SKIP_IF_MISSING(testkit::missing_fuse());
  NESTBOX_SKIP_IF_MISSING(testkit::missing_cgroup_write());
  layout_ = HostLayout::discover();
  sandbox_ = std::make_unique<testkit::CgroupSandbox>();
  std::vector<std::string> argv{testkit::built_program("nestbox-fs"), "-f", "--log-level=debug"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  mount_ = std::make_unique<testkit::FuseMount>(argv);
}

void FsTest::TearDown() {
  if (HasFailure() && mount_) {
    std::ifstream log(mount_->log_path());
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    std::cerr << "---- nestbox-fs log ----\n" << text.substr(text.size() > 8000 ? text.size() - 8000 : 0) << "\n";
  }
  mount_.reset();  // unmount before the cgroups go
  sandbox_.reset();
}

std::string FsTest::run_in(const CgroupPath& cg, const std::vector<std::string>& argv) {
  testkit::RunOptions opts;
  opts.cgroup = cg;
  auto r = testkit::run(argv, opts);
  EXPECT_EQ(r.exit_code, 0) << argv.back() << "\nstdout: " << r.out << "\nstderr: " << r.err;
  return r.out;
}

std::string FsTest::hierarchy_dir(std::string_view controller) const {
  const CgroupMount* m = layout_.mount_for(controller);
  return m ? m->mountpoint : std::string();
}

std::string FsTest::memory_view_name() const {
  return layout_.layout == Layout::Unified ? "unified" : "memory";
}

std::string FsTest::real_memory_dir(const CgroupPath& cg) const { return hierarchy_dir("memory") + cg.str(); }

std::uint64_t kb(std::string_view text, std::string_view key) {
  auto v = meminfo_value(text, key);
  EXPECT_TRUE(v.has_value()) << key << " missing in:\n" << text;
  return v.value_or(0);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = slurp("/proc/" + name + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

}  // namespace nestbox::fs::test
