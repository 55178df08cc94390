// SPDX-License-Identifier: Apache-2.0
// PrivateBus: a dbus-daemon that behaves like the system bus, with the
// project's own policy file, on a socket every user can reach.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "nestbox/unique_fd.hpp"
#include "testkit_internal.hpp"

namespace nestbox::testkit {
namespace {

// The config comes from dbus/private-system-bus.conf.in (shared with the demo):
// a bus that behaves like the system bus and includes the project's policy.
std::string bus_config(const std::string& dir, const std::string& policy_file) {
  const std::string template_path = source_dir() + "/dbus/private-system-bus.conf.in";
  std::ifstream in(template_path);
  if (!in) throw std::runtime_error("testkit: missing bus config template " + template_path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto replace = [&](const std::string& key, const std::string& value) {
    for (auto at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
      text.replace(at, key.size(), value);
  };
  replace("@SOCKET@", dir + "/bus");
  replace("@POLICY@", policy_file);
  return text;
}

}  // namespace

PrivateBus::PrivateBus() : dir_(std::make_unique<TempDir>("nestbox-bus", 0755)) {
  if (auto reason = missing_dbus_daemon()) throw std::runtime_error("testkit: " + *reason);
  const std::string policy = source_dir() + "/dbus/org.nestbox.CgroupManager1.conf";
  if (::access(policy.c_str(), R_OK) != 0) throw std::runtime_error("testkit: missing bus policy " + policy);
  const std::string config = dir_->write("bus.conf", bus_config(dir_->path(), policy));

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) throw std::runtime_error(std::string("testkit: pipe2: ") + std::strerror(errno));
  UniqueFd addr_read(fds[0]);
  UniqueFd addr_write(fds[1]);
  detail::SpawnSpec spec;
  spec.argv = {"dbus-daemon", "--config-file=" + config, "--nofork", "--nopidfile", "--print-address=3"};
  spec.extra_fds = {{addr_write.get(), 3}};
  spec.options.stop_with_test = true;
  pid_ = detail::spawn(spec);
  addr_write.reset();

  // The daemon prints its address once it listens.
  std::string printed;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (printed.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{addr_read.get(), POLLIN, 0};
    int r = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (r < 0 && errno == EINTR) continue;
    char buf[512];
    ssize_t n = r > 0 ? ::read(addr_read.get(), buf, sizeof(buf)) : 0;
    if (n <= 0) {
      int code = detail::kill_and_reap(pid_);
      pid_ = -1;
      throw std::runtime_error("testkit: dbus-daemon did not report its address (status " + std::to_string(code) +
                               "); config " + config);
    }
    printed.append(buf, static_cast<std::size_t>(n));
  }
  address_ = "unix:path=" + dir_->path() + "/bus";
  // Any user may connect: the bus policy, not file modes, decides what they may do.
  // (The directory stays 0755: searchable is enough to reach the socket, and
  // nobody else gets to replace the socket or the config.)
  ::chmod((dir_->path() + "/bus").c_str(), 0777);
}

PrivateBus::~PrivateBus() {
  if (pid_ > 0) detail::kill_and_reap(pid_);
}

std::map<std::string, std::string> PrivateBus::client_env() const {
  return {{"DBUS_SYSTEM_BUS_ADDRESS", address_}, {"DBUS_SESSION_BUS_ADDRESS", address_}};
}

}  // namespace nestbox::testkit
