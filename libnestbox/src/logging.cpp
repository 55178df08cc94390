// SPDX-License-Identifier: Apache-2.0
#include "nestbox/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
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

namespace {

// Hands every message to `inner` escaped (escape_for_log): the one place all
// three programs' lines pass, so no call site has to remember it.
class EscapingSink final : public spdlog::sinks::sink {
 public:
  explicit EscapingSink(std::shared_ptr<spdlog::sinks::sink> inner) : inner_(std::move(inner)) {}
  void log(const spdlog::details::log_msg& msg) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (!needs_escaping(payload)) return inner_->log(msg);
    const std::string escaped = escape_for_log(payload);
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    inner_->log(copy);
  }
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    inner_->set_formatter(std::move(formatter));
  }

 private:
  static bool needs_escaping(std::string_view text) {
    for (const char ch : text) {
      const auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c >= 0x7f || c == '\\') return true;
    }
    return false;
  }
  std::shared_ptr<spdlog::sinks::sink> inner_;
};

// systemd sets JOURNAL_STREAM ("DEV:INODE") for services whose stderr goes to
// the journal. It is inherited by children whose stderr is redirected
// elsewhere, so it counts only while it names the stderr we have.
bool stderr_is_journal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (!env) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(env, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

}  // namespace

void init_logging(const std::string& program, spdlog::level::level_enum level) {
  std::shared_ptr<spdlog::logger> logger;
  // Under systemd with stderr in the journal: log natively there (with
  // priorities) instead of as plain text lines.
  if (stderr_is_journal()) {
    auto sink = std::make_shared<spdlog::sinks::systemd_sink_mt>(program);
    logger = std::make_shared<spdlog::logger>(program, std::make_shared<EscapingSink>(sink));
    logger->set_pattern("%v");
  } else {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    logger = std::make_shared<spdlog::logger>(program, std::make_shared<EscapingSink>(sink));
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e " + program + "[%P] %^%l%$: %v");
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace nestbox
