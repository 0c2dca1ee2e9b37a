// The storage work of the inbox, batched across requesters: ingest (one multi-row INSERT per
// batch of webhooks), accepts of inbound messages, call-ended events and delivery statuses
// (set-based, one job per batch).

#include <set>

#include "actors/common.hpp"
#include "storage/inbox.hpp"
#include "storage/outbox.hpp"

namespace switchboard::actors {

using std::chrono::system_clock;

namespace {

/// A cluster's replies: the shards' lease rows are read FOR SHARE first (+1 round trip, held
/// until the batch commits), and only replies of shards still leased at this node's epoch are
/// queued; the others answer nullopt (no claim left here) and their shards are dropped.
std::vector<std::optional<storage::delivery_row>>
fenced_replies(soci::session& sql, const storage::channel_policy& policy, cluster_view& cluster,
               const std::vector<const storage::reply_request*>& in) {
  std::vector<std::string> entities;
  for (auto* r : in)
    entities.push_back(r->entity);
  auto fence = cluster.fence_for(entities);
  auto stale = storage::stale_shards(sql, fence);
  cluster.rejected(stale);
  std::set<int32_t> valid;
  for (auto& l : fence.leases)
    valid.insert(l.shard);
  for (auto s : stale)
    valid.erase(s);
  std::vector<const storage::reply_request*> kept;
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < in.size(); ++i)
    if (valid.count(static_cast<int32_t>(core::shard_of(in[i]->entity, cluster.shards())))) {
      kept.push_back(in[i]);
      at.push_back(i);
    }
  std::vector<std::optional<storage::delivery_row>> out(in.size());
  auto queued = storage::queue_replies(sql, policy, kept);
  for (std::size_t j = 0; j < at.size() && j < queued.size(); ++j)
    out[at[j]] = std::move(queued[j]);
  return out;
}

/// Runs an outbox write under the fence of every lease held here; the shards it found stale
/// are dropped (and counted by the lease actor).
template <class Write> std::vector<bool> with_outbox_fence(cluster_view& cluster, Write&& write) {
  auto fence = cluster.fence_held();
  std::vector<int32_t> stale;
  auto out = write(storage::outbox_fence{&fence, &stale});
  cluster.rejected(stale);
  return out;
}

} // namespace

batch_kinds make_batch_kinds(const core::session_machine& machine,
                             const core::channel_policy& policy, std::size_t accept_batch,
                             std::shared_ptr<cluster_view> cluster) {
  batch_kinds k;
  auto accept_rows = static_cast<int>(accept_batch);
  // Accepts: about ten round trips per batch of up to 256 entities (storage::accept_messages).
  k.accept = make_batch_kind<storage::accept_request, storage::accepted_messages>(
      "accept_messages", 256, false,
      [machine, policy, accept_rows,
       cluster](soci::session& sql, const std::vector<const storage::accept_request*>& in) {
        if (!cluster)
          return storage::accept_messages(sql, machine, policy, in, system_clock::now(),
                                          accept_rows);
        // A cluster: the take is fenced by the shards' leases, in the same round trip.
        std::vector<std::string> phones;
        for (auto* r : in)
          phones.push_back(r->phone);
        auto fence = cluster->fence_for(phones);
        std::vector<int32_t> stale;
        auto out = storage::accept_messages(sql, machine, policy, in, system_clock::now(),
                                            accept_rows, &fence, &stale);
        cluster->rejected(stale);
        return out;
      });
  // Call-ended: about a dozen round trips per batch of up to 256 calls.
  k.calls = make_batch_kind<storage::call_ended_input, storage::accepted_call>(
      "call_ended", 256, false,
      [machine, policy](soci::session& sql,
                        const std::vector<const storage::call_ended_input*>& in) {
        return storage::accept_calls(sql, machine, policy, in);
      });
  // Statuses: 1 round trip to take them, then 2-3 per status (forward-only update or park,
  // pricing), a few more for a failure that calls for a fallback or a back-off.
  k.statuses = make_take_kind(
      "apply_statuses", "status", core::decode_status_update,
      [policy](soci::session& sql, core::status_update& s) {
        return storage::apply_status_update(sql, policy, s);
      },
      256, cluster);
  // Replies to bursts: 5 round trips per batch of up to 256 replies (6 in a cluster).
  k.replies = make_batch_kind<storage::reply_request, std::optional<storage::delivery_row>>(
      "queue_replies", 256, false,
      [policy, cluster](soci::session& sql, const std::vector<const storage::reply_request*>& in) {
        if (!cluster)
          return storage::queue_replies(sql, policy, in);
        return fenced_replies(sql, policy, *cluster, in);
      });
  // The outbox: claims of attempts and outcomes of sends, 1-3 round trips per batch; in a
  // cluster the delivery rows' statements carry the fence of their shards (no extra round trip).
  auto lease = policy.claim_lease;
  k.attempts = make_batch_kind<storage::attempt_claim, bool>(
      "begin_attempts", 512, false,
      [lease, cluster](soci::session& sql, const std::vector<const storage::attempt_claim*>& in) {
        if (!cluster)
          return storage::begin_attempts(sql, in, lease);
        return with_outbox_fence(*cluster, [&](const storage::outbox_fence& f) {
          return storage::begin_attempts(sql, in, lease, f);
        });
      });
  k.sent = make_batch_kind<storage::sent_record, bool>(
      "record_sends", 512, false,
      [policy, cluster](soci::session& sql, const std::vector<const storage::sent_record*>& in) {
        if (!cluster)
          return storage::record_sends(sql, policy, in);
        return with_outbox_fence(*cluster, [&](const storage::outbox_fence& f) {
          return storage::record_sends(sql, policy, in, f);
        });
      });
  k.chatwoot = make_chatwoot_kind(cluster);
  k.telegram = make_telegram_kind(std::move(cluster));
  return k;
}

void wake(const inbox_targets& to, const std::string& kind, const std::string& entity) {
  if (kind == "message") {
    caf::anon_send(to.sessions, wake_atom::value, entity);
  } else if (kind == "chatwoot") {
    if (to.conversations)
      caf::anon_send(to.conversations, wake_atom::value, entity);
  } else if (kind == "telegram") {
    if (to.telegram)
      caf::anon_send(to.telegram, wake_atom::value, entity);
  } else if (kind == "status") {
    submit_batch(to.storage, to.statuses, entity, [stats = to.stats](db_result& r) {
      if (r.error) {
        core::log(core::log_level::warn, "delivery statuses not applied; retried by the poller",
                  {{"error", core::reason_of(r.error)}});
        return;
      }
      auto* outcomes = std::any_cast<std::vector<storage::status_outcome>>(&r.value);
      if (!outcomes || !stats)
        return;
      for (auto& o : *outcomes) {
        if (core::has_pricing(o.pricing))
          stats->cost(o.channel, o.pricing.category.empty() ? "unknown" : o.pricing.category,
                      o.pricing.type.empty() ? (core::is_billable(o.pricing) ? "billable" : "free")
                                             : o.pricing.type,
                      core::cost_units(o.pricing));
        if (!o.fallback_channel.empty())
          stats->count("whatsapp_fallbacks", o.fallback_channel);
        if (o.backed_off)
          stats->count("whatsapp_user_backoffs", "status");
      }
    });
  }
}

} // namespace switchboard::actors
