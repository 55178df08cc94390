// SPDX-License-Identifier: Apache-2.0
// Serving a FUSE connection that another process mounted or served before.
//
// The kernel keeps a FUSE connection alive while any process holds its /dev/fuse
// fd, but sends FUSE_INIT only once per connection, and libfuse answers every
// request with EIO until it has processed an INIT. DeviceIo replaces libfuse's
// device reads and writes (fuse_session_custom_io) so that:
//  - the first server of a mount captures the kernel's INIT request, which the
//    supervisor keeps and hands to every later server;
//  - a later server presents that saved INIT as its first request, so its fresh
//    libfuse session negotiates exactly what the kernel already agreed to, and
//    libfuse's reply (which the kernel would reject) is dropped, and no other
//    worker reads a queued request before that INIT is processed;
//  - a server being replaced stops taking requests and answers everything it
//    has read before it exits (drain()), so nothing is left in the kernel's
//    processing queue.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace nestbox::fs {

class DeviceIo {
 public:
  // `saved_init` empty: the kernel's own INIT is still to come and is captured.
  explicit DeviceIo(std::string saved_init);
  ~DeviceIo();
  DeviceIo(const DeviceIo&) = delete;
  DeviceIo& operator=(const DeviceIo&) = delete;

  // Makes `se` use this object for its device I/O on `fd` (the session owns
  // `fd` from then on). One DeviceIo per process: libfuse hands the callbacks
  // the session's userdata (the Filesystem), not ours.
  bool install(fuse_session* se, int fd);

  // Waits until libfuse has answered INIT (the kernel's or the saved one);
  // false on timeout. The INIT request bytes are then init_request().
  bool wait_initialized(std::chrono::milliseconds timeout);
  std::string init_request() const;

  // Stops reading the device and returns once every request read so far has
  // been answered. Workers that come back for more block until the process
  // exits, so the caller must end the process (_exit) afterwards.
  void drain();

 // For the thread-exit hook in takeover.cpp.
  struct Worker;
  void forget_worker(Worker* w);

 private:
  static ssize_t read_cb(int fd, void* buf, std::size_t len, void* userdata);
  static ssize_t writev_cb(int fd, struct iovec* iov, int count, void* userdata);
  Worker& this_worker();

  mutable std::mutex mutex_;
  std::condition_variable initialized_cv_;
  std::string init_;              // the INIT request (header + body)
  const bool swallow_init_;  // init_ came from an earlier server
  std::atomic<bool> present_saved_init_{false};  // the next read returns init_
  bool initialized_ = false;  // libfuse has answered init_ (under mutex_)
  std::atomic<bool> init_done_{false};  // initialized_, readable without the lock
  std::atomic<std::uint64_t> init_unique_{0};

  std::atomic<bool> draining_{false};
  // Requests read that expect a reply and have not had one yet.
  std::atomic<std::int64_t> unanswered_{0};
  std::vector<Worker*> workers_;  // under mutex_
};

// Asks the kernel to queue again every request a server has read but not
// answered (FUSE_NOTIFY_RESEND, kernel 6.9+). Returns 0 or the errno: EINVAL
// from kernels that do not know the notification, ENODEV once the connection
// is gone.
int notify_resend(int fuse_fd);

// Whether the connection behind a /dev/fuse fd is still alive (not unmounted,
// not aborted).
bool connection_alive(int fuse_fd);

}  // namespace nestbox::fs
