// SPDX-License-Identifier: Apache-2.0
// A minimal D-Bus service used only to test the PrivateBus fixture's policy:
// owns the name given as argv[1] on the bus in DBUS_SYSTEM_BUS_ADDRESS, prints
// "ready" once it does, and answers every method call with an empty reply, so
// whatever a caller cannot reach was stopped by the bus policy, not by us.
#include <systemd/sd-bus.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace {

int reply_empty(sd_bus_message* m, void*, sd_bus_error*) {
  uint8_t type = 0;
  if (sd_bus_message_get_type(m, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL) return 0;
  sd_bus_reply_method_return(m, nullptr);
  return 1;
}

int fail(const char* what, int r) {
  std::fprintf(stderr, "bus_echo: %s: %s\n", what, std::strerror(-r));
  return 1;
}

}  // namespace

int main(int argc, char* argv[]) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bus_echo NAME\n");
    return 2;
  }
  sd_bus* bus = nullptr;
  int r = sd_bus_open_system(&bus);
  if (r < 0) return fail("connect", r);
  r = sd_bus_add_filter(bus, nullptr, reply_empty, nullptr);
  if (r < 0) return fail("add filter", r);
  r = sd_bus_request_name(bus, argv[1], 0);
  if (r < 0) return fail("request name", r);
  std::printf("ready\n");
  std::fflush(stdout);
  for (;;) {
    r = sd_bus_process(bus, nullptr);
    if (r < 0) return fail("process", r);
    if (r > 0) continue;
    r = sd_bus_wait(bus, UINT64_MAX);
    if (r < 0 && r != -EINTR) return fail("wait", r);
  }
}
