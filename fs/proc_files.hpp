// SPDX-License-Identifier: Apache-2.0
// Content of the virtualized files for one reader: gathers the reader's cgroup
// values through CgroupTree and hands them to the pure renderers. Any failure
// (reader gone, cgroup removed, reader in the root cgroup, unreadable file)
// yields the host's own file instead.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

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
  // `ttl`: how long a rendering (and a reader's cgroups) is shared.
  ProcFiles(const CgroupTree& tree, CpuView cpu_view, LoadSampler& sampler,
            std::chrono::milliseconds ttl = kRenderTtl);
  // Never throws: falls back to the host file (or "" if even that is unreadable).
  // The text may be shared with other readers and with the cache; never null.
  Text render(FileKind kind, pid_t reader);
  // The host CPUs the reader sees; nullopt when it sees all of them (a reader in
  // the root cgroup, or one that cannot be read: the host's view applies).
  std::optional<CpuList> visible_for(pid_t reader);
  // /sys/block/<dev>/stat of device MAJ:MIN for the reader; `host_stat` is the
  // host's file, served as it is to a reader in the root cgroup (never throws).
  Text render_block_stat(unsigned major, unsigned minor, const std::string& host_stat, pid_t reader);

 private:
  std::string render_or_throw(FileKind kind, const ReaderInfo& who);
  std::string cache_key(FileKind kind, const ReaderInfo& who) const;
  std::string meminfo(const ReaderCgroups& cg);
  std::string swaps(const ReaderCgroups& cg);
  CpuList visible(const ReaderCgroups& cg) const;
  std::string stat(const ReaderInfo& who);
  std::string uptime(const ReaderInfo& who);
  std::string vmstat(const ReaderCgroups& cg);

  const CgroupTree& tree_;
  CpuView cpu_view_;
  LoadSampler& sampler_;
  UptimeClock clock_;
  unsigned ticks_per_second_ = 100;
  ReaderCache readers_;
  RenderCache cache_;
  StatHistory stat_history_;
};

// Reads a whole host file; "" when unreadable.
std::string read_host_file(const std::string& path);

}  // namespace nestbox::fs
