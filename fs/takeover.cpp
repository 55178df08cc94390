// SPDX-License-Identifier: Apache-2.0
#include "takeover.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace nestbox::fs {
namespace {

// The parts of the kernel's FUSE ABI (linux/fuse.h) used here; libfuse 3.14
// does not install its copy of that header.
struct InHeader {
  std::uint32_t len;
  std::uint32_t opcode;
  std::uint64_t unique;
  std::uint64_t nodeid;
  std::uint32_t uid, gid, pid;
  std::uint16_t total_extlen, padding;
};
struct OutHeader {
  std::uint32_t len;
  std::int32_t error;
  std::uint64_t unique;
};
static_assert(sizeof(InHeader) == 40 && sizeof(OutHeader) == 16);
constexpr std::uint32_t kOpForget = 2, kOpInit = 26, kOpInterrupt = 36, kOpNotifyReply = 41, kOpBatchForget = 42;
constexpr std::int32_t kNotifyResend = 7;
// The kernel numbers requests in steps of 2 and sets bit 0 on the unique of an
// INTERRUPT, so a reply with bit 0 set answers an interrupt, not a request.
constexpr std::uint64_t kInterruptBit = 1;

// Requests libfuse never answers.
bool expects_reply(std::uint32_t opcode) {
  return opcode != kOpForget && opcode != kOpBatchForget && opcode != kOpInterrupt && opcode != kOpNotifyReply;
}

DeviceIo* g_io = nullptr;

// Interrupts a worker's blocking read of the device during drain(); installed
// without SA_RESTART so the read returns EINTR.
int wake_signal() { return SIGRTMIN + 6; }
void on_wake(int) {}

}  // namespace

// A libfuse worker thread as seen from its device reads. `in_read` is written
// only by its own thread (one cache line each: no sharing on the hot path).
struct alignas(64) DeviceIo::Worker {
  pid_t tid = 0;
  std::atomic<bool> in_read{false};
};

namespace {
// Unregisters the worker when its thread ends.
struct WorkerSlot {
  DeviceIo* owner = nullptr;
  DeviceIo::Worker* worker = nullptr;
  ~WorkerSlot();
};
thread_local WorkerSlot t_slot;
}  // namespace

DeviceIo::DeviceIo(std::string saved_init)
    : init_(std::move(saved_init)), swallow_init_(init_.size() >= sizeof(InHeader)) {
  if (swallow_init_) {
    InHeader h;
    std::memcpy(&h, init_.data(), sizeof h);
    init_unique_ = h.unique;
    present_saved_init_ = true;
  }
  g_io = this;
  struct sigaction sa {};
  sa.sa_handler = on_wake;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  ::sigaction(wake_signal(), &sa, nullptr);
}

DeviceIo::~DeviceIo() {
  std::lock_guard lock(mutex_);
  for (Worker* w : workers_) delete w;
  workers_.clear();
  if (g_io == this) g_io = nullptr;
}

bool DeviceIo::install(fuse_session* se, int fd) {
  static const fuse_custom_io io = {writev_cb, read_cb, nullptr, nullptr};
  return fuse_session_custom_io(se, &io, fd) == 0;
}

bool DeviceIo::wait_initialized(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return initialized_cv_.wait_for(lock, timeout, [&] { return initialized_; });
}

std::string DeviceIo::init_request() const {
  std::lock_guard lock(mutex_);
  return init_;
}

DeviceIo::Worker& DeviceIo::this_worker() {
  if (t_slot.worker) return *t_slot.worker;
  auto* w = new Worker;
  w->tid = static_cast<pid_t>(::syscall(SYS_gettid));
  {
    std::lock_guard lock(mutex_);
    workers_.push_back(w);
  }
  t_slot.owner = this;
  t_slot.worker = w;
  return *w;
}

void DeviceIo::forget_worker(Worker* w) {
  std::lock_guard lock(mutex_);
  std::erase(workers_, w);
  delete w;
}

WorkerSlot::~WorkerSlot() {
  if (owner && worker && g_io == owner) owner->forget_worker(worker);
}

ssize_t DeviceIo::read_cb(int fd, void* buf, std::size_t len, void*) {
  DeviceIo& io = *g_io;
  // 1. A taken-over session's first read is the saved INIT.
  if (io.present_saved_init_.load(std::memory_order_relaxed)) {
    std::lock_guard lock(io.mutex_);
    if (io.present_saved_init_.exchange(false)) {
      if (io.init_.size() > len) {
        errno = EIO;
        return -1;
      }
      std::memcpy(buf, io.init_.data(), io.init_.size());
      io.unanswered_.fetch_add(1);
      return static_cast<ssize_t>(io.init_.size());
    }
  }
  // 2. libfuse answers EIO to any request it processes before INIT; a taken
  //    over connection has requests queued already, so a second worker that
  //    read one while the first is still processing the saved INIT would fail
  //    it. Until libfuse has answered INIT, other workers wait here.
  if (io.swallow_init_ && !io.init_done_.load(std::memory_order_acquire)) {
    std::unique_lock lock(io.mutex_);
    io.initialized_cv_.wait(lock, [&] { return io.initialized_; });
  }
  Worker& w = io.this_worker();
  // Announce the read before looking at draining_ (both sequentially
  // consistent): drain() either sees this worker in its read, or this worker
  // sees drain() has begun.
  w.in_read.store(true);
  if (io.draining_.load()) {
    w.in_read.store(false);
    for (;;) ::pause();  // the process ends after drain()
  }
  ssize_t n = ::read(fd, buf, len);
  const int saved = errno;
  if (n >= static_cast<ssize_t>(sizeof(InHeader))) {
    InHeader h;
    std::memcpy(&h, buf, sizeof h);
    // Counted before in_read is cleared, so drain() never sees a read request
    // that is in neither count.
    if (expects_reply(h.opcode)) io.unanswered_.fetch_add(1);
    if (h.opcode == kOpInit) {
      std::lock_guard lock(io.mutex_);
      io.init_.assign(static_cast<const char*>(buf), static_cast<std::size_t>(n));
      io.init_unique_.store(h.unique, std::memory_order_relaxed);
    }
  }
  w.in_read.store(false);
  errno = saved;
  return n;
}

ssize_t DeviceIo::writev_cb(int fd, struct iovec* iov, int count, void*) {
  DeviceIo& io = *g_io;
  OutHeader h{};
  if (count > 0 && iov[0].iov_len >= sizeof h) std::memcpy(&h, iov[0].iov_base, sizeof h);
  const bool reply = h.unique != 0 && (h.unique & kInterruptBit) == 0;
  bool init_reply = false;
  if (reply && h.unique == io.init_unique_.load(std::memory_order_relaxed)) {
    std::lock_guard lock(io.mutex_);
    init_reply = !io.initialized_;
  }
  ssize_t n;
  if (init_reply && io.swallow_init_) {
    // The kernel negotiated this connection with an earlier server; it has no
    // INIT waiting for this reply.
    n = 0;
    for (int i = 0; i < count; ++i) n += static_cast<ssize_t>(iov[i].iov_len);
  } else {
    n = ::writev(fd, iov, count);
  }
  const int saved = errno;
  if (reply) io.unanswered_.fetch_sub(1);
  if (init_reply) {
    std::lock_guard lock(io.mutex_);
    io.initialized_ = true;
    io.init_done_.store(true, std::memory_order_release);
    io.initialized_cv_.notify_all();
  }
  errno = saved;
  return n;
}

void DeviceIo::drain() {
  // 1. From now on no worker starts a new read of the device.
  draining_.store(true);
  // 2. Workers already blocked in read() would take the next request and be
  //    counted; interrupt them (EINTR) until none is inside a read. Repeated,
  //    because a worker may be between its check of draining_ and the read.
  for (;;) {
    std::vector<pid_t> reading;
    {
      std::lock_guard lock(mutex_);
      for (const Worker* w : workers_)
        if (w->in_read.load()) reading.push_back(w->tid);
    }
    if (reading.empty()) break;
    for (pid_t tid : reading) ::syscall(SYS_tgkill, ::getpid(), tid, wake_signal());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // 3. Every request read is now counted; wait for the replies, which the
  //    workers still processing them write on the same device.
  while (unanswered_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

int notify_resend(int fuse_fd) {
  OutHeader h{sizeof(OutHeader), kNotifyResend, 0};
  if (::write(fuse_fd, &h, sizeof h) == static_cast<ssize_t>(sizeof h)) return 0;
  return errno;
}

bool connection_alive(int fuse_fd) {
  pollfd p{fuse_fd, POLLIN, 0};
  if (::poll(&p, 1, 0) < 0) return true;  // cannot tell: assume alive
  return (p.revents & (POLLERR | POLLNVAL)) == 0;
}

}  // namespace nestbox::fs
