// SPDX-License-Identifier: Apache-2.0
// The D-Bus face of the manager: org.nestbox.CgroupManager1 at
// /org/nestbox/CgroupManager1. Every method is asynchronous on the server side:
// the bus thread only identifies the caller (its credentials, cached per unique
// connection name) and hands the call to the worker pool, which replies when
// done. nestbox::Error kinds become org.nestbox.Error.<Kind>; every mutating call
// is logged with the caller and the outcome.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <vector>

#include "authorizer.hpp"
#include "manager.hpp"
#include "nestbox/log_limit.hpp"
#include "nestbox/dbus/cgmgr_adaptor.hpp"
#include "thread_pool.hpp"

namespace nestbox::cgmgr {

inline constexpr const char* kBusName = "org.nestbox.CgroupManager1";
inline constexpr const char* kObjectPath = "/org/nestbox/CgroupManager1";

struct ServiceInfo {
  std::string version;
  std::string layout;
  std::vector<std::string> controllers;
  std::string root;
};

class Service final : public sdbus::AdaptorInterfaces<org::nestbox::CgroupManager1_adaptor> {
 public:
  Service(sdbus::IConnection& connection, Manager& manager, ThreadPool& pool, ServiceInfo info,
          std::function<void()> marks_changed);
  ~Service();

 private:
  void Create(sdbus::Result<std::string>&& result, std::string path,
              std::map<std::string, std::string> limits) override;
  void SetLimits(sdbus::Result<>&& result, std::string path, std::map<std::string, std::string> limits) override;
  void GetValue(sdbus::Result<std::string>&& result, std::string path, std::string file) override;
  void GetLimits(sdbus::Result<std::map<std::string, std::string>>&& result, std::string path) override;
  void ListControllers(sdbus::Result<std::vector<std::string>>&& result, std::string path) override;
  void Kill(sdbus::Result<>&& result, std::string path) override;
  void Freeze(sdbus::Result<>&& result, std::string path) override;
  void Thaw(sdbus::Result<>&& result, std::string path) override;
  void Delegate(sdbus::Result<>&& result, std::string path, uint32_t uid, uint32_t gid) override;
  void Undelegate(sdbus::Result<>&& result, std::string path) override;
  void RequestUserDelegation(sdbus::Result<std::string>&& result) override;
  void CreateAndAttach(sdbus::Result<std::string>&& result, std::string name,
                       std::map<std::string, std::string> limits, uint32_t pid, bool remove_on_empty) override;
  void Attach(sdbus::Result<>&& result, std::string path, uint32_t pid) override;
  void GetPidCgroup(sdbus::Result<std::string>&& result, uint32_t pid) override;
  void AttachPidfd(sdbus::Result<>&& result, std::string path, sdbus::UnixFd pidfd) override;
  void CreateAndAttachPidfd(sdbus::Result<std::string>&& result, std::string name,
                            std::map<std::string, std::string> limits, sdbus::UnixFd pidfd,
                            bool remove_on_empty) override;
  void GetPidfdCgroup(sdbus::Result<std::string>&& result, sdbus::UnixFd pidfd) override;
  void ListChildren(sdbus::Result<std::vector<std::string>>&& result, std::string path) override;
  void GetProcesses(sdbus::Result<std::vector<uint32_t>>&& result, std::string path, bool recursive) override;
  void Remove(sdbus::Result<>&& result, std::string path, bool recursive) override;
  void RemoveOnEmpty(sdbus::Result<>&& result, std::string path, bool enable) override;
  void ListDelegations(
      sdbus::Result<std::vector<sdbus::Struct<std::string, uint32_t, uint32_t>>>&& result) override;

  void Subscribe() override;
  void Unsubscribe() override;

  std::string Version() override { return info_.version; }
  std::string Layout() override { return info_.layout; }
  std::vector<std::string> Controllers() override { return info_.controllers; }
  std::string Root() override { return info_.root; }

  // Sends Emptied/Removed for `path` to the subscribers allowed to see it.
  void send_event(const char* member, const std::string& path);
  // A connection left the bus: forget its subscription and credentials.
  void forget(const std::string& unique_name);

  // Identifies the sender of the message being dispatched (bus thread only).
  std::optional<Caller> current_caller(std::string* error);
  // Runs `fn(caller)` on the pool and replies with its result or its error.
  template <typename Fn, typename... Out>
  void dispatch(sdbus::Result<Out...>&& result, std::string what, bool mutating, Fn fn);

  Manager& manager_;
  ThreadPool& pool_;
  ServiceInfo info_;
  std::function<void()> marks_changed_;
  std::unique_ptr<sdbus::IProxy> bus_proxy_;  // org.freedesktop.DBus, for callers' credentials
  std::mutex callers_mutex_;
  std::map<std::string, Caller> callers_;  // unique bus name -> credentials
  // Refusals are logged with who asked, but any local user can ask in a loop:
  // 10 lines per caller uid a minute, then a count (nestbox/log_limit.hpp).
  LogLimiter refusal_log_;
  // Subscribed connections (unique name -> uid), bounded per uid and in total.
  static constexpr std::size_t kMaxSubscriptionsPerUid = 16;
  static constexpr std::size_t kMaxSubscriptions = 4096;
  std::mutex subscribers_mutex_;
  std::map<std::string, uid_t> subscribers_;
  sdbus::Slot name_owner_match_;  // NameOwnerChanged of departing connections
};

}  // namespace nestbox::cgmgr
