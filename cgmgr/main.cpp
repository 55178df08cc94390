// SPDX-License-Identifier: Apache-2.0
// nestbox-cgmgr: wires the pieces together and runs the bus loop until SIGTERM/SIGINT.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <iostream>
#include <sdbus-c++/sdbus-c++.h>
#include <thread>

#include "empty_watcher.hpp"
#include "host_root.hpp"
#include "manager.hpp"
#include "nestbox/cgroup_tree.hpp"
#include "nestbox/error.hpp"
#include "nestbox/layout.hpp"
#include "nestbox/logging.hpp"
#include "options.hpp"
#include "service.hpp"
#include "thread_pool.hpp"

namespace {

using namespace nestbox;
using namespace nestbox::cgmgr;

std::unique_ptr<sdbus::IConnection> connect(const std::string& bus) {
  if (bus == "system") return sdbus::createSystemBusConnection();
  if (bus == "session") return sdbus::createSessionBusConnection();
  if (bus.find(':') == std::string::npos)
    throw Error(Errc::InvalidValue, "--bus must be system, session or an address such as unix:path=/run/bus");
  return sdbus::createSessionBusConnectionWithAddress(bus);
}

// The state file's directory (e.g. /var/lib/nestbox) is created on first start.
void ensure_parent_dir(const std::string& file) {
  auto slash = file.rfind('/');
  if (slash == std::string::npos || slash == 0) return;
  std::string dir = file.substr(0, slash);
  for (std::size_t pos = 1; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) throw_errno(errno, "mkdir " + part);
  }
}

Policy read_policy(const Options& options) {
  struct stat st {};
  if (!options.policy_given && ::stat(options.policy.c_str(), &st) != 0) {
    spdlog::warn("no policy file {}: only root can use the manager until one is installed", options.policy);
    return Policy{};
  }
  return load_policy(options.policy);
}

int run(const Options& options) {
  init_logging("nestbox-cgmgr", parse_log_level(options.log_level));
  Policy policy = read_policy(options);

  // Signals go to a dedicated thread; every other thread inherits the block.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // The bus name first: a second manager (or one the bus refuses) stops here,
  // before it creates a cgroup or writes the state file. Calls that arrive
  // before the event loop runs wait in the connection's queue.
  auto connection = connect(options.bus);
  connection->requestName(kBusName);

  // A state file that cannot be believed stops the start before the root
  // cgroup is made (restore() reads it again, with the tree, below).
  StateStore(options.state).load();

  HostLayout layout = HostLayout::discover();
  auto tree = open_cgroup_tree(layout);
  HostRoot host = establish_root(*tree, options.root);
  ensure_parent_dir(options.state);

  Manager manager(*tree, Authorizer(host.root, host.reserved), std::move(policy), StateStore(options.state));
  manager.set_unpopulated_grace(std::chrono::seconds(options.unpopulated_grace));
  manager.restore();

  unsigned threads = options.threads ? options.threads : std::max(4u, 2 * std::thread::hardware_concurrency());
  ServiceInfo info{NESTBOX_VERSION, std::string(layout_name(tree->layout())), tree->controllers(), host.root.str()};
  std::unique_ptr<EmptyWatcher> watcher;
  const auto poll = tree->layout() == Layout::Unified ? std::chrono::milliseconds(2000)
                                                      : std::chrono::milliseconds(200);
  auto pool = std::make_unique<ThreadPool>(threads, 1024);
  Service service(*connection, manager, *pool, info, [&watcher] {
    if (watcher) watcher->wake();
  });
  watcher = std::make_unique<EmptyWatcher>(manager, layout.unified(), poll);
  spdlog::info("nestbox-cgmgr {} serving {} on the {} bus: root {}, layout {}, {} workers", NESTBOX_VERSION,
               kBusName, options.bus, host.root.str(), info.layout, threads);

  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    spdlog::info("signal {}: shutting down", sig);
    connection->leaveEventLoop();
  });
  connection->enterEventLoop();
  pthread_kill(signal_thread.native_handle(), SIGTERM);  // harmless if it already returned
  signal_thread.join();
  // Stop event sources and finish in-flight calls before the service goes away.
  watcher.reset();
  pool.reset();
  manager.write_pending_marks(true);  // calls finished after the watcher stopped
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (auto code = parse_options(argc, argv, options)) return *code;
  try {
    return run(options);
  } catch (const Error& e) {
    std::cerr << "nestbox-cgmgr: " << e.what() << "\n";
    return 1;
  } catch (const sdbus::Error& e) {
    std::cerr << "nestbox-cgmgr: D-Bus: " << e.getName() << ": " << e.getMessage() << "\n";
    return 1;
  }
}
