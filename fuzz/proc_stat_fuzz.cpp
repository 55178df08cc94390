// SPDX-License-Identifier: Apache-2.0
// Input: the text of /proc/<pid>/stat. Its comm field (between the parentheses)
// is whatever name a process in a container gives itself, spaces and ')'
// included. Read by ProcFs::start_time_ticks (pid reuse checks, container
// uptime) and by nestbox-fs's load sampler (task states of a cgroup), both
// through a file as in production.
#include <cstdint>

#include "fuzz_support.hpp"
#include "load_sampler.hpp"
#include "nestbox/error.hpp"
#include "nestbox/proc.hpp"

namespace {

// A procfs with one process (pid 1) whose only thread is 1.
const nestbox::fuzz::ScratchDir& procfs() {
  static const nestbox::fuzz::ScratchDir dir;
  static const bool made = (dir.mkdir("1/task/1"), true);
  (void)made;
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nestbox;
  const auto& dir = procfs();
  const auto text = fuzz::as_text(data, size);
  dir.write("1/stat", text);
  dir.write("1/task/1/stat", text);
  try {
    (void)ProcFs(dir.path()).start_time_ticks(1);
  } catch (const Error&) {
  }
  auto counts = fs::count_tasks(dir.path(), {1});
  NESTBOX_FUZZ_CHECK(counts.total <= 1 && counts.running + counts.blocked <= counts.total);
  return 0;
}
