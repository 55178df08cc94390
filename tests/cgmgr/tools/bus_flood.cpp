// SPDX-License-Identifier: Apache-2.0
// Load for the fairness tests and benchmark, run as an ordinary user: calls
// ListChildren(PATH) on the manager in the bus of DBUS_SYSTEM_BUS_ADDRESS.
//
//   nestbox_bus_flood flood PATH STOP   rounds of pipelined calls on 8 connections
//                                       (128 each, the bus's limit of pending calls
//                                       per connection; all sent, then all answered)
//                                       until the file STOP exists
//   nestbox_bus_flood calls PATH N      N calls one after another
//
// Prints "ok=A busy=B other=C p50_us=D max_us=E" (latencies of answered calls;
// in flood mode of the round trips of whole rounds) and, for the first other
// error, "first_error=NAME: MESSAGE".
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr const char* kDest = "org.nestbox.CgroupManager1";
constexpr const char* kPath = "/org/nestbox/CgroupManager1";
constexpr const char* kIface = "org.nestbox.CgroupManager1";
constexpr int kConnections = 8;
constexpr int kPerConnection = 128;

struct Counts {
  long ok = 0, busy = 0, other = 0;
  std::string first_error;
  std::vector<long> latencies_us;
};

void count(Counts& c, const sd_bus_error* e) {
  if (!sd_bus_error_is_set(e)) {
    ++c.ok;
  } else if (std::strcmp(e->name, "org.nestbox.Error.Busy") == 0) {
    ++c.busy;
  } else {
    ++c.other;
    if (c.first_error.empty()) c.first_error = std::string(e->name) + ": " + (e->message ? e->message : "");
  }
}

int on_reply(sd_bus_message* m, void* userdata, sd_bus_error*) {
  count(*static_cast<Counts*>(userdata), sd_bus_message_get_error(m));
  return 0;
}

long now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int fail(const char* what, int r) {
  std::fprintf(stderr, "bus_flood: %s: %s\n", what, std::strerror(-r));
  return 1;
}

}  // namespace

int main(int argc, char* argv[]) {
  if (argc != 4 || (std::strcmp(argv[1], "flood") != 0 && std::strcmp(argv[1], "calls") != 0)) {
    std::fprintf(stderr, "usage: nestbox_bus_flood flood PATH STOP | calls PATH N\n");
    return 2;
  }
  const bool flood = std::strcmp(argv[1], "flood") == 0;
  const char* path = argv[2];
  Counts c;
  int r = 0;
  if (flood) {
    std::vector<sd_bus*> buses(kConnections, nullptr);
    for (auto& b : buses)
      if ((r = sd_bus_open_system(&b)) < 0) return fail("connect", r);
    while (::access(argv[3], F_OK) != 0) {
      const long start = now_us();
      for (sd_bus* b : buses)
        for (int i = 0; i < kPerConnection; ++i)
          if ((r = sd_bus_call_method_async(b, nullptr, kDest, kPath, kIface, "ListChildren", on_reply, &c, "s",
                                            path)) < 0)
            return fail("send", r);
      const long target = c.ok + c.busy + c.other + static_cast<long>(buses.size()) * kPerConnection;
      while (c.ok + c.busy + c.other < target) {
        bool progress = false;
        for (sd_bus* b : buses) {
          if ((r = sd_bus_process(b, nullptr)) < 0) return fail("process", r);
          progress = progress || r > 0;
        }
        if (!progress) ::usleep(200);  // replies still on their way
      }
      c.latencies_us.push_back(now_us() - start);
    }
    for (sd_bus* b : buses) sd_bus_flush_close_unref(b);
  } else {
    sd_bus* bus = nullptr;
    if ((r = sd_bus_open_system(&bus)) < 0) return fail("connect", r);
    const long n = std::stol(argv[3]);
    for (long i = 0; i < n; ++i) {
      sd_bus_error error = SD_BUS_ERROR_NULL;
      sd_bus_message* reply = nullptr;
      const long start = now_us();
      sd_bus_call_method(bus, kDest, kPath, kIface, "ListChildren", &error, &reply, "s", path);
      c.latencies_us.push_back(now_us() - start);
      count(c, &error);
      sd_bus_error_free(&error);
      sd_bus_message_unref(reply);
    }
    sd_bus_flush_close_unref(bus);
  }
  std::sort(c.latencies_us.begin(), c.latencies_us.end());
  const long p50 = c.latencies_us.empty() ? 0 : c.latencies_us[c.latencies_us.size() / 2];
  const long max = c.latencies_us.empty() ? 0 : c.latencies_us.back();
  std::printf("ok=%ld busy=%ld other=%ld p50_us=%ld max_us=%ld\n", c.ok, c.busy, c.other, p50, max);
  if (!c.first_error.empty()) std::printf("first_error=%s\n", c.first_error.c_str());
  return 0;
}
