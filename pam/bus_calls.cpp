// SPDX-License-Identifier: Apache-2.0
#include "bus_calls.hpp"

#include <cstdarg>
#include <cstring>

namespace nestbox::pam {
namespace {

constexpr const char* kName = "org.nestbox.CgroupManager1";
constexpr const char* kPath = "/org/nestbox/CgroupManager1";
constexpr const char* kIface = "org.nestbox.CgroupManager1";
constexpr uint64_t kCallTimeoutUs = 5'000'000;  // a hung manager must not hang the login

std::string describe(const sd_bus_error& e, int r) {
  if (sd_bus_error_is_set(&e)) return std::string(e.name) + ": " + (e.message ? e.message : "");
  return std::strerror(-r);
}

}  // namespace

std::optional<ManagerBus> ManagerBus::connect(const std::string& address, std::string* error) {
  sd_bus* bus = nullptr;
  int r = sd_bus_new(&bus);
  if (r >= 0) r = sd_bus_set_address(bus, address.c_str());
  if (r >= 0) r = sd_bus_set_bus_client(bus, 1);
  if (r >= 0) r = sd_bus_set_method_call_timeout(bus, kCallTimeoutUs);
  if (r >= 0) r = sd_bus_start(bus);
  if (r < 0) {
    *error = "cannot connect to " + address + ": " + std::strerror(-r);
    sd_bus_unref(bus);
    return std::nullopt;
  }
  return ManagerBus(bus);
}

ManagerBus::~ManagerBus() {
  if (bus_) sd_bus_flush_close_unref(bus_);
}

bool ManagerBus::request_user_delegation(std::string* grant, std::string* error) {
  sd_bus_error e = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  int r = sd_bus_call_method(bus_, kName, kPath, kIface, "RequestUserDelegation", &e, &reply, "");
  const char* path = nullptr;
  if (r >= 0) r = sd_bus_message_read(reply, "s", &path);
  if (r >= 0) *grant = path;
  if (r < 0) *error = "RequestUserDelegation: " + describe(e, r);
  sd_bus_error_free(&e);
  sd_bus_message_unref(reply);
  return r >= 0;
}

bool ManagerBus::call(std::string* error, const std::string& what, const char* member, const char* types, ...) {
  sd_bus_error e = SD_BUS_ERROR_NULL;
  va_list args;
  va_start(args, types);
  const int r = sd_bus_call_methodv(bus_, kName, kPath, kIface, member, &e, nullptr, types, args);
  va_end(args);
  if (r < 0) *error = what + ": " + describe(e, r);
  sd_bus_error_free(&e);
  return r >= 0;
}

bool ManagerBus::create(const std::string& path, std::string* error) {
  return call(error, "Create " + path, "Create", "sa{ss}", path.c_str(), 0);
}

bool ManagerBus::attach(const std::string& path, pid_t pid, std::string* error) {
  return call(error, "Attach " + path, "Attach", "su", path.c_str(), static_cast<uint32_t>(pid));
}

bool ManagerBus::remove_on_empty(const std::string& path, std::string* error) {
  return call(error, "RemoveOnEmpty " + path, "RemoveOnEmpty", "sb", path.c_str(), 1);
}

}  // namespace nestbox::pam
