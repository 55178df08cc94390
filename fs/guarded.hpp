// SPDX-License-Identifier: Apache-2.0
// The error boundary of every FUSE handler.
#pragma once

#define FUSE_USE_VERSION 314
#include <fmt/format.h>
#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>

#include <exception>

#include "nestbox/error.hpp"
#include "reader_log.hpp"

namespace nestbox::fs {

// Runs a handler; any exception becomes an error reply. Every reader can
// provoke these lines at will, so they go through the reader log's limits:
// refusals (expected: hidden names, permissions) per uid, a full node share per
// uid (a warning: the admin learns who fills the table), and unexpected
// failures per operation.
template <typename Fn>
void guarded(fuse_req_t req, const char* op, Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    // Refused lookups are routine (every name a shell tries along PATH), so the
    // cause is only named when the line could be written.
    const fuse_ctx* who = fuse_req_ctx(req);
    const bool share = e.code() == Errc::QuotaExceeded;
    const auto level = share ? spdlog::level::warn : spdlog::level::debug;
    if (spdlog::should_log(level))
      reader_log().log(level, fmt::format("{} uid {}", share ? "node share of" : "refusals to", who->uid),
                       "{} by uid {} pid {}: {}", op, who->uid, who->pid, e.what());
    fuse_reply_err(req, to_errno(e));
  } catch (const std::exception& e) {
    const fuse_ctx* who = fuse_req_ctx(req);
    reader_log().log(spdlog::level::warn, fmt::format("{} failures", op), "{} by uid {} pid {}: {}", op, who->uid,
                     who->pid, e.what());
    fuse_reply_err(req, EIO);
  }
}

}  // namespace nestbox::fs
