#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/pg.hpp"
#include "tests/support/process.hpp"

namespace switchboard::bench {

/// The Node inbound-SMS peer (`shared/peers/node-sms-webhook`: fastify + pg, one transaction per
/// request), run from its own folder as a child process against its own scratch database of the
/// test cluster (its tables are named like ours).
class node_peer {
public:
  /// Its folder: SB_BENCH_PEER_DIR, or `<repo>/../shared/peers/node-sms-webhook`.
  static std::string locate();
  /// Why the peer in `dir` cannot run here (folder, node or its node_modules missing), or empty.
  static std::string unavailable(const std::string& dir);

  /// Creates its database, applies its schema.sql, starts `node server.js` (NODE_ENV=production,
  /// a free port, `webhook_secret`) and waits for GET /healthz; throws std::runtime_error, with
  /// what it printed, when it does not come up.
  node_peer(const std::string& dir, const std::string& webhook_secret);
  ~node_peer();
  node_peer(const node_peer&) = delete;
  node_peer& operator=(const node_peer&) = delete;

  /// URL of a path on the peer.
  std::string url(const std::string& path) const;
  /// The peer's port.
  uint16_t port() const { return port_; }
  /// Its process id (the node process itself: no npm wrapper).
  pid_t pid() const { return proc_->pid(); }
  /// Its database.
  const test::scratch_db& db() const { return db_; }
  /// Stops it by PID (SIGTERM, then SIGKILL); its exit status.
  int stop() { return proc_->stop(); }
  /// What it wrote on stderr.
  std::string log() const { return proc_->stderr_output(); }

private:
  test::scratch_db db_;
  uint16_t port_ = 0;
  std::unique_ptr<test::child_process> proc_;
};

} // namespace switchboard::bench
