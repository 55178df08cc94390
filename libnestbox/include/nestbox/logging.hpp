// SPDX-License-Identifier: Apache-2.0
// spdlog setup shared by the three programs: stderr normally, the journal when
// started by systemd (JOURNAL_STREAM set). Every message is escaped on its way
// to the sink, so text a client chose (a path, a file name, an error naming
// them) can never start a line of its own or send terminal controls.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include "nestbox/escape.hpp"

namespace nestbox {

// Parses "trace|debug|info|warn|error|critical|off"; throws Error(InvalidValue).
spdlog::level::level_enum parse_log_level(std::string_view text);
// Installs the default logger named `program`.
void init_logging(const std::string& program, spdlog::level::level_enum level);

}  // namespace nestbox
