// SPDX-License-Identifier: Apache-2.0
#include "bus_calls.hpp"

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

bool ManagerBus::create(const std::string& path, std::string* error) {
  sd_bus_error e = SD_BUS_ERROR_NULL;
  int r = sd_bus_call_method(bus_, kName, kPath, kIface, "Create", &e, nullptr, "sa{ss}", path.c_str(), 0);
  if (r < 0) *error = "Create " + path + ": " + describe(e, r);
  sd_bus_error_free(&e);
  return r >= 0;
}

bool ManagerBus::attach(const std::string& path, pid_t pid, std::string* error) {
  sd_bus_error e = SD_BUS_ERROR_NULL;
  int r = sd_bus_call_method(bus_, kName, kPath, kIface, "Attach", &e, nullptr, "su", path.c_str(),
                             static_cast<uint32_t>(pid));
  if (r < 0) *error = "Attach " + path + ": " + describe(e, r);
  sd_bus_error_free(&e);
  return r >= 0;
}

bool ManagerBus::remove_on_empty(const std::string& path, std::string* error) {
  sd_bus_error e = SD_BUS_ERROR_NULL;
  int r = sd_bus_call_method(bus_, kName, kPath, kIface, "RemoveOnEmpty", &e, nullptr, "sb", path.c_str(), 1);
  if (r < 0) *error = "RemoveOnEmpty " + path + ": " + describe(e, r);
  sd_bus_error_free(&e);
  return r >= 0;
}

}  // namespace nestbox::pam
