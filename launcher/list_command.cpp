// SPDX-License-Identifier: Apache-2.0
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "state.hpp"

namespace nestbox::launcher {

std::string user_state_dir() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  const char* home = std::getenv("HOME");
  return default_state_dir(::getuid(), xdg ? xdg : "", home ? home : "");
}

int run_list(const ListOptions& options) {
  StateDir state(user_state_dir());
  const auto records = state.list();
  if (options.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : records) out.push_back(record_to_json(r));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("%-20s %-8s %-20s %-40s %s\n", "NAME", "PID", "CREATED", "CGROUP", "COMMAND");
  for (const auto& r : records) {
    char when[32] = "-";
    std::time_t t = static_cast<std::time_t>(r.created);
    if (std::tm tm{}; ::localtime_r(&t, &tm)) std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    std::string cmd;
    for (const auto& a : r.command) cmd += (cmd.empty() ? "" : " ") + a;
    std::printf("%-20s %-8d %-20s %-40s %s\n", r.name.c_str(), r.init_pid, when,
                r.cgroup.empty() ? "-" : r.cgroup.c_str(), cmd.c_str());
  }
  return 0;
}

}  // namespace nestbox::launcher
