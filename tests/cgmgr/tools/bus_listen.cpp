// SPDX-License-Identifier: Apache-2.0
// A client of the manager's signals, run by the tests as an ordinary user:
// connects to the bus in DBUS_SYSTEM_BUS_ADDRESS, matches every signal of
// org.nestbox.CgroupManager1 (as any eavesdropping client could), optionally
// calls Subscribe, creates READY, then appends "MEMBER PATH" to OUT for each
// signal it receives until the file STOP exists.
//
//   nestbox_bus_listen READY OUT STOP subscribe|match-only
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

FILE* out = nullptr;

int on_signal(sd_bus_message* m, void*, sd_bus_error*) {
  const char* path = nullptr;
  if (sd_bus_message_read(m, "s", &path) < 0) return 0;
  std::fprintf(out, "%s %s\n", sd_bus_message_get_member(m), path);
  std::fflush(out);
  return 0;
}

int fail(const char* what, int r) {
  std::fprintf(stderr, "bus_listen: %s: %s\n", what, std::strerror(-r));
  return 1;
}

}  // namespace

int main(int argc, char* argv[]) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: nestbox_bus_listen READY OUT STOP subscribe|match-only\n");
    return 2;
  }
  out = std::fopen(argv[2], "a");
  if (!out) return fail("open OUT", -errno);
  sd_bus* bus = nullptr;
  struct Close {
    sd_bus*& bus;
    ~Close() {
      sd_bus_flush_close_unref(bus);
      std::fclose(out);
    }
  } close{bus};
  int r = sd_bus_open_system(&bus);
  if (r < 0) return fail("connect", r);
  r = sd_bus_add_match(bus, nullptr, "type='signal',interface='org.nestbox.CgroupManager1'", on_signal, nullptr);
  if (r < 0) return fail("add match", r);
  if (std::string(argv[4]) == "subscribe") {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    r = sd_bus_call_method(bus, "org.nestbox.CgroupManager1", "/org/nestbox/CgroupManager1",
                           "org.nestbox.CgroupManager1", "Subscribe", &error, nullptr, "");
    if (r < 0) {
      std::fprintf(stderr, "bus_listen: Subscribe: %s: %s\n", error.name, error.message);
      sd_bus_error_free(&error);
      return 3;
    }
  }
  FILE* ready = std::fopen(argv[1], "w");
  if (!ready) return fail("create READY", -errno);
  std::fclose(ready);
  for (;;) {
    r = sd_bus_process(bus, nullptr);
    if (r < 0) return fail("process", r);
    if (r > 0) continue;  // drain everything queued before looking at STOP
    if (::access(argv[3], F_OK) == 0) return 0;
    r = sd_bus_wait(bus, 100 * 1000);
    if (r < 0 && r != -EINTR) return fail("wait", r);
  }
}
