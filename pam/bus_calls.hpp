// SPDX-License-Identifier: Apache-2.0
// The few manager calls pam_nestbox makes, over sd-bus. Kept free of libnestbox
// and of exceptions: the module is loaded into login programs (su, sshd, login)
// that must never see it fail in a way that stops them.
#pragma once

#include <systemd/sd-bus.h>
#include <sys/types.h>

#include <optional>
#include <string>

namespace nestbox::pam {

// The system bus socket the module talks to unless told otherwise (bus=). The
// environment is never read: in a setuid su it is the invoking user's.
inline constexpr const char* kSystemBus = "unix:path=/run/dbus/system_bus_socket";

class ManagerBus {
 public:
  // Connects to `address` with a 5 s call timeout; nullopt and *error on failure.
  static std::optional<ManagerBus> connect(const std::string& address, std::string* error);
  ManagerBus(ManagerBus&& other) noexcept : bus_(other.bus_) { other.bus_ = nullptr; }
  ManagerBus& operator=(ManagerBus&&) = delete;
  ~ManagerBus();

  // Each returns false and sets *error ("org.nestbox.Error.X: message") on failure.
  bool request_user_delegation(std::string* grant, std::string* error);
  bool create(const std::string& path, std::string* error);
  bool attach(const std::string& path, pid_t pid, std::string* error);
  bool remove_on_empty(const std::string& path, std::string* error);

 private:
  explicit ManagerBus(sd_bus* bus) : bus_(bus) {}
  // One method call without a reply value; `what` names it in *error.
  bool call(std::string* error, const std::string& what, const char* member, const char* types, ...);
  sd_bus* bus_;
};

}  // namespace nestbox::pam
