// SPDX-License-Identifier: Apache-2.0
// cgmgr_bench: how close one cgroup lifecycle through nestbox-cgmgr comes to the
// floor. One cycle = Create(with pids.max) + SetLimits + Attach + Attach back + Remove.
// Printed side by side, measured in the same run:
//   bus floor : org.freedesktop.DBus.Peer.Ping round trips to the daemon (x5 per cycle)
//   fs floor  : the same five cgroupfs operations done directly via libnestbox
// with 1 and 8 concurrent clients. Then fairness: 200 calls of an ordinary user
// (nobody) on a quiet manager and while the test user floods it from 8
// connections (nestbox_bus_flood): failures and latency, same run.
// Needs root; prints why and exits 0 otherwise.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <sdbus-c++/sdbus-c++.h>
#include <thread>
#include <vector>

#include "testkit.hpp"

namespace tk = nestbox::testkit;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kIface = "org.nestbox.CgroupManager1";
constexpr int kCyclesPerClient = 60;

// Runs body(client) on `clients` threads; returns cycles per second overall.
double measure(int clients, int cycles, const std::function<void(int, int)>& body) {
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      for (int i = 0; i < cycles; ++i) body(c, i);
    });
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return clients * cycles / secs;
}

}  // namespace

int main() {
  for (auto reason : {tk::missing_root(), tk::missing_cgroup_write(), tk::missing_dbus_daemon()})
    if (reason) {
      std::printf("cgmgr_bench: skipped: %s\n", reason->c_str());
      return 0;
    }
  tk::CgroupSandbox sandbox;
  tk::PrivateBus bus;
  tk::TempDir dir("nestbox-cgmgr-bench");
  const std::string root = sandbox.root().child("mgr").str();
  tk::Child daemon = tk::Child::spawn({tk::built_program("nestbox-cgmgr"), "--bus", bus.address(), "--root", root,
                                       "--policy", dir.write("p.toml", ""), "--state", dir.path() + "/state.json",
                                       "--log-level", "warn"});
  constexpr int kMaxClients = 8;
  std::vector<std::unique_ptr<sdbus::IConnection>> conns;
  std::vector<std::unique_ptr<sdbus::IProxy>> proxies;
  for (int c = 0; c < kMaxClients; ++c) {
    conns.push_back(sdbus::createSessionBusConnectionWithAddress(bus.address()));
    proxies.push_back(sdbus::createProxy(*conns.back(), kIface, "/org/nestbox/CgroupManager1"));
  }
  for (int tries = 0;; ++tries) {
    try {
      proxies[0]->callMethod("Ping").onInterface("org.freedesktop.DBus.Peer");
      proxies[0]->getProperty("Version").onInterface(kIface).get<std::string>();
      break;
    } catch (const sdbus::Error&) {
      if (tries > 600 || !daemon.running()) {
        std::printf("cgmgr_bench: daemon did not start\n");
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  auto& tree = sandbox.tree();
  const nestbox::CgroupPath base = sandbox.make("base");
  std::vector<tk::Child> sleepers;
  for (int c = 0; c < kMaxClients; ++c) {
    tk::RunOptions o;
    o.cgroup = base;
    sleepers.push_back(tk::Child::spawn({"sleep", "100000"}, o));
  }
  using Limits = std::map<std::string, std::string>;

  auto via_dbus = [&](int c, int i) {
    auto& p = *proxies[static_cast<std::size_t>(c)];
    const std::string path = root + "/b" + std::to_string(c) + "-" + std::to_string(i);
    const auto pid = static_cast<uint32_t>(sleepers[static_cast<std::size_t>(c)].pid());
    std::string created;
    p.callMethod("Create").onInterface(kIface).withArguments(path, Limits{{"pids.max", "100"}}).storeResultsTo(created);
    p.callMethod("SetLimits").onInterface(kIface).withArguments(path, Limits{{"pids.max", "50"}});
    p.callMethod("Attach").onInterface(kIface).withArguments(path, pid);
    p.callMethod("Attach").onInterface(kIface).withArguments(root + "/park", pid);
    p.callMethod("Remove").onInterface(kIface).withArguments(path, false);
  };
  auto ping5 = [&](int c, int) {
    for (int k = 0; k < 5; ++k) proxies[static_cast<std::size_t>(c)]->callMethod("Ping").onInterface("org.freedesktop.DBus.Peer");
  };
  const nestbox::CgroupPath raw_base = sandbox.make("raw");
  auto raw_fs = [&](int c, int i) {
    auto path = raw_base.child("r" + std::to_string(c) + "-" + std::to_string(i));
    pid_t pid = sleepers[static_cast<std::size_t>(c)].pid();
    tree.create(path);
    tree.set_limit(path, "pids.max", "100");
    tree.set_limit(path, "pids.max", "50");
    tree.attach(path, pid);
    tree.attach(base, pid);
    tree.remove(path);
  };

  std::string park;
  proxies[0]->callMethod("Create").onInterface(kIface).withArguments(root + "/park", Limits{}).storeResultsTo(park);
  std::printf("%-8s %12s %12s %12s %12s %12s\n", "clients", "dbus cyc/s", "ping5 cyc/s", "raw fs cyc/s",
              "floor cyc/s", "floor/dbus");
  for (int clients : {1, 8}) {
    double d = measure(clients, kCyclesPerClient, via_dbus);
    double p = measure(clients, kCyclesPerClient, ping5);
    double f = measure(clients, kCyclesPerClient, raw_fs);
    // The floor does both halves back to back: the bus round trips and the fs work.
    double floor = 1.0 / (1.0 / p + 1.0 / f);
    std::printf("%-8d %12.1f %12.1f %12.1f %12.1f %11.2fx\n", clients, d, p, f, floor, floor / d);
  }
  std::printf("floor = 1/(1/ping5 + 1/raw fs); goal: floor/dbus <= 2.00x\n");
  for (auto& s : sleepers) s.kill(SIGKILL);

  // Fairness: the same 200 ListChildren calls by nobody, quiet and under a flood.
  tk::TempDir files("nestbox-cgmgr-flood", 0777);
  ::chmod(files.path().c_str(), 0777);
  const std::string stop = files.path() + "/stop";
  tk::RunOptions with_bus;
  with_bus.env = bus.client_env();
  with_bus.timeout = std::chrono::seconds(600);
  tk::RunOptions nobody = with_bus;
  nobody.uid = 65534;
  nobody.gid = 65534;
  auto calls = [&] {
    auto r = tk::run({NESTBOX_BUS_FLOOD, "calls", root, "200"}, nobody);
    return r.exit_code == 0 ? r.out : "failed: " + r.err;
  };
  const std::string quiet = calls();
  tk::CommandResult flood;
  std::thread flooder([&] { flood = tk::test_user().run({NESTBOX_BUS_FLOOD, "flood", root, stop}, with_bus); });
  std::this_thread::sleep_for(std::chrono::seconds(1));  // let the flood fill its share
  const std::string loaded = calls();
  if (std::FILE* f = std::fopen(stop.c_str(), "w")) std::fclose(f);
  flooder.join();
  std::printf("fairness (another user's 200 calls; latencies in us):\n");
  std::printf("  quiet manager:           %s", quiet.c_str());
  std::printf("  while uid %u floods:   %s", tk::test_user().uid, loaded.c_str());
  std::printf("  the flood itself:        %s", flood.out.c_str());
  return 0;
}
