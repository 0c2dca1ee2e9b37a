#include "bench/peer.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <soci/soci.h>

#include "storage/db.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/stack.hpp"

namespace switchboard::bench {

namespace {

bool is_dir(const std::string& path) {
  return ::access((path + "/.").c_str(), F_OK) == 0;
}

/// Whether `name` is an executable in one of the $PATH folders.
bool on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs{path != nullptr ? path : ""};
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0)
      return true;
  return false;
}

std::string read_text(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

std::string node_peer::locate() {
  if (const char* v = std::getenv("SB_BENCH_PEER_DIR"); v != nullptr && *v != '\0')
    return v;
  return std::string{SB_SOURCE_DIR} + "/../shared/peers/node-sms-webhook";
}

std::string node_peer::unavailable(const std::string& dir) {
  if (::access((dir + "/server.js").c_str(), R_OK) != 0)
    return "no peer at " + dir + " (SB_BENCH_PEER_DIR)";
  if (!on_path("node"))
    return "node is not installed";
  if (!is_dir(dir + "/node_modules"))
    return "its packages are not installed (npm ci --omit=dev in " + dir
           + "; scripts/bench does it)";
  return {};
}

node_peer::node_peer(const std::string& dir, const std::string& webhook_secret)
    : port_(test::free_port()) {
  auto schema = read_text(dir + "/schema.sql");
  storage::exec_script(*db_.connect(), schema);
  test::process_options po;
  po.program = "node";
  po.args = {"server.js"};
  po.working_dir = dir;
  po.env = {{"NODE_ENV", "production"},
            {"HOST", "127.0.0.1"},
            {"PORT", std::to_string(port_)},
            {"DATABASE_URL", db_.dsn()},
            {"MTN_WEBHOOK_SECRET", webhook_secret},
            {"LOG_LEVEL", "warn"}};
  po.ready_event.clear(); // it prints no ready line: /healthz tells
  po.capture_stderr = true;
  proc_ = std::make_unique<test::child_process>(po);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  while (test::http_get(url("/healthz")).status != 200) {
    if (!proc_->running() || std::chrono::steady_clock::now() >= deadline) {
      proc_->stop();
      throw std::runtime_error("the node peer did not come up on port " + std::to_string(port_)
                               + ": " + proc_->stderr_output().substr(0, 2000));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
}

node_peer::~node_peer() {
  if (proc_)
    proc_->stop();
}

std::string node_peer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

} // namespace switchboard::bench
