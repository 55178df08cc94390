// SPDX-License-Identifier: Apache-2.0
// A tiny FUSE filesystem used only to test the FuseMount fixture: one read-only
// file, /hello, whose content is kHello. Run as `fuse_hello -f MOUNTPOINT`.
#define FUSE_USE_VERSION 35
#include <fuse.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace {

constexpr std::string_view kHello = "hello from nestbox\n";
constexpr const char* kHelloPath = "/hello";

int hello_getattr(const char* path, struct stat* st, fuse_file_info*) {
  std::memset(st, 0, sizeof(*st));
  if (std::strcmp(path, "/") == 0) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return 0;
  }
  if (std::strcmp(path, kHelloPath) == 0) {
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = static_cast<off_t>(kHello.size());
    return 0;
  }
  return -ENOENT;
}

int hello_readdir(const char* path, void* buf, fuse_fill_dir_t fill, off_t, fuse_file_info*, fuse_readdir_flags) {
  if (std::strcmp(path, "/") != 0) return -ENOENT;
  fill(buf, ".", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  fill(buf, "..", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  fill(buf, kHelloPath + 1, nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  return 0;
}

int hello_open(const char* path, fuse_file_info* fi) {
  if (std::strcmp(path, kHelloPath) != 0) return -ENOENT;
  if ((fi->flags & O_ACCMODE) != O_RDONLY) return -EACCES;
  return 0;
}

int hello_read(const char* path, char* buf, size_t size, off_t offset, fuse_file_info*) {
  if (std::strcmp(path, kHelloPath) != 0) return -ENOENT;
  if (offset < 0 || static_cast<size_t>(offset) >= kHello.size()) return 0;
  size_t n = std::min(size, kHello.size() - static_cast<size_t>(offset));
  std::memcpy(buf, kHello.data() + offset, n);
  return static_cast<int>(n);
}

}  // namespace

int main(int argc, char* argv[]) {
  fuse_operations ops{};
  ops.getattr = hello_getattr;
  ops.readdir = hello_readdir;
  ops.open = hello_open;
  ops.read = hello_read;
  return fuse_main(argc, argv, &ops, nullptr);
}
