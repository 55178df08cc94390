// SPDX-License-Identifier: Apache-2.0
// A nestbox-fs mount plus a cgroup sandbox, shared by the integration tests.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nestbox/layout.hpp"
#include "testkit.hpp"

namespace nestbox::fs::test {

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  std::string mnt(std::string_view rel) const { return mount_->mountpoint() + "/" + std::string(rel); }
  testkit::CgroupSandbox& sandbox() { return *sandbox_; }
  CgroupTree& tree() { return sandbox_->tree(); }
  // Runs argv as root inside cgroup `cg`; fails the test on a non-zero exit.
  std::string run_in(const CgroupPath& cg, const std::vector<std::string>& argv);
  // Directory of a hierarchy on the host ("memory" -> /sys/fs/cgroup/memory).
  std::string hierarchy_dir(std::string_view controller) const;
  // Name of the memory hierarchy in MOUNTPOINT/cgroup ("memory", or "unified" on v2).
  std::string memory_view_name() const;
  // Real directory of a cgroup in the memory hierarchy.
  std::string real_memory_dir(const CgroupPath& cg) const;

  // Options added to nestbox-fs's command line (set before SetUp runs).
  std::vector<std::string> extra_args_;
  HostLayout layout_;
  std::unique_ptr<testkit::CgroupSandbox> sandbox_;
  std::unique_ptr<testkit::FuseMount> mount_;
};

// "Key:   123 kB" -> 123 from a meminfo-style text; fails the test when absent.
std::uint64_t kb(std::string_view text, std::string_view key);
// A whole file ("" when unreadable).
std::string slurp(const std::string& path);
// Children of `parent` (by the ppid field of /proc/<pid>/stat).
std::vector<pid_t> children_of(pid_t parent);

}  // namespace nestbox::fs::test
