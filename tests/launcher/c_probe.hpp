// SPDX-License-Identifier: Apache-2.0
// Small C programs the tests run inside containers, compiled from source with
// the system's cc into a directory the test user can read.
#pragma once

#include <string>

#include "testkit.hpp"

namespace nestbox::launcher_test {

// Compiles `source` to dir/name with `cc -O2`; returns the binary's path, or ""
// with *why set when there is no compiler (callers skip). Throws
// std::runtime_error when the source does not compile.
std::string compile_probe(const testkit::TempDir& dir, const std::string& name, const std::string& source,
                          std::string* why);

}  // namespace nestbox::launcher_test
