// SPDX-License-Identifier: Apache-2.0
#include "node_quota.hpp"

#include <algorithm>
#include <cerrno>
#include <string>

#include "nestbox/error.hpp"

namespace nestbox::fs {
namespace {

[[noreturn]] void full(const std::string& what) { throw Error(Errc::QuotaExceeded, what, ENFILE); }

bool over(const NodeQuota::Usage& u, std::size_t bytes, std::size_t max_nodes, std::size_t max_bytes) {
  return u.nodes + 1 > max_nodes || u.bytes + bytes > max_bytes;
}

// a - b, never below 0.
std::size_t less(std::size_t a, std::size_t b) { return a > b ? a - b : 0; }

}  // namespace

NodeQuota::NodeQuota(NodeLimits limits) : limits_(limits) {}

void NodeQuota::charge(uid_t uid, std::size_t bytes) {
  if (over(total_, bytes, limits_.nodes, limits_.bytes)) full("the cgroup view's node table is full");
  if (uid != 0) {
    auto it = by_uid_.find(uid);
    const Usage mine = it == by_uid_.end() ? Usage{} : it->second;
    if (over(mine, bytes, limits_.uid_nodes, limits_.uid_bytes))
      full("uid " + std::to_string(uid) + " holds its share of the cgroup view's nodes (" +
           std::to_string(mine.nodes) + " nodes, " + std::to_string(mine.bytes) + " bytes)");
    if (over(users_, bytes, less(limits_.nodes, limits_.uid_nodes), less(limits_.bytes, limits_.uid_bytes)))
      full("the cgroup view's node table is full but for root's share");
    users_.nodes++;
    users_.bytes += bytes;
  }
  Usage& u = by_uid_[uid];
  u.nodes++;
  u.bytes += bytes;
  total_.nodes++;
  total_.bytes += bytes;
}

void NodeQuota::release(uid_t uid, std::size_t bytes) {
  auto it = by_uid_.find(uid);
  if (it == by_uid_.end()) return;
  Usage& u = it->second;
  bytes = std::min(bytes, u.bytes);
  u.nodes--;
  u.bytes -= bytes;
  if (uid != 0) {
    users_.nodes--;
    users_.bytes -= bytes;
  }
  total_.nodes--;
  total_.bytes -= bytes;
  if (u.nodes == 0) by_uid_.erase(it);
}

void NodeQuota::resize(uid_t uid, std::size_t old_bytes, std::size_t new_bytes) {
  auto it = by_uid_.find(uid);
  if (it == by_uid_.end()) return;
  auto apply = [&](Usage& u) { u.bytes = less(u.bytes, old_bytes) + new_bytes; };
  apply(it->second);
  if (uid != 0) apply(users_);
  apply(total_);
}

NodeQuota::Usage NodeQuota::of(uid_t uid) const {
  auto it = by_uid_.find(uid);
  return it == by_uid_.end() ? Usage{} : it->second;
}

}  // namespace nestbox::fs
