// SPDX-License-Identifier: Apache-2.0
#include "cgroup_setup.hpp"

#include <cstdio>

#include "nestbox/error.hpp"

namespace nestbox::launcher {

CgroupSetup::CgroupSetup(const std::string& bus) : bus_(bus) { CgroupClient::check_reachable(bus_); }

void CgroupSetup::start(std::string name, std::map<std::string, std::string> limits, pid_t pid) {
  thread_ = std::thread([this, name = std::move(name), limits = std::move(limits), pid]() mutable {
    try {
      run(std::move(name), std::move(limits), pid);
    } catch (...) {
      error_ = std::current_exception();
    }
  });
}

void CgroupSetup::run(std::string name, std::map<std::string, std::string> limits, pid_t pid) {
  // One round trip: the delegation, the cgroup with its limits, the
  // remove-on-empty mark and pid 1 moved in (named by a pidfd). The manager
  // removes a marked cgroup once it has had a process and has none, which also
  // covers a launcher killed before it can remove the cgroup itself; it undoes
  // the cgroup if the move fails.
  try {
    client_.emplace(bus_);
    path_ = client_->create_and_attach(name, limits, pid);
  } catch (const Error& e) {
    if (e.code() == Errc::Exists)
      throw Error(Errc::Exists, "a container named '" + name + "' already has a cgroup; pick another --name (" +
                                    e.what() + ")");
    throw;
  }
  created_ = true;
}

void CgroupSetup::join() {
  if (thread_.joinable()) thread_.join();
}

const std::string& CgroupSetup::wait() {
  join();
  if (error_) std::rethrow_exception(error_);
  return path_;
}

CgroupSetup::~CgroupSetup() {
  join();
  if (!created_) return;
  try {
    client_->remove(path_, true);
  } catch (const Error& e) {
    if (e.code() != Errc::NotFound && e.code() != Errc::Busy)
      std::fprintf(stderr, "nestbox-run: warning: %s\n", e.what());
  } catch (...) {
  }
}

}  // namespace nestbox::launcher
