// SPDX-License-Identifier: Apache-2.0
#include "access.hpp"

#include <algorithm>

#include "nestbox/error.hpp"

namespace nestbox::fs {

bool dac_allows(const struct stat& st, const Cred& cred, int want) {
  if (cred.uid == 0) {
    // Like CAP_DAC_OVERRIDE: execute on a non-directory still needs some x bit.
    if ((want & kExec) && !S_ISDIR(st.st_mode) && !(st.st_mode & 0111)) return false;
    return true;
  }
  unsigned bits;
  if (st.st_uid == cred.uid) {
    bits = (st.st_mode >> 6) & 7;
  } else if (st.st_gid == cred.gid ||
             std::find(cred.groups.begin(), cred.groups.end(), st.st_gid) != cred.groups.end()) {
    bits = (st.st_mode >> 3) & 7;
  } else {
    bits = st.st_mode & 7;
  }
  return (bits & static_cast<unsigned>(want)) == static_cast<unsigned>(want);
}

void check_move(const MoveRequest& r, const std::function<bool(const CgroupPath&)>& may_write_procs) {
  if (r.writer.uid != 0 && r.writer.uid != r.target_ruid && r.writer.uid != r.target_suid) {
    throw Error(Errc::PermissionDenied,
                "may not move a process of another user (uid " + std::to_string(r.target_ruid) + ")");
  }
  if (!r.view_root.contains(r.destination)) {
    throw Error(Errc::PermissionDenied, "destination " + r.destination.str() + " is outside the view");
  }
  if (!r.view_root.contains(r.source)) {
    throw Error(Errc::PermissionDenied, "the process lives outside the view (" + r.source.str() + ")");
  }
  CgroupPath common = CgroupPath::common_ancestor(r.source, r.destination);
  if (!r.view_root.contains(common)) {
    throw Error(Errc::PermissionDenied, "common ancestor " + common.str() + " is outside the view");
  }
  if (!may_write_procs(common)) {
    throw Error(Errc::PermissionDenied,
                "no write access to cgroup.procs of the common ancestor " + common.str());
  }
}

}  // namespace nestbox::fs
