// SPDX-License-Identifier: Apache-2.0
#include "nestbox/log_limit.hpp"

#include <algorithm>
#include <vector>

namespace nestbox {

LogLimiter::LogLimiter(Config config, Clock clock, Report report)
    : config_(config), clock_(std::move(clock)), report_(std::move(report)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
  if (!report_) {
    report_ = [lines = config_.lines_per_window, window = config_.window](
                  std::string_view cause, std::uint64_t n, spdlog::level::level_enum level) {
      spdlog::log(level, "suppressed {} messages of {} (at most {} a window of {} s)", n, cause, lines,
                  window.count());
    };
  }
}

std::vector<LogLimiter::Summary> LogLimiter::end_window(std::chrono::steady_clock::time_point now) {
  std::vector<Summary> out;
  for (auto& [name, c] : causes_)
    if (c.suppressed > 0) out.push_back({name, c.suppressed, c.level});
  causes_.clear();
  window_end_ = now + config_.window;
  // A stable order, so the summaries of one window read the same every time.
  std::sort(out.begin(), out.end(), [](const Summary& a, const Summary& b) { return a.cause < b.cause; });
  return out;
}

void LogLimiter::report(const std::vector<Summary>& summaries) const {
  for (const auto& s : summaries) report_(s.cause, s.suppressed, s.level);
}

bool LogLimiter::allow(std::string_view cause, spdlog::level::level_enum level) {
  std::vector<Summary> ended;
  bool allowed = false;
  {
    std::lock_guard lock(mutex_);
    const auto now = clock_();
    if (!started_) {
      started_ = true;
      window_end_ = now + config_.window;
    } else if (now >= window_end_) {
      ended = end_window(now);
    }
    auto it = causes_.find(std::string(cause));
    if (it == causes_.end()) {
      // The table holds max_causes named causes and the shared one.
      const std::string key(causes_.size() < config_.max_causes ? cause : kOtherCauses);
      it = causes_.try_emplace(key).first;
    }
    Cause& c = it->second;
    if (c.written < config_.lines_per_window) {
      ++c.written;
      allowed = true;
    } else {
      ++c.suppressed;
      c.level = std::max(c.level, level);
    }
  }
  // Outside the lock: the report writes to the logger, which may block.
  report(ended);
  return allowed;
}

void LogLimiter::flush() {
  std::vector<Summary> ended;
  {
    std::lock_guard lock(mutex_);
    ended = end_window(clock_());
    started_ = true;
  }
  report(ended);
}

}  // namespace nestbox
