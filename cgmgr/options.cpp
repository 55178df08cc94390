// SPDX-License-Identifier: Apache-2.0
#include "options.hpp"

#include <CLI/CLI.hpp>

namespace nestbox::cgmgr {

std::optional<int> parse_options(int argc, char** argv, Options& options) {
  CLI::App app{"nestbox-cgmgr: D-Bus cgroup manager that delegates cgroup subtrees to users"};
  app.set_version_flag("-V,--version", std::string("nestbox-cgmgr ") + NESTBOX_VERSION);
  app.add_option("--bus", options.bus, "\"system\", \"session\" or a D-Bus address (unix:path=...)")
      ->capture_default_str();
  app.add_option("--root", options.root,
                 "manager root cgroup (default: /nestbox, or the delegated service cgroup under systemd)");
  auto* policy = app.add_option("--policy", options.policy, "policy file (TOML)")->capture_default_str();
  app.add_option("--state", options.state, "state file (JSON, written atomically)")->capture_default_str();
  app.add_option("--log-level", options.log_level, "trace|debug|info|warn|error|critical|off")
      ->capture_default_str();
  app.add_option("--threads", options.threads, "worker threads serving calls (0: automatic)")
      ->check(CLI::Range(0u, 256u));
  app.add_option("--unpopulated-grace", options.unpopulated_grace,
                 "seconds a remove-on-empty cgroup that never held a process is kept before it is removed")
      ->capture_default_str()
      ->check(CLI::Range(1u, 86400u));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2, as for nestbox-fs.
    return app.exit(e) == 0 ? 0 : 2;
  }
  options.policy_given = policy->count() > 0;
  return std::nullopt;
}

}  // namespace nestbox::cgmgr
