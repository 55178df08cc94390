// SPDX-License-Identifier: Apache-2.0
#include "security.hpp"

#include <seccomp.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

#include <cerrno>
#include <memory>
#include <string>

#include "nestbox/error.hpp"

namespace nestbox::launcher {
namespace {

// The set Docker/Podman keep by default: enough for package managers, servers
// binding low ports, and su/chown inside, nothing that administers the kernel.
const cap_value_t kDefaultCaps[] = {
    CAP_CHOWN,      CAP_DAC_OVERRIDE, CAP_FOWNER,           CAP_FSETID,      CAP_KILL,
    CAP_SETGID,     CAP_SETUID,       CAP_SETPCAP,          CAP_NET_BIND_SERVICE,
    CAP_NET_RAW,    CAP_SYS_CHROOT,   CAP_MKNOD,            CAP_AUDIT_WRITE, CAP_SETFCAP};

// Refused with EPERM: loading kernels/modules, handle-based opens (escape from
// bind mounts), kernel keyrings (not namespaced), eBPF and perf (kernel attack
// surface), userfaultfd (exploit primitive), process accounting, and direct
// port I/O.
const char* const kBlockedSyscalls[] = {
    "kexec_load",     "kexec_file_load", "open_by_handle_at", "init_module",  "finit_module",
    "delete_module",  "bpf",             "perf_event_open",   "userfaultfd",  "keyctl",
    "add_key",        "request_key",     "acct",              "iopl",         "ioperm",
    "lookup_dcookie", "quotactl",        "nfsservctl",        "uselib",       "vm86",
    "vm86old",        "swapon",          "swapoff",           "syslog"};

struct CapFree {
  void operator()(cap_t c) const noexcept { cap_free(c); }
};
struct CtxFree {
  void operator()(void* c) const noexcept { seccomp_release(static_cast<scmp_filter_ctx>(c)); }
};

void apply_caps(const cap_value_t* keep, int count) {
  // Bounding set first (needs CAP_SETPCAP, still held), then ambient, then the
  // process sets.
  for (cap_value_t c = 0; c <= CAP_LAST_CAP; ++c) {
    bool kept = false;
    for (int i = 0; i < count; ++i) kept = kept || keep[i] == c;
    if (!kept && CAP_IS_SUPPORTED(c) && cap_drop_bound(c) != 0)
      throw_errno(errno, "cannot drop capability " + std::to_string(c) + " from the bounding set");
  }
  if (cap_reset_ambient() != 0 && errno != EINVAL) throw_errno(errno, "cannot clear ambient capabilities");
  std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree> caps(cap_init());
  if (!caps) throw_errno(errno, "cap_init");
  if (count > 0 && (cap_set_flag(caps.get(), CAP_PERMITTED, count, keep, CAP_SET) != 0 ||
                    cap_set_flag(caps.get(), CAP_EFFECTIVE, count, keep, CAP_SET) != 0))
    throw_errno(errno, "cap_set_flag");
  if (cap_set_proc(caps.get()) != 0) throw_errno(errno, "cannot set capabilities");
}

}  // namespace

std::vector<std::string> default_capability_names() {
  std::vector<std::string> names;
  for (cap_value_t c : kDefaultCaps) {
    char* n = cap_to_name(c);
    names.emplace_back(n ? n : std::to_string(c));
    cap_free(n);
  }
  return names;
}

void drop_capabilities() { apply_caps(kDefaultCaps, static_cast<int>(std::size(kDefaultCaps))); }

void drop_all_capabilities() { apply_caps(nullptr, 0); }

void set_no_new_privs() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) throw_errno(errno, "PR_SET_NO_NEW_PRIVS");
}

std::vector<std::string> blocked_syscall_names() {
  std::vector<std::string> names(std::begin(kBlockedSyscalls), std::end(kBlockedSyscalls));
  names.emplace_back("ioctl(TIOCSTI)");
  names.emplace_back("ioctl(TIOCLINUX)");
  return names;
}

namespace {

std::unique_ptr<void, CtxFree> build_filter(bool notify_sysinfo) {
  std::unique_ptr<void, CtxFree> ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) throw Error(Errc::Io, "seccomp_init failed");
  // The kernel's own errno from seccomp_load, not ECANCELED.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_API_SYSRAWRC, 1); rc != 0)
    throw_errno(-rc, "seccomp_attr_set(SCMP_FLTATR_API_SYSRAWRC)");
  const auto deny = SCMP_ACT_ERRNO(EPERM);
  for (const char* name : kBlockedSyscalls) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    int rc = seccomp_rule_add(ctx.get(), deny, nr, 0);
    if (rc != 0 && rc != -EDOM && rc != -EOPNOTSUPP) throw_errno(-rc, std::string("seccomp rule for ") + name);
  }
  // TIOCSTI pushes input into a terminal's queue (a command typed into the
  // caller's shell after the container exits); TIOCLINUX can read the console.
  // The request is an int in the kernel: compare only the low 32 bits.
  for (unsigned long request : {static_cast<unsigned long>(TIOCSTI), static_cast<unsigned long>(TIOCLINUX)}) {
    int rc = seccomp_rule_add(ctx.get(), deny, SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, request));
    if (rc != 0) throw_errno(-rc, "seccomp rule for ioctl");
  }
  if (notify_sysinfo) {
    int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_NOTIFY, SCMP_SYS(sysinfo), 0);
    if (rc != 0) throw_errno(-rc, "seccomp rule for sysinfo");
  }
  return ctx;
}

}  // namespace

UniqueFd load_seccomp_filter(bool notify_sysinfo) {
  // The supervisor relies on SECCOMP_USER_NOTIF_FLAG_CONTINUE (kernel 5.5) to
  // fall back to the kernel's answer; libseccomp's API level 6 means a 5.7+
  // kernel, so it is there. Older kernels keep sysinfo native.
  if (notify_sysinfo && seccomp_api_get() < 6) notify_sysinfo = false;
  auto ctx = build_filter(notify_sysinfo);
  int rc = seccomp_load(ctx.get());
  if (rc != 0 && notify_sysinfo) {
    // The kernel allows one listener per chain of filters (EBUSY): inside another
    // nestbox container (or any supervised sandbox) the outer supervisor keeps
    // answering sysinfo, with the outer container's figures. Any failure gets
    // this retry: libseccomp reads errno after freeing the program, and a free
    // that sets errno (as the sanitizers' does) turns EBUSY into something else.
    notify_sysinfo = false;
    ctx = build_filter(false);
    rc = seccomp_load(ctx.get());
  }
  if (rc != 0) throw_errno(-rc, "cannot load the seccomp filter");
  if (!notify_sysinfo) return {};
  int fd = seccomp_notify_fd(ctx.get());
  if (fd < 0) throw_errno(-fd, "cannot get the seccomp listener");
  return UniqueFd(fd);
}

}  // namespace nestbox::launcher
