// SPDX-License-Identifier: Apache-2.0
#include "nestbox/view_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>

#include "nestbox/safe_io.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox {
namespace {

// Names listed under `fs_block_dir` whose host device has a size (unused loop
// devices have none and would only add mounts).
std::vector<std::string> block_devices_in_use(const std::string& fs_block_dir, const std::string& host_block) {
  std::vector<std::string> out;
  DIR* dir = ::opendir(fs_block_dir.c_str());
  if (!dir) return out;
  while (dirent* d = ::readdir(dir)) {
    const std::string name = d->d_name;
    if (name == "." || name == "..") continue;
    // Through the host's link into /sys/devices, where the file is.
    UniqueFd fd(::open((host_block + "/" + name + "/size").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) continue;
    std::string size;
    try {
      size = read_fd(fd.get());
    } catch (const std::exception&) {
      continue;
    }
    if (!size.empty() && size != "0\n") out.push_back(name);
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

bool is_fuse_mount(const std::string& path) noexcept {
  struct statfs sfs {};
  constexpr long kFuseMagic = 0x65735546;
  return ::statfs(path.c_str(), &sfs) == 0 && sfs.f_type == kFuseMagic;
}

bool procfs_is_the_hosts(const std::string& proc) noexcept {
  try {
    UniqueFd dir(::open(proc.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return false;
    const auto status = read_file_beneath(dir.get(), "2/status");
    if (!status) return false;
    return status->starts_with("Name:\tkthreadd\n") && status->find("\nPPid:\t0\n") != std::string::npos;
  } catch (...) {
    return false;
  }
}

std::vector<std::string> view_files_in(const std::string& fs_root, const std::string& host_block) {
  std::vector<std::string> files;
  for (const auto& rel : kViewFiles)
    if (::access((fs_root + "/" + rel).c_str(), R_OK) == 0) files.push_back(rel);
  std::size_t blocks = 0;
  for (const auto& dev : block_devices_in_use(fs_root + "/sys/block", host_block)) {
    if (blocks == kMaxBlockBinds) break;
    std::string rel = "sys/block/" + dev + "/stat";
    if (::access((fs_root + "/" + rel).c_str(), R_OK) != 0) continue;
    files.push_back(std::move(rel));
    ++blocks;
  }
  return files;
}

std::vector<std::string> available_view_files(const std::string& fs_mount) {
  if (!is_fuse_mount(fs_mount)) return {};
  return view_files_in(fs_mount);
}

}  // namespace nestbox
