// SPDX-License-Identifier: Apache-2.0
#include "launcher_env.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace nestbox::launcher_test {

std::string launcher_or_skip(std::string* why) {
  if (auto m = testkit::missing_root()) {
    *why = *m;
    return "";
  }
  if (auto m = testkit::missing_userns()) {
    *why = *m;
    return "";
  }
  const std::string built = testkit::built_program("nestbox-run");
  if (::access(built.c_str(), X_OK) != 0) {
    *why = "nestbox-run is not built at " + built;
    return "";
  }
  testkit::test_user();  // created before first use
  // nestbox-run looks for its init program beside itself.
  testkit::public_copy(testkit::built_program("nestbox-init"));
  return testkit::public_copy(built);
}

std::string unique_name() {
  static std::atomic<int> counter{0};
  return "t" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

testkit::CommandResult run_launcher(const std::string& launcher, const std::vector<std::string>& args,
                                    testkit::RunOptions options) {
  std::vector<std::string> argv{launcher};
  argv.insert(argv.end(), args.begin(), args.end());
  return testkit::test_user().run(argv, std::move(options));
}

std::vector<pid_t> processes_mentioning(const std::string& name) {
  std::vector<pid_t> found;
  DIR* dir = ::opendir("/proc");
  if (!dir) return found;
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == ::getpid()) continue;
    std::ifstream f("/proc/" + std::string(e->d_name) + "/cmdline");
    std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    for (auto& c : cmd)
      if (c == '\0') c = ' ';
    if (cmd.find(name) != std::string::npos) found.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(dir);
  return found;
}

std::vector<std::string> mounts_mentioning(const std::string& text) {
  std::vector<std::string> lines;
  std::ifstream f("/proc/self/mountinfo");
  for (std::string line; std::getline(f, line);)
    if (line.find(text) != std::string::npos) lines.push_back(line);
  return lines;
}

bool eventually(const std::function<bool()>& pred, int tenths) {
  for (int i = 0; i < tenths; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

std::vector<std::string> listed_names(const std::string& launcher) {
  auto r = run_launcher(launcher, {"list", "--json"});
  std::vector<std::string> names;
  if (r.exit_code != 0) return names;
  // Only containers past setup (a record exists from the moment the name is claimed).
  for (const auto& c : nlohmann::json::parse(r.out))
    if (c.value("init_pid", 0) > 0) names.push_back(c.at("name").get<std::string>());
  return names;
}

}  // namespace nestbox::launcher_test
