// SPDX-License-Identifier: Apache-2.0
// Fixture cgroup trees for unit tests: plain directories holding the files the
// kernel would show, mounted nowhere, described by a made-up mountinfo.
#pragma once

#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

#include "nestbox/layout.hpp"

namespace nestbox::testing {

class FixtureDir {
 public:
  FixtureDir() {
    char tmpl[] = "/tmp/nestbox-lib-fixture-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~FixtureDir() {
    ::nftw(
        path_.c_str(),
        [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p) == 0 ? 0 : 0; }, 16,
        FTW_DEPTH | FTW_PHYS);
  }
  FixtureDir(const FixtureDir&) = delete;
  FixtureDir& operator=(const FixtureDir&) = delete;

  const std::string& path() const { return path_; }
  std::string abs(const std::string& rel) const { return rel.empty() ? path_ : path_ + "/" + rel; }

  void mkdir(const std::string& rel) const {
    std::string cur = path_;
    std::stringstream parts(rel);
    std::string part;
    while (std::getline(parts, part, '/')) {
      if (part.empty()) continue;
      cur += "/" + part;
      ::mkdir(cur.c_str(), 0755);
    }
  }
  void write(const std::string& rel, const std::string& content) const {
    auto slash = rel.rfind('/');
    if (slash != std::string::npos) mkdir(rel.substr(0, slash));
    std::ofstream out(abs(rel), std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write fixture file " + rel);
  }
  std::string read(const std::string& rel) const {
    std::ifstream in(abs(rel));
    if (!in) throw std::runtime_error("cannot read fixture file " + rel);
    std::stringstream buf;
    buf << in.rdbuf();
    return buf.str();
  }
  bool exists(const std::string& rel) const {
    struct stat st {};
    return ::lstat(abs(rel).c_str(), &st) == 0;
  }
  // Writes each file of `files` below the directory `rel`.
  void cgroup(const std::string& rel, const std::map<std::string, std::string>& files) const {
    mkdir(rel);
    for (const auto& [name, content] : files) write(rel.empty() ? name : rel + "/" + name, content);
  }

 private:
  std::string path_;
};

// A mountinfo line for a fixture mount.
inline std::string mountinfo_line(int id, const std::string& mountpoint, const std::string& fstype,
                                  const std::string& super_options, const std::string& root = "/") {
  return std::to_string(id) + " 31 0:" + std::to_string(id) + " " + root + " " + mountpoint +
         " rw,relatime - " + fstype + " " + fstype + " " + super_options + "\n";
}

}  // namespace nestbox::testing
