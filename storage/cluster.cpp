#include "storage/cluster.hpp"

#include <poll.h>

#include <cerrno>

#include <set>
#include <stdexcept>

#include <libpq-fe.h>

#include "storage/db.hpp"
#include "storage/pg.hpp"

namespace switchboard::storage {

namespace {

constexpr pg_statement ensure_sql{
    "sb_lease_ensure", "INSERT INTO shard_leases (shard) SELECT generate_series(0, $1::int - 1) "
                       "ON CONFLICT DO NOTHING"};

// Heartbeat, renewal and the live members in one statement. The CTEs' writes are not visible to
// the count in the same statement, so the count leaves this node out and adds it.
constexpr pg_statement renew_sql{
    "sb_lease_renew",
    "WITH beat AS (INSERT INTO cluster_members (node_id, address) VALUES ($1, $2) "
    "  ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now(), address = EXCLUDED.address), "
    "renewed AS (UPDATE shard_leases SET expires_at = now() + make_interval(secs => $3::bigint / "
    "  1000.0) WHERE owner = $1 RETURNING shard, epoch) "
    "SELECT (SELECT count(*) FROM cluster_members WHERE node_id <> $1 AND heartbeat_at > now() - "
    "  make_interval(secs => $3::bigint / 1000.0)) + 1, "
    "  (SELECT coalesce(array_agg(shard ORDER BY shard), '{}') FROM renewed), "
    "  (SELECT coalesce(array_agg(epoch ORDER BY shard), '{}') FROM renewed)"};

// The candidates are locked SKIP LOCKED (a racing node's take passes them by) and the outer
// condition is checked again on the row as locked: a take that committed first wins.
constexpr pg_statement take_sql{
    "sb_lease_take",
    "UPDATE shard_leases l SET owner = $1, epoch = l.epoch + 1, expires_at = now() + "
    "  make_interval(secs => $4::bigint / 1000.0) "
    "FROM (SELECT shard, owner AS old_owner, expires_at AS old_expires FROM shard_leases "
    "  WHERE (owner IS NULL OR expires_at <= now()) AND shard < $2 "
    "  AND ($5::int < 0 OR shard = $5::int) ORDER BY shard LIMIT $3 FOR UPDATE SKIP LOCKED) c "
    "WHERE l.shard = c.shard AND (l.owner IS NULL OR l.expires_at <= now()) "
    "RETURNING l.shard, l.epoch, CASE WHEN c.old_owner IS NULL THEN -1 ELSE "
    "  (extract(epoch FROM now() - c.old_expires) * 1000)::bigint + $4::bigint END"};

constexpr pg_statement release_sql{"sb_lease_release",
                                   "UPDATE shard_leases SET owner = NULL, expires_at = '-infinity' "
                                   "WHERE owner = $1 AND shard = ANY($2::int[])"};

constexpr pg_statement leave_sql{
    "sb_lease_leave",
    "WITH gone AS (DELETE FROM cluster_members WHERE node_id = $1) "
    "UPDATE shard_leases SET owner = NULL, expires_at = '-infinity' WHERE owner = $1"};

constexpr pg_statement stale_sql{
    "sb_lease_stale", "WITH locked AS MATERIALIZED (SELECT shard, owner, epoch FROM shard_leases "
                      "  WHERE shard = ANY($2::int[]) FOR SHARE) "
                      "SELECT f.shard FROM unnest($2::int[], $3::bigint[]) AS f(shard, epoch) "
                      "LEFT JOIN locked l ON l.shard = f.shard "
                      "WHERE l.owner IS DISTINCT FROM $1 OR l.epoch IS DISTINCT FROM f.epoch"};

std::vector<int64_t> parse_int_array(std::string_view text) {
  std::vector<int64_t> out;
  for (auto& item : parse_pg_text_array(text))
    out.push_back(std::stoll(item));
  return out;
}

class pg_lease_store final : public lease_store {
public:
  explicit pg_lease_store(soci::session& sql) : sql_(sql) {}

  void ensure_shards(int shards) override { pg_exec(sql_, ensure_sql, {std::to_string(shards)}); }

  lease_renewal renew(const cluster_member& me, std::chrono::milliseconds ttl) override {
    auto rows = pg_exec(sql_, renew_sql, {me.node_id, me.address, std::to_string(ttl.count())});
    lease_renewal out;
    if (rows.size() == 0)
      return out;
    out.live_members = static_cast<int>(rows.int64(0, 0));
    auto shards = parse_int_array(rows.text(0, 1));
    auto epochs = parse_int_array(rows.text(0, 2));
    for (std::size_t i = 0; i < shards.size() && i < epochs.size(); ++i)
      out.held.push_back({static_cast<int32_t>(shards[i]), epochs[i]});
    return out;
  }

  std::vector<shard_lease> take(const std::string& node, int shards, int max,
                                std::chrono::milliseconds ttl, int only) override {
    std::vector<shard_lease> out;
    if (max <= 0)
      return out;
    auto rows = pg_exec(sql_, take_sql,
                        {node, std::to_string(shards), std::to_string(max),
                         std::to_string(ttl.count()), std::to_string(only)});
    for (int r = 0; r < rows.size(); ++r)
      out.push_back({static_cast<int32_t>(rows.int64(r, 0)), rows.int64(r, 1), rows.int64(r, 2)});
    return out;
  }

  void release(const std::string& node, const std::vector<int32_t>& shards) override {
    if (shards.empty())
      return;
    pg_exec(sql_, release_sql,
            {node, pg_int_array(std::vector<int64_t>(shards.begin(), shards.end()))});
  }

  void leave(const std::string& node) override { pg_exec(sql_, leave_sql, {node}); }

private:
  soci::session& sql_;
};

} // namespace

std::unique_ptr<lease_store> make_pg_lease_store(soci::session& sql) {
  return std::make_unique<pg_lease_store>(sql);
}

std::vector<int32_t> stale_shards(soci::session& sql, const shard_fence& fence) {
  std::vector<int32_t> out;
  if (fence.leases.empty())
    return out;
  std::vector<int64_t> shards, epochs;
  for (auto& l : fence.leases) {
    shards.push_back(l.shard);
    epochs.push_back(l.epoch);
  }
  auto rows = pg_exec(sql, stale_sql, {fence.node, pg_int_array(shards), pg_int_array(epochs)});
  for (int r = 0; r < rows.size(); ++r)
    out.push_back(static_cast<int32_t>(rows.int64(r, 0)));
  return out;
}

void listen_inbox_hints(soci::session& sql) {
  exec_script(sql, "LISTEN sb_inbox");
}

void name_hint_sender(soci::session& sql, const std::string& node) {
  std::string quoted;
  for (char c : node)
    if (c != '\'' && c != '\\')
      quoted += c;
  exec_script(sql, "SET switchboard.node = '" + quoted + "'");
}

std::vector<int32_t> wait_inbox_hints(soci::session& sql, std::chrono::milliseconds timeout,
                                      const std::string& self) {
  auto* conn = native_connection(sql);
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK)
    throw std::runtime_error("the hint connection is closed");
  std::set<int32_t> shards;
  auto drain = [&] {
    if (PQconsumeInput(conn) == 0)
      throw std::runtime_error(PQerrorMessage(conn));
    while (PGnotify* n = PQnotifies(conn)) {
      std::string_view payload{n->extra};
      auto bar = payload.find('|');
      auto from = bar == std::string_view::npos ? std::string_view{} : payload.substr(0, bar);
      payload = bar == std::string_view::npos ? payload : payload.substr(bar + 1);
      if (!self.empty() && from == self)
        payload = {};
      std::size_t at = 0;
      while (at < payload.size()) {
        auto comma = payload.find(',', at);
        auto item = payload.substr(at, comma == std::string_view::npos ? payload.npos : comma - at);
        int32_t v = 0;
        bool any = !item.empty();
        for (char c : item) {
          if (c < '0' || c > '9') {
            any = false;
            break;
          }
          v = v * 10 + (c - '0');
        }
        if (any)
          shards.insert(v);
        if (comma == std::string_view::npos)
          break;
        at = comma + 1;
      }
      PQfreemem(n);
    }
  };
  drain(); // notifications read along with an earlier result
  if (shards.empty()) {
    pollfd p{PQsocket(conn), POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (ready < 0 && errno != EINTR)
      throw std::runtime_error("poll on the hint connection failed");
    if (ready > 0)
      drain();
  }
  return {shards.begin(), shards.end()};
}

} // namespace switchboard::storage
