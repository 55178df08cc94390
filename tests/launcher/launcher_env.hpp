// SPDX-License-Identifier: Apache-2.0
// Shared setup for the launcher's integration tests: the launcher binary copied
// where the test user can run it, unique container names, and checks that a
// test left nothing behind.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "testkit.hpp"

namespace nestbox::launcher_test {

// Skips unless root, user namespaces and the test user are available; returns the
// public copy of nestbox-run.
std::string launcher_or_skip(std::string* why);
// "t<pid>-<n>": unique per test process.
std::string unique_name();
// Runs nestbox-run with args as the test user.
testkit::CommandResult run_launcher(const std::string& launcher, const std::vector<std::string>& args,
                                    testkit::RunOptions options = {});
// Host pids whose command line mentions `name` (leftover containers).
std::vector<pid_t> processes_mentioning(const std::string& name);
// Lines of our mount table mentioning `text`.
std::vector<std::string> mounts_mentioning(const std::string& text);
// Waits (polling, bounded) until `pred` holds; returns whether it did.
bool eventually(const std::function<bool()>& pred, int tenths = 200);
// Names in the test user's `nestbox-run list --json` whose container is up.
std::vector<std::string> listed_names(const std::string& launcher);

}  // namespace nestbox::launcher_test
