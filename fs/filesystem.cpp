// SPDX-License-Identifier: Apache-2.0
#include "filesystem.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstring>
#include <mutex>

#include "nestbox/error.hpp"
#include "guarded.hpp"
#include "reader_log.hpp"

namespace nestbox::fs {
namespace {

// Attribute/entry cache time of the fixed nodes; the cgroup view uses 0 so that
// every path walk asks again with the walker's own identity.
constexpr double kStaticTimeout = 1.0;

}  // namespace

// One open of a content file. What a read serves is the rendering made by the
// last read at offset 0 of this open (or by the first read, whatever its
// offset): a read at offset 0 renders afresh, as the kernel's seq_file files do,
// so tools that keep the file open and re-read it after lseek(0) (top, vmstat,
// free -s, htop) see new values, while chunked reads of one rendering stay
// consistent. The text is shared, so a reply in flight keeps it alive.
struct Filesystem::OpenFile {
  enum class Source { Proc, View, Cpu, Block };
  Source source = Source::Proc;
  FileKind kind = FileKind::Static;
  std::uint64_t ino = 0;
  std::mutex mutex;
  Text text;
};

struct Filesystem::OpenDir {
  struct Item {
    std::string name;
    std::uint64_t ino;
    mode_t type;
  };
  std::vector<Item> items;
};

namespace {

using OpenFile = Filesystem::OpenFile;
using OpenDir = Filesystem::OpenDir;

Filesystem& self(fuse_req_t req) { return *static_cast<Filesystem*>(fuse_req_userdata(req)); }

Cred cred_of(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  Cred c{ctx->pid, ctx->uid, ctx->gid, {}};
  gid_t groups[64];
  int n = fuse_req_getgroups(req, 64, groups);
  if (n > 64) {
    std::vector<gid_t> all(static_cast<std::size_t>(n));
    n = fuse_req_getgroups(req, n, all.data());
    if (n > 0) c.groups.assign(all.begin(), all.begin() + std::min<int>(n, static_cast<int>(all.size())));
  } else if (n > 0) {
    c.groups.assign(groups, groups + n);
  }
  return c;
}

struct stat static_attr(const StaticNode& n) {
  struct stat st {};
  st.st_ino = n.ino;
  st.st_uid = 0;
  st.st_gid = 0;
  if (n.dir) {
    st.st_mode = S_IFDIR | 0555;
    st.st_nlink = 2;
  } else {
    st.st_mode = S_IFREG | 0444;
    st.st_nlink = 1;
    // Reads are direct (served from the per-open buffer), so the size only has
    // to look sensible to tools that stat first.
    st.st_size = n.kind == FileKind::Static ? static_cast<off_t>(static_content().size()) : 4096;
  }
  return st;
}

// A device directory of sys/block or its `stat` (block_dir.hpp).
struct stat block_attr(std::uint64_t ino) {
  struct stat st {};
  st.st_ino = ino;
  if (BlockDir::is_stat(ino)) {
    st.st_mode = S_IFREG | 0444;
    st.st_nlink = 1;
    st.st_size = 4096;
  } else {
    st.st_mode = S_IFDIR | 0555;
    st.st_nlink = 2;
  }
  return st;
}

void reply_view_entry(fuse_req_t req, const CgroupView::Entry& e) {
  fuse_entry_param p{};
  p.ino = e.ino;
  p.attr = e.st;
  p.attr_timeout = 0;
  p.entry_timeout = 0;
  fuse_reply_entry(req, &p);
}

void op_init(void*, fuse_conn_info* conn) {
  // O_TRUNC comes with open() instead of a separate setattr(size=0).
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
}

// Entries of the CPU directory: a `cpuN` at its top exists for some readers and
// not for others, so the kernel must ask again on every walk (timeout 0); below
// it, names and attributes are the host's.
void reply_cpu_entry(fuse_req_t req, const CpuDir::Entry& e, bool top) {
  fuse_entry_param p{};
  p.ino = e.ino;
  p.attr = e.st;
  p.attr_timeout = kStaticTimeout;
  p.entry_timeout = top ? 0 : kStaticTimeout;
  fuse_reply_entry(req, &p);
}

// Devices come and go on the host: names are asked again on every walk.
void reply_block_entry(fuse_req_t req, std::uint64_t ino) {
  fuse_entry_param p{};
  p.ino = ino;
  p.attr = block_attr(ino);
  p.attr_timeout = kStaticTimeout;
  p.entry_timeout = 0;
  fuse_reply_entry(req, &p);
}

std::optional<CpuList> visible_for(fuse_req_t req) { return self(req).files().visible_for(fuse_req_ctx(req)->pid); }

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, "lookup", [&] {
    auto& fs = self(req);
    if (CgroupView::owns(parent)) return reply_view_entry(req, fs.view().lookup(cred_of(req), parent, name));
    if (CpuDir::owns(parent)) return reply_cpu_entry(req, fs.cpu_dir().lookup(parent, name, visible_for(req)), false);
    if (BlockDir::owns(parent)) {
      // A device directory holds `stat` only.
      fs.block_dir().device(parent);
      if (BlockDir::is_stat(parent) || std::string_view(name) != "stat")
        throw Error(Errc::NotFound, "no such file", ENOENT);
      return reply_block_entry(req, BlockDir::stat_of(parent));
    }
    const StaticNode* p = fs.tree().find(parent);
    if (!p || !p->dir) throw Error(Errc::NotFound, "no such directory", ENOENT);
    if (p->cgroup_root) return reply_view_entry(req, fs.view().lookup_top(cred_of(req), name));
    const StaticNode* c = fs.tree().child(parent, name);
    if (!c && p->cpu_dir) return reply_cpu_entry(req, fs.cpu_dir().lookup(0, name, visible_for(req)), true);
    if (!c && p->block_dir) return reply_block_entry(req, fs.block_dir().lookup(name));
    if (!c) throw Error(Errc::NotFound, "no such file", ENOENT);
    fuse_entry_param e{};
    e.ino = c->ino;
    e.attr = static_attr(*c);
    e.attr_timeout = kStaticTimeout;
    e.entry_timeout = kStaticTimeout;
    fuse_reply_entry(req, &e);
  });
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  if (CgroupView::owns(ino)) self(req).view().forget(ino, nlookup);
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i)
    if (CgroupView::owns(forgets[i].ino)) self(req).view().forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  guarded(req, "getattr", [&] {
    auto& fs = self(req);
    if (CgroupView::owns(ino)) {
      struct stat st = fs.view().getattr(cred_of(req), ino);
      fuse_reply_attr(req, &st, 0);
      return;
    }
    if (CpuDir::owns(ino)) {
      struct stat st = fs.cpu_dir().getattr(ino);
      fuse_reply_attr(req, &st, kStaticTimeout);
      return;
    }
    if (BlockDir::owns(ino)) {
      fs.block_dir().device(ino);
      struct stat st = block_attr(ino);
      fuse_reply_attr(req, &st, kStaticTimeout);
      return;
    }
    const StaticNode* n = fs.tree().find(ino);
    if (!n) throw Error(Errc::NotFound, "no such inode", ENOENT);
    struct stat st = static_attr(*n);
    fuse_reply_attr(req, &st, kStaticTimeout);
  });
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat*, int to_set, fuse_file_info*) {
  guarded(req, "setattr", [&] {
    // Only truncation of a cgroup file is accepted (a no-op, as on cgroupfs).
    if (!CgroupView::owns(ino) || (to_set & ~FUSE_SET_ATTR_SIZE))
      throw Error(Errc::PermissionDenied, "read-only attribute", EPERM);
    struct stat st = self(req).view().getattr(cred_of(req), ino);
    fuse_reply_attr(req, &st, 0);
  });
}

// A new open of `ino` with the open's checks (throws nestbox::Error).
std::shared_ptr<OpenFile> open_file(fuse_req_t req, fuse_ino_t ino, int flags) {
  auto& fs = self(req);
  auto file = std::make_shared<OpenFile>();
  file->ino = ino;
  if (CgroupView::owns(ino)) {
    fs.view().open(cred_of(req), ino, flags);
    file->source = OpenFile::Source::View;
  } else if (CpuDir::owns(ino)) {
    if ((flags & O_ACCMODE) != O_RDONLY) throw Error(Errc::PermissionDenied, "read-only", EACCES);
    fs.cpu_dir().check_open(ino, cred_of(req), visible_for(req));
    file->source = OpenFile::Source::Cpu;
  } else if (BlockDir::owns(ino)) {
    fs.block_dir().device(ino);
    if (!BlockDir::is_stat(ino)) throw Error(Errc::InvalidPath, "is a directory", EISDIR);
    if ((flags & O_ACCMODE) != O_RDONLY) throw Error(Errc::PermissionDenied, "read-only", EACCES);
    file->source = OpenFile::Source::Block;
  } else {
    const StaticNode* n = fs.tree().find(ino);
    if (!n) throw Error(Errc::NotFound, "no such inode", ENOENT);
    if (n->dir) throw Error(Errc::InvalidPath, "is a directory", EISDIR);
    if ((flags & O_ACCMODE) != O_RDONLY) throw Error(Errc::PermissionDenied, "read-only", EACCES);
    file->source = OpenFile::Source::Proc;
    file->kind = n->kind;
  }
  return file;
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, "open", [&] {
    auto& fs = self(req);
    auto file = open_file(req, ino, fi->flags);
    fi->direct_io = 1;
    fi->keep_cache = 0;
    fi->fh = fs.open_files().add(file);
    if (fuse_reply_open(req, fi) != 0) fs.open_files().remove(fi->fh);
  });
}

// A fresh rendering of an open file for the reader of this request.
Text render(fuse_req_t req, const OpenFile& file) {
  auto& fs = self(req);
  switch (file.source) {
    case OpenFile::Source::Proc: return fs.files().render(file.kind, fuse_req_ctx(req)->pid);
    case OpenFile::Source::View: return std::make_shared<const std::string>(fs.view().read(cred_of(req), file.ino));
    case OpenFile::Source::Cpu: return std::make_shared<const std::string>(fs.cpu_dir().read(file.ino));
    case OpenFile::Source::Block: {
      BlockDir::Device dev = fs.block_dir().device(file.ino);
      return fs.files().render_block_stat(dev.major, dev.minor, fs.block_dir().host_stat(dev), fuse_req_ctx(req)->pid);
    }
  }
  return std::make_shared<const std::string>();
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  guarded(req, "read", [&] {
    auto& fs = self(req);
    std::shared_ptr<OpenFile> file = fs.open_files().get(fi->fh);
    // A file opened from an earlier server of this connection (a reader that
    // kept it open across an upgrade or a crash): the open is made again for
    // this read, with the same checks; node ids of the fixed tree are the same
    // in every server, the dynamic ones of earlier servers answer ESTALE.
    if (!file && fs.open_files().foreign(fi->fh)) file = open_file(req, ino, O_RDONLY);
    if (!file) throw Error(Errc::NotFound, "unknown file handle", EBADF);
    Text data;
    {
      std::lock_guard lock(file->mutex);
      if (off == 0 || !file->text) file->text = render(req, *file);
      data = file->text;
    }
    if (off < 0 || static_cast<std::size_t>(off) >= data->size()) {
      fuse_reply_buf(req, nullptr, 0);
      return;
    }
    std::size_t n = std::min(size, data->size() - static_cast<std::size_t>(off));
    fuse_reply_buf(req, data->data() + off, n);
  });
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t, fuse_file_info*) {
  guarded(req, "write", [&] {
    if (!CgroupView::owns(ino)) throw Error(Errc::PermissionDenied, "read-only", EACCES);
    self(req).view().write(cred_of(req), ino, std::string_view(buf, size));
    fuse_reply_write(req, size);
  });
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  self(req).open_files().remove(fi->fh);
  fuse_reply_err(req, 0);
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  guarded(req, "readlink", [&] {
    if (!CpuDir::owns(ino)) throw Error(Errc::InvalidPath, "not a symlink", EINVAL);
    std::string target = self(req).cpu_dir().readlink(ino);
    fuse_reply_readlink(req, target.c_str());
  });
}

// A new open of directory `ino`: its entries as of now (throws nestbox::Error).
std::shared_ptr<OpenDir> open_dir(fuse_req_t req, fuse_ino_t ino) {
  auto& fs = self(req);
  auto dir = std::make_shared<OpenDir>();
  dir->items.push_back({".", ino, S_IFDIR});
  dir->items.push_back({"..", ino, S_IFDIR});
  auto add_cpu_entries = [&](std::uint64_t node) {
    for (auto& e : fs.cpu_dir().list(node, visible_for(req))) dir->items.push_back({std::move(e.name), 0, e.type});
  };
  if (CgroupView::owns(ino)) {
    for (auto& e : fs.view().list(cred_of(req), ino)) dir->items.push_back({std::move(e.name), 0, e.type});
  } else if (CpuDir::owns(ino)) {
    add_cpu_entries(ino);
  } else if (BlockDir::owns(ino)) {
    fs.block_dir().device(ino);
    if (BlockDir::is_stat(ino)) throw Error(Errc::InvalidPath, "not a directory", ENOTDIR);
    dir->items.push_back({"stat", BlockDir::stat_of(ino), S_IFREG});
  } else {
    const StaticNode* n = fs.tree().find(ino);
    if (!n || !n->dir) throw Error(Errc::NotFound, "no such directory", ENOENT);
    for (const auto* c : fs.tree().children(ino))
      dir->items.push_back({c->name, c->ino, c->dir ? mode_t{S_IFDIR} : mode_t{S_IFREG}});
    if (n->cgroup_root)
      for (auto& name : fs.view().hierarchy_names()) dir->items.push_back({name, 0, S_IFDIR});
    if (n->cpu_dir) add_cpu_entries(0);
    if (n->block_dir)
      for (auto& name : fs.block_dir().names()) dir->items.push_back({std::move(name), 0, S_IFDIR});
  }
  return dir;
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, "opendir", [&] {
    auto& fs = self(req);
    auto dir = open_dir(req, ino);
    fi->fh = fs.open_dirs().add(dir);
    if (fuse_reply_open(req, fi) != 0) fs.open_dirs().remove(fi->fh);
  });
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  guarded(req, "readdir", [&] {
    auto& fs = self(req);
    std::shared_ptr<OpenDir> dir = fs.open_dirs().get(fi->fh);
    // Opened from an earlier server: listed again (offsets are entry indexes,
    // so a listing in progress goes on where it was, give or take entries that
    // came or went).
    if (!dir && fs.open_dirs().foreign(fi->fh)) dir = open_dir(req, ino);
    if (!dir) throw Error(Errc::NotFound, "unknown directory handle", EBADF);
    std::vector<char> buf(size);
    std::size_t used = 0;
    for (std::size_t i = static_cast<std::size_t>(std::max<off_t>(off, 0)); i < dir->items.size(); ++i) {
      struct stat st {};
      // Dynamic entries get their inode on lookup; readdir reports a placeholder,
      // which the kernel only passes through as d_ino.
      st.st_ino = dir->items[i].ino ? dir->items[i].ino : CgroupView::kFirstIno - 1;
      st.st_mode = dir->items[i].type;
      std::size_t need = fuse_add_direntry(req, buf.data() + used, size - used, dir->items[i].name.c_str(), &st,
                                           static_cast<off_t>(i + 1));
      if (need > size - used) break;
      used += need;
    }
    fuse_reply_buf(req, buf.data(), used);
  });
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  self(req).open_dirs().remove(fi->fh);
  fuse_reply_err(req, 0);
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  guarded(req, "mkdir", [&] {
    if (!CgroupView::owns(parent)) throw Error(Errc::PermissionDenied, "read-only directory", EACCES);
    reply_view_entry(req, self(req).view().mkdir(cred_of(req), parent, name, mode));
  });
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, "rmdir", [&] {
    if (!CgroupView::owns(parent)) throw Error(Errc::PermissionDenied, "read-only directory", EACCES);
    self(req).view().rmdir(cred_of(req), parent, name);
    fuse_reply_err(req, 0);
  });
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent, const char* new_name,
               unsigned flags) {
  guarded(req, "rename", [&] {
    if (!CgroupView::owns(parent) || !CgroupView::owns(new_parent)) {
      // A hidden view directory on either side still answers ENOENT.
      for (fuse_ino_t p : {parent, new_parent})
        if (CgroupView::owns(p)) self(req).view().getattr(cred_of(req), p);
      throw Error(Errc::PermissionDenied, "read-only directory", EACCES);
    }
    self(req).view().rename(cred_of(req), parent, name, new_parent, new_name, flags);
    fuse_reply_err(req, 0);
  });
}

// cgroupfs has no files a user could remove (its unlink answers EPERM), and the
// fixed files are read-only. A hidden parent answers ENOENT, as in refuse_create.
void op_unlink(fuse_req_t req, fuse_ino_t parent, const char*) {
  guarded(req, "unlink", [&] {
    if (CgroupView::owns(parent)) self(req).view().getattr(cred_of(req), parent);
    throw Error(Errc::PermissionDenied, "cannot remove files here", EPERM);
  });
}

// cgroupfs has no regular files or links a user could create. A hidden parent
// still answers ENOENT so nothing is learned about it.
void refuse_create(fuse_req_t req, fuse_ino_t parent, const char* op) {
  guarded(req, op, [&] {
    if (CgroupView::owns(parent)) self(req).view().getattr(cred_of(req), parent);
    throw Error(Errc::PermissionDenied, "cannot create files here", EACCES);
  });
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char*, mode_t, fuse_file_info*) {
  refuse_create(req, parent, "create");
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char*, mode_t, dev_t) { refuse_create(req, parent, "mknod"); }

void op_symlink(fuse_req_t req, const char*, fuse_ino_t parent, const char*) {
  refuse_create(req, parent, "symlink");
}

fuse_lowlevel_ops make_ops() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.getattr = op_getattr;
  ops.setattr = op_setattr;
  ops.open = op_open;
  ops.read = op_read;
  ops.write = op_write;
  ops.release = op_release;
  ops.readlink = op_readlink;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.releasedir = op_releasedir;
  ops.mkdir = op_mkdir;
  ops.rmdir = op_rmdir;
  ops.rename = op_rename;
  ops.unlink = op_unlink;
  ops.create = op_create;
  ops.mknod = op_mknod;
  ops.symlink = op_symlink;
  return ops;
}

}  // namespace

Filesystem::Filesystem(const Options& options, const HostLayout& layout, std::unique_ptr<CgroupTree> tree)
    : cgroups_(std::move(tree)),
      sampler_(*cgroups_, LoadSampler::Config{std::chrono::milliseconds(options.load_interval_ms), 4096,
                                              std::chrono::seconds(600)}),
      files_(*cgroups_, options.cpu_view, sampler_),
      view_(layout, cgroups_->proc(), NodeLimits::of_nodes(options.max_nodes)),
      cpu_dir_(options.sys_cpu_dir),
      block_dir_(options.sys_block_dir) {}

Filesystem::~Filesystem() { stop(); }

void Filesystem::set_epoch(std::uint16_t epoch) {
  open_files_.set_epoch(epoch);
  open_dirs_.set_epoch(epoch);
  view_.set_epoch(epoch);
  cpu_dir_.set_epoch(epoch);
  block_dir_.set_epoch(epoch);
}

void Filesystem::start() { sampler_.start(); }
void Filesystem::stop() { sampler_.stop(); }

const fuse_lowlevel_ops& Filesystem::operations() {
  static const fuse_lowlevel_ops ops = make_ops();
  return ops;
}

}  // namespace nestbox::fs
