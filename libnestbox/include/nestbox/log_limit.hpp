// SPDX-License-Identifier: Apache-2.0
// A limit on log lines that clients can provoke. Every line names a cause (a
// short key such as "refusals to uid 1000" or "lookup failure"); each cause may
// write a few lines per window, the rest are counted, and at the first line
// after the window (of any cause) one "suppressed K messages of CAUSE" line is
// written for each cause that was held back. So a client that floods one cause
// costs a few lines a minute instead of one per request, and cannot silence
// the lines of other causes. Windows are aligned for all causes, so the whole
// table is swept and emptied once per window; the number of causes is bounded
// too (beyond it, all new causes share one "other causes" entry).
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nestbox {

struct LogLimits {
  unsigned lines_per_window = 10;
  std::chrono::seconds window{60};
  std::size_t max_causes = 256;
};

class LogLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // Writes the summary of a cause whose lines were held back.
  using Report = std::function<void(std::string_view cause, std::uint64_t suppressed, spdlog::level::level_enum)>;

  using Config = LogLimits;
  static constexpr std::string_view kOtherCauses = "other causes";

  // The clock and the report are injected for tests; by default the steady
  // clock and a line in the default logger at the held-back lines' level.
  explicit LogLimiter(Config config = {}, Clock clock = {}, Report report = {});

  // Whether a line of `cause` at `level` may be written now. Counts the line
  // either way; may write the summaries of the window that has just ended.
  bool allow(std::string_view cause, spdlog::level::level_enum level);
  // Writes the summaries of the current window now and starts a new one.
  void flush();

  // A line in the default logger, unless `level` is off there (then nothing
  // is counted) or the cause has used up its lines.
  template <typename... Args>
  void log(spdlog::level::level_enum level, std::string_view cause, spdlog::format_string_t<Args...> format,
           Args&&... args) {
    if (!spdlog::default_logger_raw()->should_log(level)) return;
    if (allow(cause, level)) spdlog::log(level, format, std::forward<Args>(args)...);
  }

 private:
  struct Cause {
    unsigned written = 0;
    std::uint64_t suppressed = 0;
    spdlog::level::level_enum level = spdlog::level::trace;  // highest of the held-back lines
  };
  struct Summary {
    std::string cause;
    std::uint64_t suppressed;
    spdlog::level::level_enum level;
  };
  // Takes the summaries of the current window out of the table (under mutex_).
  std::vector<Summary> end_window(std::chrono::steady_clock::time_point now);
  void report(const std::vector<Summary>& summaries) const;

  Config config_;
  Clock clock_;
  Report report_;
  std::mutex mutex_;
  bool started_ = false;
  std::chrono::steady_clock::time_point window_end_{};
  std::unordered_map<std::string, Cause> causes_;
};

}  // namespace nestbox
