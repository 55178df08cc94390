// SPDX-License-Identifier: Apache-2.0
// nestbox-run: see README.md (nestbox-run).
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <iostream>

#include "commands.hpp"
#include "container.hpp"
#include "exit_status.hpp"
#include "nestbox/error.hpp"
#include "options.hpp"

int main(int argc, char** argv) {
  using namespace nestbox::launcher;
  std::vector<std::string> args(argv + 1, argv + argc);
  ParseOutcome parsed = parse_command_line(args);
  if (!parsed.invocation) {
    std::cout << parsed.out;
    std::cerr << parsed.err;
    return parsed.exit_code;
  }
  const Invocation& inv = *parsed.invocation;
  try {
    switch (inv.mode) {
      case Mode::List:
        return run_list(inv.list);
      case Mode::Exec: {
        // After setns this process lives in the container's namespaces, where
        // exit-time machinery that spawns helpers (sanitizer leak checks) cannot
        // work: leave without it.
        int code = kExitLauncherError;
        try {
          code = run_exec(inv.exec);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "nestbox-run: %s\n", e.what());
        }
        std::fflush(nullptr);
        ::_exit(code);
      }
      case Mode::Run:
        return run_container(inv.run);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nestbox-run: %s\n", e.what());
  }
  return kExitLauncherError;
}
