// SPDX-License-Identifier: Apache-2.0
// Error model of the shared library: every failure is a nestbox::Error exception
// carrying a kind (which maps 1:1 onto org.nestbox.Error.* D-Bus names and onto
// an errno for FUSE replies) and a message a person can act on.
// The three programs translate at their edges: FUSE handlers return -errno,
// D-Bus methods throw sdbus::Error(dbus_error_name(kind), what()), the launcher
// prints what() and exits with its documented code.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace nestbox {

enum class Errc {
  InvalidPath,       // a cgroup path or name that fails validation
  InvalidValue,      // a limit, pid, size, cpu list ... that fails validation
  NotFound,          // cgroup, file or process does not exist
  PermissionDenied,  // the caller (or we) may not do this
  Exists,            // cgroup already exists
  Busy,              // cgroup still has processes/children
  QuotaExceeded,     // a policy quota or ceiling would be exceeded
  Unsupported,       // host lacks the controller/file/feature
  Io,                // anything else the kernel refused
};

class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& message, int sys_errno = 0)
      : std::runtime_error(message), code_(code), sys_errno_(sys_errno) {}
  Errc code() const noexcept { return code_; }
  // The errno that caused this error, or 0 when the error was found by validation.
  int sys_errno() const noexcept { return sys_errno_; }

 private:
  Errc code_;
  int sys_errno_;
};

// "InvalidPath", "NotFound", ...
std::string_view errc_name(Errc code) noexcept;
// "org.nestbox.Error.InvalidPath", ...
std::string dbus_error_name(Errc code);
// errno to report for an error (its own sys_errno if set, else a mapping of the kind).
int to_errno(const Error& error) noexcept;
// Kind for an errno: ENOENT->NotFound, EACCES/EPERM->PermissionDenied, EEXIST->Exists,
// EBUSY/ENOTEMPTY->Busy, EINVAL/ERANGE->InvalidValue, EOPNOTSUPP->Unsupported, else Io.
Errc errc_from_errno(int err) noexcept;
// Throws Error(errc_from_errno(err), what + ": " + strerror(err), err).
[[noreturn]] void throw_errno(int err, const std::string& what);

}  // namespace nestbox
