// SPDX-License-Identifier: Apache-2.0
// The podman command line of the suite's tests (see testkit.hpp).
#include "testkit.hpp"

namespace nestbox::testkit {

std::vector<std::string> podman_command(const std::string& storage, const std::string& run, const std::string& tmp) {
  return {"podman",
          "--root=" + storage,
          "--runroot=" + run,
          "--tmpdir=" + tmp,
          "--storage-driver=vfs",
          "--cgroup-manager=cgroupfs",
          "--runtime=runc",
          "--events-backend=file"};
}

std::vector<std::string> podman_run_limits() { return {"--ulimit=nofile=1024:1024", "--ulimit=nproc=4096:4096"}; }

std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

}  // namespace nestbox::testkit
