// SPDX-License-Identifier: Apache-2.0
#include "cgroup_client.hpp"

#include <sdbus-c++/sdbus-c++.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

#include "nestbox/dbus/cgmgr_proxy.hpp"
#include "nestbox/error.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox::launcher {
namespace {

constexpr const char* kService = "org.nestbox.CgroupManager1";
constexpr const char* kObject = "/org/nestbox/CgroupManager1";

class Proxy final : public sdbus::ProxyInterfaces<org::nestbox::CgroupManager1_proxy> {
 public:
  Proxy(sdbus::IConnection& connection)
      : ProxyInterfaces(connection, kService, kObject) {}
  ~Proxy() = default;

 private:
  // The launcher never subscribes to signals (no event loop runs); the generated
  // base class still requires the handlers.
  void onEmptied(const std::string&) override {}
  void onRemoved(const std::string&) override {}
};

std::string describe_bus(const std::string& bus) {
  return bus.empty() ? std::string("the system bus") : "the bus at " + bus;
}

std::string how_to_start(const std::string& bus) {
  return "start it as root, e.g. `nestbox-cgmgr --policy /etc/nestbox/cgmgr.toml" +
         (bus.empty() ? std::string() : " --bus " + bus) +
         " &` (see README.md (nestbox-cgmgr)), or run without limits using --no-cgroup";
}

// Translates a D-Bus error into the library's error model.
[[noreturn]] void rethrow(const sdbus::Error& e, const std::string& what, const std::string& bus) {
  const std::string& name = e.getName();
  static const std::pair<const char*, Errc> kinds[] = {
      {"org.nestbox.Error.InvalidPath", Errc::InvalidPath},
      {"org.nestbox.Error.InvalidValue", Errc::InvalidValue},
      {"org.nestbox.Error.NotFound", Errc::NotFound},
      {"org.nestbox.Error.PermissionDenied", Errc::PermissionDenied},
      {"org.nestbox.Error.Exists", Errc::Exists},
      {"org.nestbox.Error.Busy", Errc::Busy},
      {"org.nestbox.Error.QuotaExceeded", Errc::QuotaExceeded},
      {"org.nestbox.Error.Unsupported", Errc::Unsupported},
  };
  for (const auto& [n, kind] : kinds)
    if (name == n) throw Error(kind, what + ": " + e.getMessage());
  if (name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
      name == "org.freedesktop.DBus.Error.NameHasNoOwner" ||
      name == "org.freedesktop.DBus.Error.UnknownObject" ||
      name == "org.freedesktop.DBus.Error.NoReply")
    throw Error(Errc::Unsupported, "nestbox-cgmgr is not running on " + describe_bus(bus) + " (" + kService +
                                       " has no owner); " + how_to_start(bus));
  if (name == "org.freedesktop.DBus.Error.AccessDenied")
    throw Error(Errc::PermissionDenied, what + ": the bus policy refused the call: " + e.getMessage());
  throw Error(Errc::Io, what + ": " + name + ": " + e.getMessage());
}

// The socket of a "unix:path=..." address (first entry of a ';' list), if that is
// what it is.
std::string unix_socket_path(const std::string& address) {
  std::string first = address.substr(0, address.find(';'));
  if (first.rfind("unix:", 0) != 0) return "";
  first = first.substr(5);
  for (std::size_t pos = 0; pos < first.size();) {
    std::size_t next = first.find(',', pos);
    if (next == std::string::npos) next = first.size();
    std::string kv = first.substr(pos, next - pos);
    if (kv.rfind("path=", 0) == 0) return kv.substr(5);
    pos = next + 1;
  }
  return "";
}

// Refuses early when the bus socket is plainly not there: a clearer message,
// and sd-bus is never asked to connect to nothing.
void check_socket(const std::string& bus_address) {
  std::string address = bus_address;
  if (address.empty()) {
    const char* env = std::getenv("DBUS_SYSTEM_BUS_ADDRESS");
    address = env && *env ? env : "unix:path=/run/dbus/system_bus_socket";
  }
  const std::string path = unix_socket_path(address);
  struct stat st {};
  if (!path.empty() && (::stat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)))
    throw Error(Errc::Unsupported, "cannot connect to " + describe_bus(bus_address) + ": no D-Bus socket at " + path +
                                       "; nestbox-cgmgr needs a running D-Bus daemon: " + how_to_start(bus_address));
}

}  // namespace

struct CgroupClient::Impl {
  std::unique_ptr<sdbus::IConnection> connection;
  std::unique_ptr<Proxy> proxy;
};

CgroupClient::CgroupClient(const std::string& bus_address) : impl_(std::make_unique<Impl>()), bus_(bus_address) {
  check_socket(bus_address);
  try {
    impl_->connection = bus_address.empty() ? sdbus::createSystemBusConnection()
                                            : sdbus::createSessionBusConnectionWithAddress(bus_address);
  } catch (const sdbus::Error& e) {
    throw Error(Errc::Unsupported, "cannot connect to " + describe_bus(bus_address) + " (" + e.getMessage() +
                                       "); nestbox-cgmgr needs a running D-Bus daemon: " + how_to_start(bus_address));
  }
  impl_->proxy = std::make_unique<Proxy>(*impl_->connection);
}

CgroupClient::~CgroupClient() = default;

void CgroupClient::check_reachable(const std::string& bus_address) { check_socket(bus_address); }

std::string CgroupClient::create_and_attach(const std::string& name,
                                            const std::map<std::string, std::string>& limits, pid_t pid) {
  const std::string what = "cannot create the container's cgroup '" + name + "' in your delegation";
  // The process is named by a pidfd: the manager may live in another pid
  // namespace than this launcher (a nested nestbox-run), where our number would
  // name another process. A manager without the method gets the number.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (pidfd) {
    try {
      return impl_->proxy->CreateAndAttachPidfd(name, limits, sdbus::UnixFd(pidfd.get()), true);
    } catch (const sdbus::Error& e) {
      if (e.getName() != "org.freedesktop.DBus.Error.UnknownMethod") rethrow(e, what, bus_);
    }
  }
  try {
    return impl_->proxy->CreateAndAttach(name, limits, static_cast<std::uint32_t>(pid), true);
  } catch (const sdbus::Error& e) {
    rethrow(e, what, bus_);
  }
}

void CgroupClient::attach(const std::string& path, pid_t pid) {
  try {
    impl_->proxy->Attach(path, static_cast<std::uint32_t>(pid));
  } catch (const sdbus::Error& e) {
    rethrow(e, "cannot move pid " + std::to_string(pid) + " into cgroup " + path, bus_);
  }
}

void CgroupClient::remove(const std::string& path, bool recursive) {
  try {
    impl_->proxy->Remove(path, recursive);
  } catch (const sdbus::Error& e) {
    rethrow(e, "cannot remove cgroup " + path, bus_);
  }
}

}  // namespace nestbox::launcher
