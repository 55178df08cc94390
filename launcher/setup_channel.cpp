// SPDX-License-Identifier: Apache-2.0
#include "setup_channel.hpp"

#include "nestbox/error.hpp"
#include "nestbox/fd_passing.hpp"
#include "nestbox/parse.hpp"

namespace nestbox::launcher {

void send_setup_message(int socket, char tag, std::string_view text, int fd) {
  if (text.size() > kMaxSetupText) throw Error(Errc::InvalidValue, "setup message too long");
  std::string bytes(1, tag);
  bytes.append(text);
  if (fd >= 0)
    send_fds(socket, bytes, std::span<const int>(&fd, 1));
  else
    send_fds(socket, bytes);
}

std::optional<SetupMessage> receive_setup_message(int socket) {
  auto m = receive_fds(socket, 1 + kMaxSetupText, 1);
  if (!m) return std::nullopt;
  SetupMessage out;
  out.tag = m->bytes[0];
  out.text = m->bytes.substr(1);
  if (!m->fds.empty()) out.fd = std::move(m->fds.front());
  return out;
}

std::string encode_cgroup_view(const std::vector<CgroupViewEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    for (const std::string* s : {&e.target, &e.host_dir})
      if (s->find_first_of("\t\n") != std::string::npos)
        throw Error(Errc::InvalidPath, "cgroup path with a tab or newline: " + *s);
    out += e.target + '\t' + (e.cgroup2 ? '1' : '0') + '\t' + e.host_dir + '\n';
  }
  return out;
}

std::vector<CgroupViewEntry> decode_cgroup_view(std::string_view text) {
  if (!text.empty() && text.back() != '\n') throw Error(Errc::InvalidValue, "cgroup view: unterminated line");
  std::vector<CgroupViewEntry> out;
  for (const std::string_view line : split_lines(text)) {
    const auto tab1 = line.find('\t');
    const auto tab2 = tab1 == std::string_view::npos ? tab1 : line.find('\t', tab1 + 1);
    if (tab2 == std::string_view::npos || tab2 != tab1 + 2 || (line[tab1 + 1] != '0' && line[tab1 + 1] != '1'))
      throw Error(Errc::InvalidValue, "cgroup view: malformed line");
    CgroupViewEntry e;
    e.target = std::string(line.substr(0, tab1));
    e.cgroup2 = line[tab1 + 1] == '1';
    e.host_dir = std::string(line.substr(tab2 + 1));
    if (e.host_dir.empty() || e.host_dir.front() != '/')
      throw Error(Errc::InvalidValue, "cgroup view: host directory is not absolute");
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace nestbox::launcher
