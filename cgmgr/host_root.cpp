// SPDX-License-Identifier: Apache-2.0
#include "host_root.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <spdlog/spdlog.h>

#include "nestbox/error.hpp"

namespace nestbox::cgmgr {
namespace {

constexpr const char* kDefaultRoot = "/nestbox";

void create_chain(CgroupTree& tree, const CgroupPath& path) {
  CgroupPath at;
  for (const auto& name : path.components()) {
    at = at.child(name);
    if (!tree.exists(at)) {
      spdlog::info("creating manager root level {}", at.str());
      tree.create(at);
    }
  }
}

}  // namespace

bool running_under_systemd() {
  struct stat st {};
  return ::stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode) && std::getenv("INVOCATION_ID");
}

HostRoot establish_root(CgroupTree& tree, const std::optional<std::string>& root_option) {
  HostRoot host;
  if (root_option) {
    host.root = CgroupPath::parse(*root_option);
  } else if (running_under_systemd()) {
    host.under_systemd = true;
    host.root = tree.primary_cgroup_of(::getpid());
    const CgroupPath supervisor = host.root.child("supervisor");
    if (!tree.exists(supervisor)) tree.create(supervisor);
    tree.attach(supervisor, ::getpid());
    host.reserved.push_back(supervisor);
    spdlog::info("running under systemd: root {} (daemon in {})", host.root.str(), supervisor.str());
    return host;
  } else {
    host.root = CgroupPath::parse(kDefaultRoot);
  }
  if (host.root.is_root())
    throw Error(Errc::InvalidPath, "the manager root cannot be the cgroup root \"/\"; use e.g. --root /nestbox");
  create_chain(tree, host.root);
  return host;
}

}  // namespace nestbox::cgmgr
