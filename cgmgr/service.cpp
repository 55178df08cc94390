// SPDX-License-Identifier: Apache-2.0
#include "service.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <tuple>

#include "nestbox/error.hpp"

namespace nestbox::cgmgr {
namespace {

// Unique names are never reused while the bus runs, so credentials cached by
// sender stay right; the cache is only trimmed to bound memory.
constexpr std::size_t kMaxCachedCallers = 4096;

sdbus::Error to_dbus(const Error& e) { return sdbus::Error(dbus_error_name(e.code()), e.what()); }

// Whether process `pid` lives in another pid namespace than ours. A process we
// cannot inspect counts as foreign: its numeric pids are then refused, which
// only costs it the pidfd form, never lets a wrong process be moved.
bool in_other_pid_ns(pid_t pid) {
  struct stat mine {}, theirs {};
  if (::stat("/proc/self/ns/pid", &mine) != 0) return false;  // no namespaces: nothing to tell apart
  if (::stat(("/proc/" + std::to_string(pid) + "/ns/pid").c_str(), &theirs) != 0) return true;
  return mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev;
}

}  // namespace

Service::Service(sdbus::IConnection& connection, Manager& manager, ThreadPool& pool, ServiceInfo info,
                 std::function<void()> marks_changed)
    : AdaptorInterfaces(connection, kObjectPath),
      manager_(manager),
      pool_(pool),
      info_(std::move(info)),
      marks_changed_(std::move(marks_changed)),
      bus_proxy_(sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus")) {
  registerAdaptor();
  // A connection that disconnects loses its subscription (and its cached
  // credentials): the bus announces it with an empty new owner.
  name_owner_match_ = connection.addMatch(
      "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
      "member='NameOwnerChanged',arg2=''",
      [this](sdbus::Message& msg) {
        std::string name, old_owner, new_owner;
        msg >> name >> old_owner >> new_owner;
        if (new_owner.empty() && !name.empty() && name[0] == ':') forget(name);
      });
  manager_.set_event_sink(EventSink{[this](const std::string& p) { send_event("Emptied", p); },
                                    [this](const std::string& p) { send_event("Removed", p); }});
}

Service::~Service() {
  manager_.set_event_sink({});
  unregisterAdaptor();
}

std::optional<Caller> Service::current_caller(std::string* error) {
  const sdbus::Message* msg = getObject().getCurrentlyProcessedMessage();
  if (!msg) {
    *error = "no message being processed";
    return std::nullopt;
  }
  const std::string sender = msg->getSender();
  {
    std::lock_guard lock(callers_mutex_);
    if (auto it = callers_.find(sender); it != callers_.end()) return it->second;
  }
  // One GetConnectionCredentials round trip to the bus daemon, which took the
  // uid and pid from the socket (SO_PEERCRED) when the sender connected. Nothing is
  // filled in from /proc/<pid>: that would be slower and racy (pid reuse). The
  // primary group is therefore unknown here; the manager looks it up by uid.
  Caller caller;
  caller.gid = static_cast<gid_t>(-1);
  try {
    std::map<std::string, sdbus::Variant> creds;
    bus_proxy_->callMethod("GetConnectionCredentials")
        .onInterface("org.freedesktop.DBus")
        .withArguments(sender)
        .storeResultsTo(creds);
    auto uid = creds.find("UnixUserID");
    if (uid == creds.end()) {
      *error = "the bus did not tell the caller's uid";
      return std::nullopt;
    }
    caller.uid = uid->second.get<uint32_t>();
    if (auto pid = creds.find("ProcessID"); pid != creds.end()) caller.pid = static_cast<pid_t>(pid->second.get<uint32_t>());
    caller.foreign_pid_ns = caller.pid > 0 && in_other_pid_ns(caller.pid);
  } catch (const sdbus::Error& e) {
    *error = "cannot identify the caller: " + e.getMessage();
    return std::nullopt;
  }
  std::lock_guard lock(callers_mutex_);
  if (callers_.size() >= kMaxCachedCallers) callers_.clear();
  callers_.emplace(sender, caller);
  return caller;
}

void Service::forget(const std::string& unique_name) {
  {
    std::lock_guard lock(subscribers_mutex_);
    subscribers_.erase(unique_name);
  }
  std::lock_guard lock(callers_mutex_);
  callers_.erase(unique_name);
}

void Service::Subscribe() {
  std::string why;
  auto caller = current_caller(&why);
  if (!caller) throw sdbus::Error(dbus_error_name(Errc::PermissionDenied), why);
  const std::string sender = getObject().getCurrentlyProcessedMessage()->getSender();
  std::lock_guard lock(subscribers_mutex_);
  if (subscribers_.count(sender)) return;
  std::size_t of_uid = 0;
  for (const auto& [name, uid] : subscribers_) of_uid += uid == caller->uid ? 1 : 0;
  if (caller->uid != 0 && (of_uid >= kMaxSubscriptionsPerUid || subscribers_.size() >= kMaxSubscriptions)) {
    refusal_log_.log(spdlog::level::warn, "refusals to uid " + std::to_string(caller->uid),
                     "Subscribe by {}: refused, {} connections of this uid are subscribed", caller->describe(), of_uid);
    throw sdbus::Error(dbus_error_name(Errc::Busy), "too many subscribed connections (" + std::to_string(of_uid) +
                                                        " of uid " + std::to_string(caller->uid) + ")");
  }
  subscribers_.emplace(sender, caller->uid);
}

void Service::Unsubscribe() {
  const std::string sender = getObject().getCurrentlyProcessedMessage()->getSender();
  std::lock_guard lock(subscribers_mutex_);
  subscribers_.erase(sender);
}

void Service::send_event(const char* member, const std::string& path) {
  // Root sees every event; a user those of its own delegations. The signal is
  // addressed to each subscriber: a connection that merely matches on it
  // receives nothing, so one user cannot watch another's containers come and go.
  const auto owner = manager_.owner_of(path);
  std::vector<std::string> to;
  {
    std::lock_guard lock(subscribers_mutex_);
    for (const auto& [name, uid] : subscribers_)
      if (uid == 0 || (owner && *owner == uid)) to.push_back(name);
  }
  for (const std::string& name : to) {
    try {
      auto signal = getObject().createSignal(INTERFACE_NAME, member);
      signal.setDestination(name);
      signal << path;
      getObject().emitSignal(signal);
    } catch (const sdbus::Error& e) {
      spdlog::warn("{} {} to {}: {}", member, path, name, e.getMessage());
    }
  }
}

template <typename Fn, typename... Out>
void Service::dispatch(sdbus::Result<Out...>&& result, std::string what, bool mutating, Fn fn) {
  std::string why;
  auto caller = current_caller(&why);
  if (!caller) {
    refusal_log_.log(spdlog::level::warn, "refusals to unidentified callers", "{}: refused: {}", what, why);
    result.returnError(sdbus::Error(dbus_error_name(Errc::PermissionDenied), why));
    return;
  }
  auto shared = std::make_shared<sdbus::Result<Out...>>(std::move(result));
  auto job = [this, shared, what, mutating, fn = std::move(fn), c = *caller]() {
    try {
      if constexpr (sizeof...(Out) == 0) {
        fn(c);
        shared->returnResults();
      } else {
        shared->returnResults(fn(c));
      }
      if (mutating) spdlog::info("{} by {}: ok", what, c.describe());
    } catch (const Error& e) {
      // Refusals that point at misuse (permissions, bad input, quotas) are
      // warnings; a state conflict is not: a launcher's Remove routinely finds
      // the cgroup already gone (remove-on-empty got there first).
      const bool conflict =
          e.code() == Errc::NotFound || e.code() == Errc::Exists || e.code() == Errc::Busy;
      const auto level = !mutating ? spdlog::level::debug : conflict ? spdlog::level::info : spdlog::level::warn;
      refusal_log_.log(level, "refusals to uid " + std::to_string(c.uid), "{} by {}: {}: {}", what, c.describe(),
                       errc_name(e.code()), e.what());
      shared->returnError(to_dbus(e));
    } catch (const sdbus::Error& e) {
      refusal_log_.log(spdlog::level::warn, "failed replies to uid " + std::to_string(c.uid),
                       "{} by {}: reply failed: {}", what, c.describe(), e.what());
    } catch (const std::exception& e) {
      refusal_log_.log(spdlog::level::err, "internal errors for uid " + std::to_string(c.uid),
                       "{} by {}: internal error: {}", what, c.describe(), e.what());
      shared->returnError(sdbus::Error(dbus_error_name(Errc::Io), std::string("internal error: ") + e.what()));
    }
  };
  if (!pool_.try_submit(caller->uid, std::move(job))) {
    refusal_log_.log(spdlog::level::warn, "busy refusals to uid " + std::to_string(caller->uid),
                     "{} by {}: refused, server busy", what, caller->describe());
    shared->returnError(sdbus::Error(dbus_error_name(Errc::Busy), "the manager is busy (your share of its queue, or the whole queue, is full); retry shortly"));
  }
}

void Service::Create(sdbus::Result<std::string>&& result, std::string path,
                     std::map<std::string, std::string> limits) {
  dispatch(std::move(result), "Create " + path, true,
           [this, path, limits](const Caller& c) { return manager_.create(c, path, limits); });
}

void Service::SetLimits(sdbus::Result<>&& result, std::string path, std::map<std::string, std::string> limits) {
  std::string what = "SetLimits " + path;
  for (const auto& [k, v] : limits) what += " " + k + "=" + v;
  dispatch(std::move(result), what, true,
           [this, path, limits](const Caller& c) { manager_.set_limits(c, path, limits); });
}

void Service::GetValue(sdbus::Result<std::string>&& result, std::string path, std::string file) {
  dispatch(std::move(result), "GetValue " + path + " " + file, false,
           [this, path, file](const Caller& c) { return manager_.get_value(c, path, file); });
}

void Service::GetLimits(sdbus::Result<std::map<std::string, std::string>>&& result, std::string path) {
  dispatch(std::move(result), "GetLimits " + path, false,
           [this, path](const Caller& c) { return manager_.get_limits(c, path); });
}

void Service::ListControllers(sdbus::Result<std::vector<std::string>>&& result, std::string path) {
  dispatch(std::move(result), "ListControllers " + path, false,
           [this, path](const Caller& c) { return manager_.list_controllers(c, path); });
}

void Service::Kill(sdbus::Result<>&& result, std::string path) {
  dispatch(std::move(result), "Kill " + path, true, [this, path](const Caller& c) { manager_.kill(c, path); });
}

void Service::Freeze(sdbus::Result<>&& result, std::string path) {
  dispatch(std::move(result), "Freeze " + path, true,
           [this, path](const Caller& c) { manager_.set_frozen(c, path, true); });
}

void Service::Thaw(sdbus::Result<>&& result, std::string path) {
  dispatch(std::move(result), "Thaw " + path, true,
           [this, path](const Caller& c) { manager_.set_frozen(c, path, false); });
}

void Service::Delegate(sdbus::Result<>&& result, std::string path, uint32_t uid, uint32_t gid) {
  dispatch(std::move(result), "Delegate " + path + " to " + std::to_string(uid) + ":" + std::to_string(gid), true,
           [this, path, uid, gid](const Caller& c) { manager_.delegate(c, path, uid, gid); });
}

void Service::Undelegate(sdbus::Result<>&& result, std::string path) {
  dispatch(std::move(result), "Undelegate " + path, true,
           [this, path](const Caller& c) { manager_.undelegate(c, path); });
}

void Service::RequestUserDelegation(sdbus::Result<std::string>&& result) {
  dispatch(std::move(result), "RequestUserDelegation", true,
           [this](const Caller& c) { return manager_.request_user_delegation(c); });
}

void Service::CreateAndAttach(sdbus::Result<std::string>&& result, std::string name,
                              std::map<std::string, std::string> limits, uint32_t pid, bool remove_on_empty) {
  std::string what = "CreateAndAttach " + name + " pid " + std::to_string(pid);
  for (const auto& [k, v] : limits) what += " " + k + "=" + v;
  dispatch(std::move(result), what, true, [this, name, limits, pid, remove_on_empty](const Caller& c) {
    std::string path = manager_.create_and_attach(c, name, limits, pid, remove_on_empty);
    if (remove_on_empty && marks_changed_) marks_changed_();
    return path;
  });
}

void Service::Attach(sdbus::Result<>&& result, std::string path, uint32_t pid) {
  dispatch(std::move(result), "Attach pid " + std::to_string(pid) + " to " + path, true,
           [this, path, pid](const Caller& c) { manager_.attach(c, path, pid); });
}

void Service::GetPidCgroup(sdbus::Result<std::string>&& result, uint32_t pid) {
  dispatch(std::move(result), "GetPidCgroup " + std::to_string(pid), false,
           [this, pid](const Caller& c) { return manager_.pid_cgroup(c, pid); });
}

void Service::AttachPidfd(sdbus::Result<>&& result, std::string path, sdbus::UnixFd pidfd) {
  auto fd = std::make_shared<sdbus::UnixFd>(std::move(pidfd));
  dispatch(std::move(result), "AttachPidfd to " + path, true,
           [this, path, fd](const Caller& c) { manager_.attach_pidfd(c, path, fd->get()); });
}

void Service::CreateAndAttachPidfd(sdbus::Result<std::string>&& result, std::string name,
                                   std::map<std::string, std::string> limits, sdbus::UnixFd pidfd,
                                   bool remove_on_empty) {
  std::string what = "CreateAndAttachPidfd " + name;
  for (const auto& [k, v] : limits) what += " " + k + "=" + v;
  auto fd = std::make_shared<sdbus::UnixFd>(std::move(pidfd));
  dispatch(std::move(result), what, true, [this, name, limits, fd, remove_on_empty](const Caller& c) {
    std::string path = manager_.create_and_attach_pidfd(c, name, limits, fd->get(), remove_on_empty);
    if (remove_on_empty && marks_changed_) marks_changed_();
    return path;
  });
}

void Service::GetPidfdCgroup(sdbus::Result<std::string>&& result, sdbus::UnixFd pidfd) {
  auto fd = std::make_shared<sdbus::UnixFd>(std::move(pidfd));
  dispatch(std::move(result), "GetPidfdCgroup", false,
           [this, fd](const Caller& c) { return manager_.pidfd_cgroup(c, fd->get()); });
}

void Service::ListChildren(sdbus::Result<std::vector<std::string>>&& result, std::string path) {
  dispatch(std::move(result), "ListChildren " + path, false,
           [this, path](const Caller& c) { return manager_.list_children(c, path); });
}

void Service::GetProcesses(sdbus::Result<std::vector<uint32_t>>&& result, std::string path, bool recursive) {
  dispatch(std::move(result), "GetProcesses " + path, false,
           [this, path, recursive](const Caller& c) { return manager_.processes(c, path, recursive); });
}

void Service::Remove(sdbus::Result<>&& result, std::string path, bool recursive) {
  dispatch(std::move(result), std::string(recursive ? "Remove (recursive) " : "Remove ") + path, true,
           [this, path, recursive](const Caller& c) { manager_.remove(c, path, recursive); });
}

void Service::RemoveOnEmpty(sdbus::Result<>&& result, std::string path, bool enable) {
  dispatch(std::move(result), std::string(enable ? "RemoveOnEmpty on " : "RemoveOnEmpty off ") + path, true,
           [this, path, enable](const Caller& c) {
             manager_.remove_on_empty(c, path, enable);
             if (marks_changed_) marks_changed_();
           });
}

void Service::ListDelegations(
    sdbus::Result<std::vector<sdbus::Struct<std::string, uint32_t, uint32_t>>>&& result) {
  dispatch(std::move(result), "ListDelegations", false, [this](const Caller& c) {
    std::vector<sdbus::Struct<std::string, uint32_t, uint32_t>> out;
    for (const Grant& g : manager_.delegations(c)) out.emplace_back(g.path.str(), g.uid, g.gid);
    return out;
  });
}

}  // namespace nestbox::cgmgr
