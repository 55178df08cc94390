// SPDX-License-Identifier: Apache-2.0
// Checks that a call fails with a nestbox::Error of one kind (and shows the
// message when it is another kind).
#pragma once

#include <gtest/gtest.h>

#include "nestbox/error.hpp"

namespace nestbox::testkit {

template <typename Fn>
void expect_error(Errc code, Fn&& fn) {
  try {
    fn();
    ADD_FAILURE() << "no error, expected " << errc_name(code);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
  }
}

}  // namespace nestbox::testkit
