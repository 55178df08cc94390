// SPDX-License-Identifier: Apache-2.0
// Content of the virtualized files for one reader: gathers the reader's cgroup
// values through CgroupTree and hands them to the pure renderers. Any failure
// (reader gone, cgroup removed, reader in the root cgroup, unreadable file)
// yields the host's own file instead.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "host_files.hpp"
#include "load_sampler.hpp"
#include "nestbox/cgroup_tree.hpp"
#include "options.hpp"
#include "render_cache.hpp"
#include "stat_history.hpp"
#include "reader.hpp"
#include "reader_cache.hpp"
#include "uptime_clock.hpp"

namespace nestbox::fs {

enum class FileKind {
  Meminfo, Cpuinfo, Stat, Uptime, Loadavg, Swaps, Diskstats, Vmstat,
  PressureCpu, PressureMemory, PressureIo,
  CpuOnline, CpuPossible, CpuPresent, CpuEnabled, CpuOffline,
  Static,
};

// The host file a kind falls back to.
std::string_view host_path(FileKind kind);
// The fixed content of MOUNTPOINT/.nestbox/static (the FUSE floor in benchmarks).
std::string_view static_content();

// How long a rendering is shared by readers with the same cgroups (see README.md (nestbox-fs)).
inline constexpr std::chrono::milliseconds kRenderTtl{100};

class ProcFiles {
 public:
  struct Config {
    // How long a rendering is shared.
    std::chrono::milliseconds render_ttl = kRenderTtl;
    // How long a reader's cgroups (and, with `owners`, its ids) are reused;
    // how many readers are remembered (each holds a pidfd).
    std::chrono::milliseconds reader_ttl = kRenderTtl;
    std::size_t readers = 256;
    bool owners = false;
    // How long one read of a host file serves renderings (0: read for each).
    std::chrono::milliseconds host_ttl{0};
  };
  ProcFiles(const CgroupTree& tree, CpuView cpu_view, LoadSampler& sampler, const Config& config);
  ProcFiles(const CgroupTree& tree, CpuView cpu_view, LoadSampler& sampler) : ProcFiles(tree, cpu_view, sampler, Config{}) {}
  // Never throws: falls back to the host file (or "" if even that is unreadable).
  // The text may be shared with other readers and with the cache; never null.
  Text render(FileKind kind, pid_t reader);
  // The host CPUs the reader sees; nullopt when it sees all of them (a reader in
  // the root cgroup, or one that cannot be read: the host's view applies).
  std::optional<CpuList> visible_for(pid_t reader);
  // /sys/block/<dev>/stat of device MAJ:MIN for the reader; `host_stat` is the
  // host's file, served as it is to a reader in the root cgroup (never throws).
  Text render_block_stat(unsigned major, unsigned minor, const std::string& host_stat, pid_t reader);
  // Who `pid` is (Config::owners: with its ids); throws when it is gone.
  std::shared_ptr<const ReaderInfo> reader(pid_t pid) { return readers_.get(pid); }

 private:
  std::string render_or_throw(FileKind kind, const ReaderInfo& who);
  std::string cache_key(FileKind kind, const ReaderInfo& who) const;
  std::string meminfo(const ReaderCgroups& cg);
  std::string swaps(const ReaderCgroups& cg);
  CpuList visible(const ReaderCgroups& cg);
  Text host(std::string_view path) { return host_.read(path); }
  std::string stat(const ReaderInfo& who);
  std::string uptime(const ReaderInfo& who);
  std::string vmstat(const ReaderCgroups& cg);

  const CgroupTree& tree_;
  CpuView cpu_view_;
  LoadSampler& sampler_;
  UptimeClock clock_;
  unsigned ticks_per_second_ = 100;
  ReaderCache readers_;
  HostFiles host_;
  RenderCache cache_;
  StatHistory stat_history_;
};

// Reads a whole host file; "" when unreadable.
std::string read_host_file(const std::string& path);

}  // namespace nestbox::fs
