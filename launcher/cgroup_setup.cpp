#include "cgroup_setup.hpp"

#include <cstdio>

#include "nestbox/error.hpp"

namespace nestbox::launcher {

CgroupSetup::CgroupSetup(const std::string& bus) : client_(bus) {}

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
  const std::string base = client_.request_user_delegation();
  const std::string path = (base == "/" ? "" : base) + "/" + name;
  try {
    client_.create(path, limits);
  } catch (const Error& e) {
    if (e.code() == Errc::Exists)
      throw Error(Errc::Exists, "a container named '" + name + "' already has a cgroup (" + path +
                                    "); pick another --name");
    throw;
  }
  path_ = path;
  created_ = true;
  client_.attach(path, pid);
  // Marked only now that pid 1 is inside: the manager removes a marked cgroup
  // when it goes from populated to empty, which also covers a launcher that is
  // killed before it can remove the cgroup itself.
  client_.remove_on_empty(path, true);
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
    client_.remove(path_, true);
  } catch (const Error& e) {
    if (e.code() != Errc::NotFound && e.code() != Errc::Busy)
      std::fprintf(stderr, "nestbox-run: warning: %s\n", e.what());
  } catch (...) {
  }
}

}  // namespace nestbox::launcher
