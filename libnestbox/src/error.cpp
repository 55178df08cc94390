// SPDX-License-Identifier: Apache-2.0
#include "nestbox/error.hpp"

#include <cerrno>
#include <cstring>

namespace nestbox {

std::string_view errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::InvalidPath: return "InvalidPath";
    case Errc::InvalidValue: return "InvalidValue";
    case Errc::NotFound: return "NotFound";
    case Errc::PermissionDenied: return "PermissionDenied";
    case Errc::Exists: return "Exists";
    case Errc::Busy: return "Busy";
    case Errc::QuotaExceeded: return "QuotaExceeded";
    case Errc::Unsupported: return "Unsupported";
    case Errc::Io: return "Io";
  }
  return "Io";
}

std::string dbus_error_name(Errc code) {
  return "org.nestbox.Error." + std::string(errc_name(code));
}

int to_errno(const Error& error) noexcept {
  if (error.sys_errno() != 0) return error.sys_errno();
  switch (error.code()) {
    case Errc::InvalidPath:
    case Errc::InvalidValue: return EINVAL;
    case Errc::NotFound: return ENOENT;
    case Errc::PermissionDenied: return EACCES;
    case Errc::Exists: return EEXIST;
    case Errc::Busy: return EBUSY;
    case Errc::QuotaExceeded: return EDQUOT;
    case Errc::Unsupported: return EOPNOTSUPP;
    case Errc::Io: return EIO;
  }
  return EIO;
}

Errc errc_from_errno(int err) noexcept {
  switch (err) {
    case ENOENT: return Errc::NotFound;
    case EACCES:
    case EPERM: return Errc::PermissionDenied;
    case EEXIST: return Errc::Exists;
    case EBUSY:
    case ENOTEMPTY: return Errc::Busy;
    case EINVAL:
    case ERANGE: return Errc::InvalidValue;
    case EOPNOTSUPP: return Errc::Unsupported;
    default: return Errc::Io;
  }
}

void throw_errno(int err, const std::string& what) {
  throw Error(errc_from_errno(err), what + ": " + std::strerror(err), err);
}

}  // namespace nestbox
