// SPDX-License-Identifier: Apache-2.0
// A login through pam_nestbox: the manager on the private bus, and a PAM
// session stack (a private config directory) with the module in it, as a
// Debian host has it after `pam-auth-update --enable nestbox`.
#pragma once

#include <string>

#include "cgmgr_fixture.hpp"

namespace nestbox::cgmgr_test {

#ifdef NESTBOX_PAM_MODULE
class PamLoginTest : public CgmgrTest {
 protected:
  void SetUp() override {
    CgmgrTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // An earlier module that decides the session may open, then ours, optional.
    confdir_ = dir_->path() + "/pam.d";
    dir_->write("pam.d/nestbox-test", "session required pam_permit.so\n"
                                      "session optional " NESTBOX_PAM_MODULE " debug bus=" + bus_->address() + "\n");
  }
  // The login: open, `command` (sh -c, as root, like the shell a login
  // program starts before it drops privileges) in the session, close.
  tk::CommandResult login(const std::string& user, const std::string& command = "true",
                          std::chrono::seconds timeout = std::chrono::seconds(120)) const {
    tk::RunOptions opts;
    opts.timeout = timeout;
    return tk::run({NESTBOX_PAM_PROBE, confdir_, "nestbox-test", user, command}, opts);
  }
  std::string confdir_;
};
#endif

}  // namespace nestbox::cgmgr_test
