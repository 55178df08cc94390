// SPDX-License-Identifier: Apache-2.0
// Input: the content of cgroup interface files, read by the typed readers of
// both backends exactly as in production (through the fds of a hierarchy):
// memory.stat/current/max, memory.swap.*, the v1 memory.* and memsw files,
// cpu.stat, cpu.max, cfs_quota/period, cpuacct.*, cpuset lists, pids.*, io.stat,
// the blkio counters, the *.pressure files, cgroup.events and cgroup.procs.
// The kernel writes most of them, but a fixture tree, a FUSE or bind mount over
// /sys/fs/cgroup, or a future kernel format must not make a reader misbehave.
//
// Format: sections, each starting with a line "@ <v1|v2> <file>" followed by the
// file's content (up to the next "@ " line). Files not given keep the content
// a real host shows, so readers that need several files are reached too.
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "nestbox/cgroup_tree.hpp"
#include "nestbox/error.hpp"
#include "nestbox/parse.hpp"

namespace {

using nestbox::CgroupPath;

// Default content (as a real host prints it) of every file a reader opens, by
// layout and file name; the directory is the hierarchy the file lives in.
struct FileInfo {
  std::string hierarchy;  // "v2" or the v1 hierarchy directory
  std::string content;
};

const std::map<std::string, FileInfo, std::less<>>& v2_files() {
  static const std::map<std::string, FileInfo, std::less<>> files = {
      {"memory.max", {"v2", "536870912\n"}},
      {"memory.current", {"v2", "12288000\n"}},
      {"memory.swap.max", {"v2", "max\n"}},
      {"memory.swap.current", {"v2", "0\n"}},
      {"memory.stat", {"v2", "anon 4096000\nfile 8192000\nshmem 4096\nactive_file 4000000\n"
                             "inactive_file 4192000\nslab_reclaimable 100000\npgfault 1234\n"}},
      {"cpu.max", {"v2", "50000 100000\n"}},
      {"cpu.stat", {"v2", "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\nnr_periods 0\n"}},
      {"cpuset.cpus.effective", {"v2", "0-1\n"}},
      {"cpuset.cpus", {"v2", "\n"}},
      {"pids.current", {"v2", "3\n"}},
      {"pids.max", {"v2", "max\n"}},
      {"io.stat", {"v2", "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"}},
      {"cpu.pressure", {"v2", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                              "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"}},
      {"memory.pressure", {"v2", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                                 "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"}},
      {"io.pressure", {"v2", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                             "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"}},
      {"cgroup.events", {"v2", "populated 1\nfrozen 0\n"}},
      {"cgroup.procs", {"v2", "42\n43\n"}},
  };
  return files;
}

const std::map<std::string, FileInfo, std::less<>>& v1_files() {
  static const std::map<std::string, FileInfo, std::less<>> files = {
      {"memory.limit_in_bytes", {"memory", "536870912\n"}},
      {"memory.usage_in_bytes", {"memory", "12288000\n"}},
      {"memory.memsw.limit_in_bytes", {"memory", "9223372036854771712\n"}},
      {"memory.memsw.usage_in_bytes", {"memory", "12288000\n"}},
      {"memory.stat", {"memory", "cache 8192000\nrss 4096000\ntotal_cache 8192000\ntotal_rss 4096000\n"
                                 "total_active_file 4000000\ntotal_inactive_file 4192000\n"}},
      {"cpu.cfs_quota_us", {"cpu", "50000\n"}},
      {"cpu.cfs_period_us", {"cpu", "100000\n"}},
      {"cpu.shares", {"cpu", "1024\n"}},
      {"cpuacct.usage", {"cpuacct", "123456789\n"}},
      {"cpuacct.usage_percpu", {"cpuacct", "100000000 23456789 \n"}},
      {"cpuacct.stat", {"cpuacct", "user 10\nsystem 2\n"}},
      {"cpuset.effective_cpus", {"cpuset", "0-1\n"}},
      {"cpuset.cpus", {"cpuset", "0-1\n"}},
      {"pids.current", {"pids", "3\n"}},
      {"pids.max", {"pids", "max\n"}},
      {"blkio.throttle.io_service_bytes_recursive", {"blkio", "8:0 Read 4096\n8:0 Write 8192\nTotal 12288\n"}},
      {"blkio.throttle.io_serviced_recursive", {"blkio", "8:0 Read 1\n8:0 Write 2\nTotal 3\n"}},
      {"blkio.bfq.io_service_bytes_recursive", {"blkio", "8:16 Read 5000\nTotal 5000\n"}},
      {"blkio.bfq.io_serviced_recursive", {"blkio", "8:16 Read 5\nTotal 5\n"}},
      {"blkio.io_service_bytes_recursive", {"blkio", "Total 0\n"}},
      {"blkio.io_serviced_recursive", {"blkio", "Total 0\n"}},
      {"blkio.throttle.read_bps_device", {"blkio", "8:0 1048576\n"}},
      {"blkio.throttle.write_bps_device", {"blkio", ""}},
      {"blkio.throttle.read_iops_device", {"blkio", ""}},
      {"blkio.throttle.write_iops_device", {"blkio", "8:0 0\n"}},
      {"cgroup.procs", {"memory", "42\n"}},
      // Hybrid hosts keep the v2-only files in the cgroup2 hierarchy.
      {"cpu.pressure", {"unified", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"}},
      {"cgroup.events", {"unified", "populated 1\n"}},
  };
  return files;
}

const std::vector<std::string> kV1Hierarchies = {"memory", "cpu", "cpuacct", "cpuset", "pids", "blkio"};

// The file below the fixture for a (layout, name) of the input; "" if unknown.
std::string fixture_file(std::string_view layout, std::string_view name) {
  if (layout != "v1" && layout != "v2") return {};
  const auto& files = layout == "v2" ? v2_files() : v1_files();
  auto it = files.find(name);
  if (it == files.end()) return {};
  return (layout == "v2" ? "v2" : "v1/" + it->second.hierarchy) + "/a/" + it->first;
}

struct Fixture {
  nestbox::fuzz::ScratchDir dir;
  std::unique_ptr<nestbox::CgroupTree> v2, v1;
  std::map<std::string, std::string> defaults;  // relative file -> default content

  Fixture() {
    dir.mkdir("v2/a");
    dir.mkdir("v1/unified/a");
    dir.mkdir("proc");
    for (const auto& h : kV1Hierarchies) dir.mkdir("v1/" + h + "/a");
    for (const auto& [name, info] : v2_files()) defaults[fixture_file("v2", name)] = info.content;
    for (const auto& [name, info] : v1_files()) defaults[fixture_file("v1", name)] = info.content;
    for (const auto& [file, content] : defaults) dir.write(file, content);

    nestbox::TreeOptions opts;
    opts.proc_root = dir.abs("proc");
    const std::string v2_mountinfo = "30 20 0:26 / " + dir.abs("v2") + " rw - cgroup2 cgroup2 rw\n";
    auto layout2 = nestbox::HostLayout::parse(v2_mountinfo, [](const std::string&) {
      return std::string("cpuset cpu io memory pids\n");
    });
    v2 = nestbox::open_cgroup_tree(layout2, opts);

    std::string v1_mountinfo;
    int id = 31;
    for (const auto& h : kV1Hierarchies) {
      v1_mountinfo += std::to_string(id) + " 20 0:" + std::to_string(id) + " / " + dir.abs("v1/" + h) +
                      " rw - cgroup cgroup rw," + h + "\n";
      ++id;
    }
    v1_mountinfo += "40 20 0:40 / " + dir.abs("v1/unified") + " rw - cgroup2 cgroup2 rw\n";
    auto layout1 = nestbox::HostLayout::parse(v1_mountinfo, [](const std::string&) { return std::string(); });
    v1 = nestbox::open_cgroup_tree(layout1, opts);
  }
};

template <typename F>
void attempt(F&& f) {
  try {
    f();
  } catch (const nestbox::Error&) {
    // Readers refuse malformed values with an Error; that is the contract.
  }
}

void read_everything(const nestbox::CgroupTree& tree) {
  static const CgroupPath path = CgroupPath::parse("/a");
  attempt([&] {
    auto eff = tree.effective_memory(path);
    if (eff.limit && eff.binding_state.limit) NESTBOX_FUZZ_CHECK(*eff.limit <= *eff.binding_state.limit);
  });
  attempt([&] { (void)tree.cpu_max(path); });
  attempt([&] { (void)tree.effective_cpu_quota(path); });
  attempt([&] {
    if (auto cpus = tree.cpuset_cpus(path))
      for (std::size_t i = 1; i < cpus->size(); ++i) NESTBOX_FUZZ_CHECK((*cpus)[i - 1] < (*cpus)[i]);
  });
  attempt([&] { (void)tree.cpu_usage(path); });
  attempt([&] { (void)tree.pids(path); });
  attempt([&] { (void)tree.io_stats(path); });
  attempt([&] { (void)tree.populated(path); });
  // GetValue/GetLimits' readers: every limit by its v2 name (v1: translated).
  for (std::string_view key : nestbox::kLimitKeys) attempt([&] { (void)tree.limit(path, key); });
  attempt([&] { (void)tree.processes(path, true); });
  for (const char* resource : {"cpu", "memory", "io"})
    attempt([&] {
      // nestbox-fs serves pressure text as is; the keyed parser is what reads it.
      if (auto text = tree.pressure(path, resource)) (void)nestbox::parse_nested_keyed(*text);
    });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fx;
  std::set<std::string> touched;
  bool v1 = false, v2 = false;
  for (const auto& [name, content] : nestbox::fuzz::sections(nestbox::fuzz::as_text(data, size))) {
    auto header = nestbox::split_ws(name);  // "v2 memory.stat"
    if (header.size() != 2) continue;
    const std::string file = fixture_file(header[0], header[1]);
    if (file.empty() || !touched.insert(file).second) continue;
    fx.dir.write(file, content);
    (header[0] == "v2" ? v2 : v1) = true;
  }
  if (v2) read_everything(*fx.v2);
  if (v1) read_everything(*fx.v1);
  // The next input starts from the real host's files again.
  for (const auto& file : touched) fx.dir.write(file, fx.defaults.at(file));
  return 0;
}
