// SPDX-License-Identifier: Apache-2.0
// The unprivileged test user, created once per machine and shared (under a
// lock) by every test process.
#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "nestbox/unique_fd.hpp"
#include "testkit_internal.hpp"

namespace nestbox::testkit {
namespace {

constexpr const char* kUserName = "nestbox-test";
constexpr const char* kLockFile = "/run/nestbox-test-user.lock";
constexpr unsigned kRangeSize = 65536;
constexpr unsigned long kPreferredStart = 362144;

struct Range {
  std::string owner;
  unsigned long start;
  unsigned long count;
};

std::vector<Range> read_ranges(const std::string& file) {
  std::vector<Range> out;
  std::istringstream in(detail::slurp(file));
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(':');
    auto b = line.find(':', a == std::string::npos ? a : a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    try {
      out.push_back({line.substr(0, a), std::stoul(line.substr(a + 1, b - a - 1)), std::stoul(line.substr(b + 1))});
    } catch (const std::exception&) {
      // a malformed line belongs to someone else; leave it alone
    }
  }
  return out;
}

const Range* own_range(const std::vector<Range>& ranges, const std::string& name, uid_t uid) {
  for (const auto& r : ranges) {
    if ((r.owner == name || r.owner == std::to_string(uid)) && r.count >= kRangeSize) return &r;
  }
  return nullptr;
}

// First 65536-aligned-to-our-preference range overlapping nothing in either file.
unsigned long free_range_start(const std::vector<Range>& taken) {
  for (unsigned long start = kPreferredStart; start < 4000000000UL; start += kRangeSize) {
    bool overlaps = false;
    for (const auto& r : taken) {
      overlaps = overlaps || (start < r.start + r.count && r.start < start + kRangeSize);
    }
    if (!overlaps) return start;
  }
  throw std::runtime_error("testkit: no free subordinate id range");
}

void run_checked(const std::vector<std::string>& argv) {
  CommandResult r = run(argv);
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error("testkit: `" + cmd + "` failed (" + std::to_string(r.exit_code) + "): " + r.err);
  }
}

std::optional<passwd> find_user(std::vector<char>& buf) {
  passwd pw{};
  passwd* result = nullptr;
  if (getpwnam_r(kUserName, &pw, buf.data(), buf.size(), &result) != 0 || result == nullptr) return std::nullopt;
  return pw;
}

TestUser create_or_load() {
  if (auto reason = missing_root()) throw std::runtime_error("testkit: test_user() " + *reason);
  // Several test binaries may run at once (ctest -j): serialize the whole check-and-create.
  UniqueFd lock(::open(kLockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) throw std::runtime_error(std::string("testkit: open ") + kLockFile + ": " + std::strerror(errno));
  while (::flock(lock.get(), LOCK_EX) < 0) {
    if (errno != EINTR) throw std::runtime_error(std::string("testkit: flock: ") + std::strerror(errno));
  }

  std::vector<char> buf(16384);
  auto pw = find_user(buf);
  if (!pw) {
    run_checked({"useradd", "--create-home", "--user-group", "--shell", "/bin/sh", kUserName});
    pw = find_user(buf);
    if (!pw) throw std::runtime_error("testkit: useradd succeeded but the user is not visible");
  }
  TestUser user;
  user.name = kUserName;
  user.uid = pw->pw_uid;
  user.gid = pw->pw_gid;
  user.home = pw->pw_dir;
  ::mkdir(user.home.c_str(), 0755);
  ::chown(user.home.c_str(), user.uid, user.gid);
  // Readable by every user so programs copied or configured there can be used by all.
  ::chmod(user.home.c_str(), 0755);

  auto subuids = read_ranges("/etc/subuid");
  auto subgids = read_ranges("/etc/subgid");
  const Range* uid_range = own_range(subuids, user.name, user.uid);
  const Range* gid_range = own_range(subgids, user.name, user.uid);
  if (!uid_range || !gid_range) {
    std::vector<Range> taken = subuids;
    taken.insert(taken.end(), subgids.begin(), subgids.end());
    unsigned long start = free_range_start(taken);
    std::string span = std::to_string(start) + "-" + std::to_string(start + kRangeSize - 1);
    std::vector<std::string> argv = {"usermod"};
    if (!uid_range) argv.insert(argv.end(), {"--add-subuids", span});
    if (!gid_range) argv.insert(argv.end(), {"--add-subgids", span});
    argv.push_back(user.name);
    run_checked(argv);
    subuids = read_ranges("/etc/subuid");
    uid_range = own_range(subuids, user.name, user.uid);
    if (!uid_range) throw std::runtime_error("testkit: usermod did not add a subuid range");
  }
  user.subuid_start = static_cast<uid_t>(uid_range->start);
  user.subuid_count = static_cast<unsigned>(uid_range->count);
  return user;
}

}  // namespace

CommandResult TestUser::run(const std::vector<std::string>& argv, RunOptions options) const {
  options.uid = uid;
  options.gid = gid;
  return testkit::run(argv, options);
}

const TestUser& test_user() {
  static std::mutex mutex;
  static std::optional<TestUser> user;
  std::lock_guard lock(mutex);
  if (!user) user = create_or_load();
  return *user;
}

}  // namespace nestbox::testkit
