#include "tests/support/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace switchboard::test {

struct child_process::impl {
  process_options opts;
  pid_t pid = -1;
  int out_fd = -1;
  int err_fd = -1;
  int wake_rd = -1;
  int wake_wr = -1;
  std::thread reader;

  mutable std::mutex mtx;
  std::condition_variable cv;
  std::string out;
  std::string err;
  std::size_t scanned = 0; ///< stdout bytes already split into lines
  bool ready = false;
  bool out_eof = false;
  bool reader_done = false;
  nlohmann::json ready_line;
  std::optional<int> status;

  void read_loop();
  void scan_lines(); // with mtx held
  bool reap(bool block);
};

namespace {

int decode_status(int st) {
  if (WIFEXITED(st))
    return WEXITSTATUS(st);
  if (WIFSIGNALED(st))
    return 128 + WTERMSIG(st);
  return -1;
}

void close_fd(int& fd) {
  if (fd >= 0)
    ::close(fd);
  fd = -1;
}

} // namespace

void child_process::impl::scan_lines() {
  for (;;) {
    auto nl = out.find('\n', scanned);
    if (nl == std::string::npos)
      return;
    auto line = out.substr(scanned, nl - scanned);
    scanned = nl + 1;
    if (ready || line.empty() || line.find('{') == std::string::npos)
      continue;
    auto j = nlohmann::json::parse(line.substr(line.find('{')), nullptr, false);
    if (j.is_object() && j.value("event", std::string{}) == opts.ready_event) {
      ready_line = std::move(j);
      ready = true;
      cv.notify_all();
    }
  }
}

void child_process::impl::read_loop() {
  char buf[8192];
  bool err_open = err_fd >= 0;
  bool out_open = true;
  while (out_open || err_open) {
    pollfd fds[3];
    nfds_t n = 0;
    int out_i = -1, err_i = -1;
    if (out_open) {
      out_i = static_cast<int>(n);
      fds[n++] = pollfd{out_fd, POLLIN, 0};
    }
    if (err_open) {
      err_i = static_cast<int>(n);
      fds[n++] = pollfd{err_fd, POLLIN, 0};
    }
    auto wake_i = static_cast<int>(n);
    fds[n++] = pollfd{wake_rd, POLLIN, 0};
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (fds[wake_i].revents != 0)
      break;
    auto drain = [&](int idx, int fd, bool& open, std::string& sink, bool is_out) {
      if (idx < 0 || fds[idx].revents == 0)
        return;
      auto r = ::read(fd, buf, sizeof(buf));
      if (r < 0 && errno == EINTR)
        return;
      std::lock_guard<std::mutex> guard{mtx};
      if (r <= 0) {
        open = false;
        if (is_out) {
          out_eof = true;
          cv.notify_all();
        }
        return;
      }
      sink.append(buf, static_cast<std::size_t>(r));
      if (is_out)
        scan_lines();
    };
    drain(out_i, out_fd, out_open, out, true);
    drain(err_i, err_fd, err_open, err, false);
  }
  std::lock_guard<std::mutex> guard{mtx};
  out_eof = true;
  reader_done = true;
  cv.notify_all();
}

bool child_process::impl::reap(bool block) {
  if (status)
    return true;
  if (pid <= 0)
    return true;
  int st = 0;
  auto r = ::waitpid(pid, &st, block ? 0 : WNOHANG);
  if (r == pid) {
    status = decode_status(st);
    return true;
  }
  if (r < 0 && errno == ECHILD) {
    status = -1;
    return true;
  }
  return false;
}

child_process::child_process(process_options opts) : impl_(std::make_unique<impl>()) {
  auto& s = *impl_;
  s.opts = std::move(opts);

  std::vector<std::string> argv_store{s.opts.program};
  argv_store.insert(argv_store.end(), s.opts.args.begin(), s.opts.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_store;
  auto overridden = [&](std::string_view entry) {
    auto name = entry.substr(0, entry.find('='));
    for (auto& u : s.opts.unset_env)
      if (name == u)
        return true;
    for (auto& [k, v] : s.opts.env)
      if (name == k)
        return true;
    return false;
  };
  if (s.opts.inherit_env)
    for (char** e = environ; e && *e; ++e)
      if (!overridden(*e))
        env_store.emplace_back(*e);
  for (auto& [k, v] : s.opts.env)
    env_store.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_store)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  int out_pipe[2], err_pipe[2] = {-1, -1}, exec_pipe[2], wake_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(exec_pipe, O_CLOEXEC) != 0
      || ::pipe2(wake_pipe, O_CLOEXEC) != 0
      || (s.opts.capture_stderr && ::pipe2(err_pipe, O_CLOEXEC) != 0))
    throw std::runtime_error(std::string{"pipe: "} + std::strerror(errno));
  auto parent = ::getpid();
  auto pid = ::fork();
  if (pid < 0)
    throw std::runtime_error(std::string{"fork: "} + std::strerror(errno));
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    if (err_pipe[1] >= 0)
      ::dup2(err_pipe[1], STDERR_FILENO);
    if (!s.opts.working_dir.empty() && ::chdir(s.opts.working_dir.c_str()) != 0) {
      int e = errno;
      (void)!::write(exec_pipe[1], &e, sizeof(e));
      ::_exit(127);
    }
    ::execvpe(argv[0], argv.data(), envp.data());
    int e = errno;
    (void)!::write(exec_pipe[1], &e, sizeof(e));
    ::_exit(127);
  }
  s.pid = pid;
  ::close(out_pipe[1]);
  ::close(exec_pipe[1]);
  if (err_pipe[1] >= 0)
    ::close(err_pipe[1]);
  s.out_fd = out_pipe[0];
  s.err_fd = err_pipe[0];
  s.wake_rd = wake_pipe[0];
  s.wake_wr = wake_pipe[1];

  int exec_errno = 0;
  ssize_t got;
  do {
    got = ::read(exec_pipe[0], &exec_errno, sizeof(exec_errno));
  } while (got < 0 && errno == EINTR);
  ::close(exec_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof(exec_errno))) {
    s.reap(true);
    close_fd(s.out_fd);
    close_fd(s.err_fd);
    close_fd(s.wake_rd);
    close_fd(s.wake_wr);
    throw std::runtime_error("cannot start " + s.opts.program + ": " + std::strerror(exec_errno));
  }

  s.reader = std::thread{[&s] { s.read_loop(); }};

  if (s.opts.ready_event.empty())
    return; // a command run to completion: see wait()
  std::unique_lock<std::mutex> lock{s.mtx};
  auto deadline = std::chrono::steady_clock::now() + s.opts.ready_timeout;
  while (!s.ready && !s.out_eof && std::chrono::steady_clock::now() < deadline)
    s.cv.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now()
                                                 + std::chrono::milliseconds{100}));
  if (!s.ready) {
    auto why
        = s.out_eof ? "exited (or closed stdout) before it was ready" : "was not ready in time";
    lock.unlock();
    stop(std::chrono::milliseconds{1000});
    auto out = stdout_output();
    auto err = stderr_output();
    throw std::runtime_error(s.opts.program + " " + why + " (status "
                             + std::to_string(s.status.value_or(-1)) + ")\nstdout: " + out
                             + "\nstderr: " + err);
  }
}

child_process::~child_process() {
  if (impl_)
    stop();
}

child_process::child_process(child_process&&) noexcept = default;

child_process& child_process::operator=(child_process&& other) noexcept {
  if (this != &other) {
    if (impl_)
      stop();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

pid_t child_process::pid() const {
  return impl_->pid;
}

const nlohmann::json& child_process::ready() const {
  return impl_->ready_line;
}

bool child_process::running() {
  return !impl_->reap(false);
}

void child_process::signal(int sig) {
  if (!impl_->status && impl_->pid > 0)
    ::kill(impl_->pid, sig);
}

std::optional<int> child_process::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!impl_->reap(false)) {
    if (std::chrono::steady_clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  // The child has exited: let the reader drain what it wrote before its exit, so that
  // stdout_output()/stderr_output() are complete (a grandchild may hold the pipes: bounded).
  std::unique_lock<std::mutex> lock{impl_->mtx};
  impl_->cv.wait_for(lock, std::chrono::milliseconds{500}, [&] { return impl_->reader_done; });
  return impl_->status;
}

int child_process::stop(std::optional<std::chrono::milliseconds> grace) {
  auto& s = *impl_;
  if (!s.reap(false)) {
    ::kill(s.pid, SIGTERM);
    if (!wait(grace.value_or(s.opts.stop_grace))) {
      ::kill(s.pid, SIGKILL);
      s.reap(true);
    }
  }
  if (s.reader.joinable()) {
    // The child is gone; give the reader a moment to drain both pipes, then wake it in case a
    // grandchild still holds them open.
    {
      std::unique_lock<std::mutex> lock{s.mtx};
      s.cv.wait_for(lock, std::chrono::milliseconds{500}, [&] { return s.reader_done; });
    }
    char c = 'x';
    (void)!::write(s.wake_wr, &c, 1);
    s.reader.join();
  }
  close_fd(s.out_fd);
  close_fd(s.err_fd);
  close_fd(s.wake_rd);
  close_fd(s.wake_wr);
  return s.status.value_or(-1);
}

std::string child_process::stdout_output() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->out;
}

std::string child_process::stderr_output() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->err;
}

std::string binary_path(const std::string& relative) {
  return std::string{SB_BINARY_DIR} + "/" + relative;
}

int open_fd_count(pid_t pid) {
  auto dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr)
    return -1;
  int n = 0;
  while (auto* e = readdir(d))
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

long resident_kb(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return 0;
}

} // namespace switchboard::test
