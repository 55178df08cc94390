// SPDX-License-Identifier: Apache-2.0
#include "reader_log.hpp"

namespace nestbox::fs {

LogLimiter& reader_log() {
  static LogLimiter limiter;
  return limiter;
}

}  // namespace nestbox::fs
