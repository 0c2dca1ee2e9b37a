#include "storage/inbox.hpp"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "storage/db.hpp"
#include "storage/pg.hpp"

namespace switchboard::storage {

namespace {

constexpr pg_statement insert_sql{
    "sb_inbox_insert",
    "INSERT INTO inbox (source, dedupe_key, shard, entity, kind, payload, correlation_id) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], "
    "$7::text[]) ON CONFLICT DO NOTHING RETURNING id, source, dedupe_key"};

// The rows are found through the pending index and updated by ctid (a TID scan): the table has
// no index on id, which keeps the ingest INSERT to two index entries per row. The limit is per
// entity (one index scan each), so one entity's backlog never crowds the others of its batch
// out of a take.
constexpr pg_statement record_sql{
    "sb_inbox_record",
    "INSERT INTO inbox (source, dedupe_key, shard, entity, kind, payload, correlation_id, "
    "processed_at) SELECT *, now() FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], "
    "$5::text[], $6::text[], $7::text[]) ON CONFLICT DO NOTHING RETURNING id, source, dedupe_key"};

constexpr pg_statement results_sql{
    "sb_inbox_results",
    "SELECT dedupe_key, result FROM inbox WHERE source = $1 AND dedupe_key = ANY($2::text[]) "
    "AND result IS NOT NULL"};

constexpr pg_statement set_results_sql{
    "sb_inbox_set_results",
    "UPDATE inbox i SET result = v.r FROM unnest($2::text[], $3::text[]) AS v(k, r) "
    "WHERE i.source = $1 AND i.dedupe_key = v.k"};

constexpr pg_statement take_sql{
    "sb_inbox_take",
    "UPDATE inbox SET processed_at = now() WHERE ctid = ANY(ARRAY("
    "  SELECT t.ctid FROM unnest($2::text[]) AS e(entity), LATERAL (SELECT ctid FROM inbox "
    "  WHERE processed_at IS NULL AND kind = $1 AND entity = e.entity "
    "  ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) t)) "
    "RETURNING id, source, dedupe_key, entity, payload, correlation_id"};

// The fence is folded into the take: the lease rows are locked FOR SHARE first (materialized, so
// they are locked even when no inbox row is pending), the take only looks at shards whose lease
// is still the fence's, and the stale shards come back as extra rows (id NULL, column 6 set).
constexpr pg_statement fenced_take_sql{
    "sb_inbox_take_fenced",
    "WITH locked AS MATERIALIZED (SELECT shard, owner, epoch FROM shard_leases "
    "  WHERE shard = ANY($5::int[]) FOR SHARE), "
    "fence AS MATERIALIZED (SELECT f.shard, l.owner IS NOT DISTINCT FROM $4 AND "
    "  l.epoch IS NOT DISTINCT FROM f.epoch AS ok FROM unnest($5::int[], $6::bigint[]) "
    "  AS f(shard, epoch) LEFT JOIN locked l ON l.shard = f.shard), "
    "taken AS (UPDATE inbox SET processed_at = now() WHERE ctid = ANY(ARRAY("
    "  SELECT t.ctid FROM unnest($2::text[]) AS e(entity), LATERAL (SELECT ctid FROM inbox "
    "  WHERE processed_at IS NULL AND kind = $1 AND entity = e.entity "
    "  AND shard IN (SELECT shard FROM fence WHERE ok) ORDER BY id LIMIT $3 FOR UPDATE SKIP "
    "LOCKED) t))"
    "  RETURNING id, source, dedupe_key, entity, payload, correlation_id) "
    "SELECT id, source, dedupe_key, entity, payload, correlation_id, NULL::int FROM taken "
    "UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, shard FROM fence WHERE NOT ok"};

constexpr pg_statement dead_letter_sql{
    "sb_inbox_dead_letter",
    "UPDATE inbox SET processed_at = now(), result = $3 WHERE ctid = ANY(ARRAY("
    "  SELECT ctid FROM inbox WHERE processed_at IS NULL AND kind = $1 AND entity = $2"
    "  ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)) RETURNING dedupe_key"};

constexpr pg_statement pending_sql{
    "sb_inbox_pending", "SELECT kind, entity FROM inbox WHERE processed_at IS NULL AND "
                        "received_at < now() - make_interval(secs => $1::bigint / 1000.0) "
                        "GROUP BY kind, entity ORDER BY min(id) LIMIT $2"};

constexpr pg_statement pending_shards_sql{
    "sb_inbox_pending_shards",
    "SELECT kind, entity FROM inbox WHERE processed_at IS NULL AND shard = ANY($3::int[]) AND "
    "received_at < now() - make_interval(secs => $1::bigint / 1000.0) "
    "GROUP BY kind, entity ORDER BY min(id) LIMIT $2"};

constexpr pg_statement purge_sql{
    "sb_inbox_purge", "DELETE FROM inbox WHERE ctid = ANY(ARRAY("
                      "  SELECT ctid FROM inbox WHERE processed_at IS NOT NULL AND "
                      "  received_at < now() - make_interval(secs => $1::bigint) LIMIT $2))"};

} // namespace

namespace {

std::vector<inbox_stored> store(soci::session& sql, const pg_statement& st,
                                const std::vector<const core::inbox_entry*>& entries) {
  std::vector<inbox_stored> out(entries.size());
  if (entries.empty())
    return out;
  std::vector<std::string> source, key, entity, kind, payload, correlation;
  std::vector<int64_t> shard;
  for (auto* e : entries) {
    source.push_back(e->source);
    key.push_back(e->dedupe_key);
    shard.push_back(e->shard);
    entity.push_back(e->entity);
    kind.push_back(e->kind);
    payload.push_back(e->payload);
    correlation.push_back(e->correlation_id);
  }
  auto rows = pg_exec(sql, st,
                      {pg_text_array(source), pg_text_array(key), pg_int_array(shard),
                       pg_text_array(entity), pg_text_array(kind), pg_text_array(payload),
                       pg_text_array(correlation)});
  std::map<std::pair<std::string_view, std::string_view>, int64_t> ids;
  for (int r = 0; r < rows.size(); ++r)
    ids.emplace(std::make_pair(rows.text(r, 1), rows.text(r, 2)), rows.int64(r, 0));
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto it = ids.find({entries[i]->source, entries[i]->dedupe_key});
    if (it == ids.end())
      continue;
    out[i].id = it->second;
    out[i].inserted = true;
    ids.erase(it); // a second copy within the batch is a duplicate
  }
  return out;
}

} // namespace

std::vector<inbox_stored> insert_inbox(soci::session& sql,
                                       const std::vector<const core::inbox_entry*>& entries) {
  return store(sql, insert_sql, entries);
}

void use_for_ingest_only(soci::session& sql) {
  exec_script(sql, "SET plan_cache_mode = force_generic_plan");
}

std::vector<inbox_stored> record_inbox(soci::session& sql,
                                       const std::vector<const core::inbox_entry*>& entries) {
  return store(sql, record_sql, entries);
}

std::map<std::string, std::string> inbox_results(soci::session& sql, const std::string& source,
                                                 const std::vector<std::string>& keys) {
  std::map<std::string, std::string> out;
  if (keys.empty())
    return out;
  auto rows = pg_exec(sql, results_sql, {source, pg_text_array(keys)});
  for (int r = 0; r < rows.size(); ++r)
    out.emplace(std::string{rows.text(r, 0)}, std::string{rows.text(r, 1)});
  return out;
}

void set_inbox_results(soci::session& sql, const std::string& source,
                       const std::vector<std::string>& keys,
                       const std::vector<std::string>& results) {
  if (keys.empty())
    return;
  pg_exec(sql, set_results_sql, {source, pg_text_array(keys), pg_text_array(results)});
}

namespace {

std::vector<inbox_row> taken_rows(const pg_rows& rows, std::vector<int32_t>* stale) {
  std::vector<inbox_row> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int r = 0; r < rows.size(); ++r) {
    if (rows.null(r, 0)) {
      if (stale)
        stale->push_back(static_cast<int32_t>(rows.int64(r, 6)));
      continue;
    }
    inbox_row row;
    row.id = rows.int64(r, 0);
    row.source = std::string{rows.text(r, 1)};
    row.dedupe_key = std::string{rows.text(r, 2)};
    row.entity = std::string{rows.text(r, 3)};
    row.payload = std::string{rows.text(r, 4)};
    row.correlation_id = std::string{rows.text(r, 5)};
    out.push_back(std::move(row));
  }
  std::sort(out.begin(), out.end(),
            [](const inbox_row& a, const inbox_row& b) { return a.id < b.id; });
  return out;
}

} // namespace

std::vector<inbox_row> take_inbox(soci::session& sql, const std::string& kind,
                                  const std::vector<std::string>& entities, int limit) {
  if (entities.empty() || limit <= 0)
    return {};
  auto rows = pg_exec(sql, take_sql, {kind, pg_text_array(entities), std::to_string(limit)});
  return taken_rows(rows, nullptr);
}

std::vector<inbox_row> take_inbox(soci::session& sql, const std::string& kind,
                                  const std::vector<std::string>& entities, int limit,
                                  const shard_fence& fence, std::vector<int32_t>& stale) {
  if (entities.empty() || limit <= 0 || fence.leases.empty())
    return {};
  std::vector<int64_t> shards, epochs;
  for (auto& l : fence.leases) {
    shards.push_back(l.shard);
    epochs.push_back(l.epoch);
  }
  auto rows = pg_exec(sql, fenced_take_sql,
                      {kind, pg_text_array(entities), std::to_string(limit), fence.node,
                       pg_int_array(shards), pg_int_array(epochs)});
  return taken_rows(rows, &stale);
}

std::vector<pending_entity> pending_inbox(soci::session& sql, std::chrono::milliseconds grace,
                                          int limit) {
  auto rows = pg_exec(sql, pending_sql, {std::to_string(grace.count()), std::to_string(limit)});
  std::vector<pending_entity> out;
  for (int r = 0; r < rows.size(); ++r)
    out.push_back({std::string{rows.text(r, 0)}, std::string{rows.text(r, 1)}});
  return out;
}

std::vector<pending_entity> pending_inbox(soci::session& sql, std::chrono::milliseconds grace,
                                          int limit, const std::vector<int32_t>& shards) {
  std::vector<pending_entity> out;
  if (shards.empty())
    return out;
  auto rows = pg_exec(sql, pending_shards_sql,
                      {std::to_string(grace.count()), std::to_string(limit),
                       pg_int_array(std::vector<int64_t>(shards.begin(), shards.end()))});
  for (int r = 0; r < rows.size(); ++r)
    out.push_back({std::string{rows.text(r, 0)}, std::string{rows.text(r, 1)}});
  return out;
}

std::string dead_letter_oldest(soci::session& sql, const std::string& kind,
                               const std::string& entity, const std::string& reason) {
  auto rows
      = pg_exec(sql, dead_letter_sql, {kind, entity, nlohmann::json{{"failed", reason}}.dump()});
  return rows.size() == 0 ? std::string{} : std::string{rows.text(0, 0)};
}

int purge_inbox(soci::session& sql, std::chrono::seconds retention, int limit) {
  auto rows = pg_exec(sql, purge_sql, {std::to_string(retention.count()), std::to_string(limit)});
  return static_cast<int>(rows.affected());
}

} // namespace switchboard::storage
