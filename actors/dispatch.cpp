// Handing queued rows to their channel adapters: deliveries (a session's replies and tool sends,
// call summaries, the sweeper's retries) and provider notifications (hand-offs). The adapters
// claim and record each attempt themselves; a row no adapter takes stays queued.

#include "actors/common.hpp"

namespace switchboard::actors {

outbound_send make_send(const storage::delivery_row& row) {
  outbound_send s;
  s.delivery_id = row.id;
  s.claim_token = row.claim_token;
  s.channel = row.channel;
  s.provider = row.provider;
  s.recipient = row.recipient;
  s.body = row.body;
  if (row.payload.is_object() && row.payload.contains("template")) {
    s.template_name = row.payload.value("template", std::string{});
    s.template_language = row.payload.value("language", std::string{"en"});
  }
  s.correlation_id = row.correlation_id;
  return s;
}

namespace {

/// Hands a send to the adapter of its channel; without one the row stays queued (logged).
void hand_over(const channel_set& channels, outbound_send s, const char* no_adapter) {
  auto& adapter = channels.of(s.channel);
  if (!adapter) {
    core::log(core::log_level::warn, no_adapter,
              {{"channel", s.channel}, {"correlation_id", s.correlation_id}});
    return;
  }
  caf::anon_send(adapter, std::move(s));
}

} // namespace

const channel_actor& channel_set::of(const std::string& channel) const {
  if (channel == "whatsapp")
    return whatsapp;
  if (channel == "telegram")
    return telegram;
  if (channel == "email")
    return email;
  return sms;
}

void dispatch_send(const channel_set& channels, const storage::delivery_row& row) {
  if (row.status == "queued")
    hand_over(channels, make_send(row), "no adapter for channel; the send stays queued");
}

void dispatch_notification(const channel_set& channels, const storage::notification_row& n) {
  if (n.status != "queued")
    return;
  outbound_send s;
  s.delivery_id = n.id;
  s.claim_token = n.claim_token;
  s.channel = n.channel;
  s.provider = n.channel == "sms"     ? channels.sms_provider
               : n.channel == "email" ? std::string{"smtp"}
                                      : n.channel;
  s.recipient = n.recipient;
  s.body = n.body;
  s.subject = n.subject;
  s.correlation_id = n.correlation_id;
  s.box = 1;
  hand_over(channels, std::move(s), "no adapter for the provider's channel; notification queued");
}

} // namespace switchboard::actors
