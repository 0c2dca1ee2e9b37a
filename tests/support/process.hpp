#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace switchboard::test {

/// How to start a child process and recognise that it is ready.
struct process_options {
  std::string program;                                  ///< path of the executable
  std::vector<std::string> args;                        ///< arguments after argv[0]
  std::vector<std::pair<std::string, std::string>> env; ///< set (or override) these variables
  std::vector<std::string> unset_env;                   ///< remove these inherited variables
  bool inherit_env = true;                              ///< start from this process's environment
  std::string working_dir;                              ///< empty = inherit
  /// The child is ready when it prints a JSON object line whose "event" equals this; empty:
  /// do not wait (a command run to completion with wait()).
  std::string ready_event = "ready";
  std::chrono::milliseconds ready_timeout{15000};
  /// Capture stderr into stderr_output() instead of passing it through to ours.
  bool capture_stderr = false;
  /// Grace period between SIGTERM and SIGKILL when stopping.
  std::chrono::milliseconds stop_grace{5000};
};

/// A child process started with fork/exec: the constructor waits for its "ready" JSON line on
/// stdout (keeping stdout drained afterwards so it never blocks), and the destructor stops it
/// with SIGTERM, then SIGKILL after the grace period. The child also gets SIGKILL if this process
/// dies first. Not copyable; movable.
class child_process {
public:
  /// Starts the child and waits until it is ready; throws std::runtime_error (with the child's
  /// output so far) when it cannot be started, exits early or is not ready in time.
  explicit child_process(process_options opts);
  ~child_process();
  child_process(child_process&&) noexcept;
  child_process& operator=(child_process&&) noexcept;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// The child's pid.
  pid_t pid() const;
  /// The parsed ready line.
  const nlohmann::json& ready() const;
  /// Whether the child has not exited yet.
  bool running();
  /// Sends a signal to the child.
  void signal(int sig);
  /// SIGTERM, wait up to `grace`, then SIGKILL; returns the exit code, or 128 + signal number
  /// when it was killed by a signal. Idempotent: later calls return the same status.
  int stop(std::optional<std::chrono::milliseconds> grace = std::nullopt);
  /// Waits for the child to exit by itself (up to `timeout`); the exit status as for stop().
  std::optional<int> wait(std::chrono::milliseconds timeout);
  /// Everything the child wrote on stdout so far (the ready line included).
  std::string stdout_output() const;
  /// Everything it wrote on stderr so far, when capture_stderr was set.
  std::string stderr_output() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

/// Absolute path of a built executable, relative to the build directory (e.g.
/// "sim/switchboard-sim").
std::string binary_path(const std::string& relative);

/// Open descriptors of a process, from /proc/PID/fd (-1 when it is gone).
int open_fd_count(pid_t pid);

/// Resident memory (VmRSS) of a process in KiB, from /proc/PID/status (0 when it is gone).
long resident_kb(pid_t pid);

} // namespace switchboard::test
