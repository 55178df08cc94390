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

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, "lookup", [&] {
    struct stat st = self(req).lookup(parent, name);
    fuse_entry_param e{};
    e.ino = st.st_ino;
    e.attr = st;
    e.attr_timeout = kAttrTimeout;
    // A host entry's name comes and goes with the CPUs the container sees.
    e.entry_timeout = decode_tree_node(st.st_ino)->host ? kAttrTimeout : kEntryTimeout;
    fuse_reply_entry(req, &e);
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

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  guarded(req, "readlink", [&] { fuse_reply_readlink(req, self(req).readlink(ino).c_str()); });
}

// Without OPENDIR (refused) every READDIR lists afresh; offsets are indexes.
void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  guarded(req, "readdir", [&] {
    const auto entries = self(req).list(ino);
    std::vector<char> buf(size);
    std::size_t used = 0;
    for (std::size_t i = static_cast<std::size_t>(std::max<off_t>(off, 0)); i < entries.size(); ++i) {
      struct stat st {};
      st.st_ino = entries[i].ino;
      st.st_mode = entries[i].type;
      const std::size_t need = fuse_add_direntry(req, buf.data() + used, size - used, entries[i].name.c_str(), &st,
                                                 static_cast<off_t>(i + 1));
      if (need > size - used) break;
      used += need;
    }
    fuse_reply_buf(req, buf.data(), used);
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
  ops.readlink = op_readlink;
  ops.readdir = op_readdir;
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
             ProcFiles::Config{kRenderShare, kOwnerShare, kMaxContainers, true, kHostShare}),
      host_cpus_(options.sys_cpu_dir) {}

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

struct stat ContainerTree::lookup(std::uint64_t parent, std::string_view name) {
  auto at = decode_tree_node(parent);
  if (!at) not_found();
  if (parent == kTreeRoot) {
    auto pid = parse_container_name(name);
    if (!pid) not_found();
    return attr(tree_node_id(*pid, kContainerSlot));
  }
  const ContainerNode* dir = at->fixed();
  if (dir && !dir->dir) not_found();
  if (dir) {
    if (auto slot = container_child(at->slot, name)) return attr(tree_node_id(at->pid, *slot));
    if (!dir->host_entries) not_found();
  }
  // A host entry: in the CPU directory itself or below one of its entries.
  if (!container(at->pid)) not_found();
  const std::string rel = dir ? std::string() : host_entry(*at).rel;
  const auto found = host_cpus_.at(HostCpuDir::child(rel, name, files_.visible_for(at->pid)));
  return attr(host_node_id(at->pid, found.st.st_ino));
}

HostNodes::Found ContainerTree::host_entry(const TreeNode& node) {
  auto found = host_cpus_.find(node.host_ino);
  if (!found || !HostCpuDir::visible(found->rel, files_.visible_for(node.pid))) not_found();
  return *found;
}

void ContainerTree::keep_snapshot(std::uint64_t ino, Text text, struct stat& st) {
  std::lock_guard lock(mutex_);
  Snapshot& snap = snapshots_[ino];
  if (!snap.text || *snap.text != *text) {
    snap.text = std::move(text);
    snap.mtime = realtime_now();
  }
  snap.made = std::chrono::steady_clock::now();
  st.st_size = static_cast<off_t>(snap.text->size());
  st.st_mtim = snap.mtime;
  st.st_ctim = snap.mtime;
  trim_locked();
}

void ContainerTree::keep_listing(std::uint64_t ino, struct stat& st) {
  // The kernel caches a listing (no OPENDIR: its default) until the
  // directory's mtime moves: it moves when the entries the container sees
  // (names and numbers) do, which sysfs directories' own mtimes do not tell.
  std::string names;
  for (const auto& e : list(ino)) names.append(e.name).append(" ").append(std::to_string(e.ino)).push_back('\n');
  keep_snapshot(ino, std::make_shared<const std::string>(std::move(names)), st);
  st.st_size = 0;
}

struct stat ContainerTree::attr(std::uint64_t ino) {
  auto node = decode_tree_node(ino);
  if (!node) not_found();
  struct stat st {};
  if (ino == kTreeRoot) {
    st.st_ino = ino;
    st.st_mode = S_IFDIR | 0711;
    st.st_nlink = 2;
    return st;
  }
  auto owner = container(node->pid);
  if (!owner) not_found();
  if (node->host) {
    // The host's entry, read-only; a file's content taken now, as for the
    // rendered files (sysfs sizes every attribute 4096).
    auto found = host_entry(*node);
    st = found.st;
    st.st_ino = ino;
    if (S_ISDIR(st.st_mode)) keep_listing(ino, st);
    if (S_ISREG(st.st_mode)) {
      // Only what everyone may read is read: a file for the host's root alone
      // (crash_notes, cpuinfo_cur_freq) shows empty, its size and changes
      // telling nothing.
      Text text = std::make_shared<const std::string>();
      if (st.st_mode & S_IROTH) {
        try {
          text = std::make_shared<const std::string>(host_cpus_.dir().read(found.rel));
        } catch (const Error&) {
          // unreadable (write only): empty
        }
      }
      keep_snapshot(ino, std::move(text), st);
    }
    return st;
  }
  const ContainerNode& fixed = *node->fixed();
  st.st_ino = ino;
  st.st_uid = owner->uid;
  st.st_gid = owner->gid;
  if (fixed.dir) {
    st.st_mode = S_IFDIR | fixed.mode;
    st.st_nlink = 2;
    if (fixed.host_entries) keep_listing(ino, st);
    return st;
  }
  // A file: render now (shared for kRenderShare) and keep the rendering for
  // the READs that follow; its size is the file's, its mtime moves with its
  // content.
  st.st_mode = S_IFREG | fixed.mode;
  st.st_nlink = 1;
  st.st_uid = 0;
  st.st_gid = 0;
  keep_snapshot(ino, files_.render(fixed.kind, node->pid), st);
  return st;
}

Text ContainerTree::content(std::uint64_t ino, bool fresh) {
  auto node = decode_tree_node(ino);
  const ContainerNode* fixed = node ? node->fixed() : nullptr;
  if (!node || (!node->host && (!fixed || fixed->dir))) throw Error(Errc::InvalidValue, "not a file", EISDIR);
  if (!fresh) {
    std::lock_guard lock(mutex_);
    if (auto it = snapshots_.find(ino); it != snapshots_.end() && it->second.text) return it->second.text;
  }
  // No rendering kept (a server started after the kernel cached the
  // attributes, or one trimmed away): a fresh one, as GETATTR would make.
  if (!container(node->pid)) not_found();
  if (node->host) return std::make_shared<const std::string>(host_cpus_.dir().read(host_entry(*node).rel));
  return files_.render(fixed->kind, node->pid);
}

std::string ContainerTree::readlink(std::uint64_t ino) {
  auto node = decode_tree_node(ino);
  if (!node || !node->host) throw Error(Errc::InvalidPath, "not a symlink", EINVAL);
  if (!container(node->pid)) not_found();
  return host_cpus_.dir().readlink(host_entry(*node).rel);
}

std::vector<ContainerTree::DirEntry> ContainerTree::list(std::uint64_t ino) {
  auto node = decode_tree_node(ino);
  // The root is not listed (its mode says so; this says it again).
  if (!node || ino == kTreeRoot) throw Error(Errc::PermissionDenied, "not listed", EACCES);
  if (!container(node->pid)) not_found();
  const ContainerNode* fixed = node->fixed();
  if (fixed && !fixed->dir) throw Error(Errc::InvalidPath, "not a directory", ENOTDIR);
  std::vector<DirEntry> out{{".", ino, S_IFDIR}, {"..", ino, S_IFDIR}};
  if (fixed) {
    for (unsigned slot = 1; slot < std::size(kContainerNodes); ++slot)
      if (kContainerNodes[slot].parent == node->slot)
        out.push_back({std::string(kContainerNodes[slot].name), tree_node_id(node->pid, slot),
                       kContainerNodes[slot].dir ? mode_t{S_IFDIR} : mode_t{S_IFREG}});
    if (!fixed->host_entries) return out;
  }
  const std::string rel = fixed ? std::string() : host_entry(*node).rel;
  for (auto& e : host_cpus_.dir().list(rel, files_.visible_for(node->pid)))
    out.push_back({std::move(e.name), host_node_id(node->pid, e.ino), e.type});
  return out;
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
