// SPDX-License-Identifier: Apache-2.0
#include "nestbox/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>

#include <array>
#include <cstdlib>
#include <utility>

#include "nestbox/error.hpp"

namespace nestbox {

spdlog::level::level_enum parse_log_level(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 7> kLevels = {{
      {"trace", spdlog::level::trace},
      {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},
      {"critical", spdlog::level::critical},
      {"off", spdlog::level::off},
  }};
  for (const auto& [name, level] : kLevels)
    if (name == text) return level;
  throw Error(Errc::InvalidValue, "invalid log level \"" + std::string(text) +
                                      "\" (allowed: trace, debug, info, warn, error, critical, off)");
}

void init_logging(const std::string& program, spdlog::level::level_enum level) {
  std::shared_ptr<spdlog::logger> logger;
  // systemd sets JOURNAL_STREAM for services whose stderr goes to the journal:
  // log natively there (with priorities) instead of as plain text lines.
  if (std::getenv("JOURNAL_STREAM") != nullptr) {
    auto sink = std::make_shared<spdlog::sinks::systemd_sink_mt>(program);
    logger = std::make_shared<spdlog::logger>(program, sink);
    logger->set_pattern("%v");
  } else {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    logger = std::make_shared<spdlog::logger>(program, sink);
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e " + program + "[%P] %^%l%$: %v");
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace nestbox
