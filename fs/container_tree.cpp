// SPDX-License-Identifier: Apache-2.0
#include "container_tree.hpp"

#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "container_nodes.hpp"
#include "guarded.hpp"
#include "nestbox/error.hpp"

namespace nestbox::fs {
namespace {

// Names under a container change only when it goes, which a walk's permission
// check and the next GETATTR see.
constexpr double kEntryTimeout = 1.0;
constexpr double kAttrTimeout = std::chrono::duration<double>(ContainerTree::kRefresh).count();

ContainerTree& self(fuse_req_t req) { return *static_cast<ContainerTree*>(fuse_req_userdata(req)); }

[[noreturn]] void not_found() { throw Error(Errc::NotFound, "no such node", ENOENT); }

void op_init(void*, fuse_conn_info* conn) {
  // Cached pages dropped when a GETATTR shows a new mtime; the NO_OPEN
  // capabilities tell the kernel an ENOSYS below is meant.
  for (unsigned cap : {FUSE_CAP_NO_OPEN_SUPPORT, FUSE_CAP_NO_OPENDIR_SUPPORT, FUSE_CAP_AUTO_INVAL_DATA})
    if (conn->capable & cap) conn->want |= cap;
}

// OPEN, OPENDIR and FLUSH are answered ENOSYS: the kernel then stops sending
// them on this connection, opens keep the page cache (its default without an
// OPEN reply) and no RELEASE follows. libfuse, given no handler, would answer
// OPEN with success and no keep_cache: a round trip and a dropped cache on
// every open (measured: 20,000 opens, 20,000 OPEN, READ and RELEASE).
void op_open(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, ENOSYS); }
void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, ENOSYS); }

void reply_entry(fuse_req_t req, std::uint64_t ino, const struct stat& st) {
  fuse_entry_param e{};
  e.ino = ino;
  e.attr = st;
  e.attr_timeout = kAttrTimeout;
  e.entry_timeout = kEntryTimeout;
  fuse_reply_entry(req, &e);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, "lookup", [&] {
    auto& tree = self(req);
    auto at = decode_tree_node(parent);
    if (!at) not_found();
    std::uint64_t ino = 0;
    if (parent == kTreeRoot) {
      auto pid = parse_container_name(name);
      if (!pid) not_found();
      ino = tree_node_id(*pid, static_cast<unsigned>(TreeSlot::Container));
    } else if (at->slot == static_cast<unsigned>(TreeSlot::Container) && std::strcmp(name, "proc") == 0) {
      ino = tree_node_id(at->pid, static_cast<unsigned>(TreeSlot::ProcDir));
    } else if (at->slot == static_cast<unsigned>(TreeSlot::ProcDir)) {
      auto slot = container_file_slot(name);
      if (!slot) not_found();
      ino = tree_node_id(at->pid, *slot);
    } else {
      not_found();
    }
    reply_entry(req, ino, tree.attr(ino));
  });
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t) {
  self(req).forget(ino);
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) self(req).forget(forgets[i].ino);
  fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  guarded(req, "getattr", [&] {
    struct stat st = self(req).attr(ino);
    fuse_reply_attr(req, &st, kAttrTimeout);
  });
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  guarded(req, "read", [&] {
    Text text = self(req).content(ino, false);
    if (off < 0 || static_cast<std::size_t>(off) >= text->size()) {
      fuse_reply_buf(req, nullptr, 0);
      return;
    }
    const std::size_t n = std::min(size, text->size() - static_cast<std::size_t>(off));
    fuse_reply_buf(req, text->data() + off, n);
  });
}

fuse_lowlevel_ops make_ops() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.getattr = op_getattr;
  ops.read = op_read;
  ops.open = op_open;
  ops.opendir = op_open;
  ops.flush = op_flush;
  // No release or releasedir: never sent once OPEN and OPENDIR are refused.
  return ops;
}

timespec realtime_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

}  // namespace

ContainerTree::ContainerTree(const Options& options, std::unique_ptr<CgroupTree> tree)
    : cgroups_(std::move(tree)),
      sampler_(*cgroups_, LoadSampler::Config{std::chrono::milliseconds(options.load_interval_ms), 4096,
                                              std::chrono::seconds(600)}),
      files_(*cgroups_, options.cpu_view, sampler_,
             ProcFiles::Config{kRenderShare, kOwnerShare, kMaxContainers, true, kHostShare}) {}

ContainerTree::~ContainerTree() { stop(); }

const fuse_lowlevel_ops& ContainerTree::operations() {
  static const fuse_lowlevel_ops ops = make_ops();
  return ops;
}

void ContainerTree::start() { sampler_.start(); }
void ContainerTree::stop() { sampler_.stop(); }

std::optional<ContainerTree::Owner> ContainerTree::container(pid_t pid) {
  try {
    // Read with its cgroups, for kOwnerShare, under a pidfd (a recycled pid
    // never sees another process's entry).
    const auto who = files_.reader(pid);
    if (!who->pidns_init) return std::nullopt;
    return Owner{who->uid, who->gid};
  } catch (const Error&) {
    return std::nullopt;
  }
}

struct stat ContainerTree::attr(std::uint64_t ino) {
  auto node = decode_tree_node(ino);
  if (!node) not_found();
  struct stat st {};
  st.st_ino = ino;
  if (ino == kTreeRoot) {
    st.st_mode = S_IFDIR | 0711;
    st.st_nlink = 2;
    return st;
  }
  auto owner = container(node->pid);
  if (!owner) not_found();
  if (node->slot < kFirstFileSlot) {
    st.st_mode = S_IFDIR | 0500;
    st.st_nlink = 2;
    st.st_uid = owner->uid;
    st.st_gid = owner->gid;
    return st;
  }
  // A file: render now (shared for kRefresh) and keep the rendering for the
  // READs that follow; its size is the file's, its mtime moves with its content.
  Text text = files_.render(container_file(node->slot)->kind, node->pid);
  std::lock_guard lock(mutex_);
  Snapshot& snap = snapshots_[ino];
  if (!snap.text || *snap.text != *text) {
    snap.text = text;
    snap.mtime = realtime_now();
  }
  snap.made = std::chrono::steady_clock::now();
  st.st_mode = S_IFREG | 0444;
  st.st_nlink = 1;
  st.st_size = static_cast<off_t>(snap.text->size());
  st.st_mtim = snap.mtime;
  st.st_ctim = snap.mtime;
  trim_locked();
  return st;
}

Text ContainerTree::content(std::uint64_t ino, bool fresh) {
  auto node = decode_tree_node(ino);
  if (!node || node->slot < kFirstFileSlot) throw Error(Errc::InvalidValue, "not a file", EISDIR);
  if (!fresh) {
    std::lock_guard lock(mutex_);
    if (auto it = snapshots_.find(ino); it != snapshots_.end() && it->second.text) return it->second.text;
  }
  // No rendering kept (a server started after the kernel cached the
  // attributes, or one trimmed away): a fresh one, as GETATTR would make.
  if (!container(node->pid)) not_found();
  return files_.render(container_file(node->slot)->kind, node->pid);
}

void ContainerTree::forget(std::uint64_t ino) {
  std::lock_guard lock(mutex_);
  snapshots_.erase(ino);
}

void ContainerTree::trim_locked() {
  if (snapshots_.size() <= kMaxSnapshots) return;
  // The oldest quarter goes: one sweep per many insertions.
  std::vector<std::chrono::steady_clock::time_point> ages;
  ages.reserve(snapshots_.size());
  for (const auto& [ino, snap] : snapshots_) ages.push_back(snap.made);
  auto cut = ages.begin() + static_cast<std::ptrdiff_t>(ages.size() / 4);
  std::nth_element(ages.begin(), cut, ages.end());
  const auto limit = *cut;
  for (auto it = snapshots_.begin(); it != snapshots_.end();)
    it = it->second.made < limit ? snapshots_.erase(it) : std::next(it);
}

}  // namespace nestbox::fs
