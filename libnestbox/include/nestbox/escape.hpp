// SPDX-License-Identifier: Apache-2.0
// Text a client chose, made safe for one log line.
#pragma once

#include <string>
#include <string_view>

namespace nestbox {

// `text` with every byte outside printable ASCII written as \n, \t, \r or
// \xNN, and a backslash as \\: one line, unambiguous, whatever the client sent.
std::string escape_for_log(std::string_view text);

}  // namespace nestbox
