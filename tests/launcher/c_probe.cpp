// SPDX-License-Identifier: Apache-2.0
#include "c_probe.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>

namespace nestbox::launcher_test {

std::string compile_probe(const testkit::TempDir& dir, const std::string& name, const std::string& source,
                          std::string* why) {
  if (::access("/usr/bin/cc", X_OK) != 0) {
    *why = "no C compiler at /usr/bin/cc (install gcc) to build the probe " + name;
    return "";
  }
  const std::string src = dir.write(name + ".c", source);
  const std::string bin = dir.path() + "/" + name;
  auto r = testkit::run({"/usr/bin/cc", "-O2", "-Wall", "-o", bin, src});
  // A probe that does not compile is a broken test, not a missing feature.
  if (r.exit_code != 0) throw std::runtime_error("cannot compile the probe " + name + ": " + r.err);
  ::chmod(bin.c_str(), 0755);
  return bin;
}

}  // namespace nestbox::launcher_test
