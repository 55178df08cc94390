// SPDX-License-Identifier: Apache-2.0
// The container's own network namespace starts with only a loopback interface,
// and the kernel creates it down.
#pragma once

namespace nestbox::launcher {

// Sets IFF_UP on "lo" (ioctl SIOCSIFFLAGS). Throws Error.
void bring_up_loopback();

}  // namespace nestbox::launcher
