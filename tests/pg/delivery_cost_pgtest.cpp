#include <catch2/catch.hpp>

#include <soci/soci.h>

#include "core/whatsapp_errors.hpp"
#include "storage/flows.hpp"
#include "storage/omnichannel.hpp"
#include "storage/outbox.hpp"
#include "tests/support/pg.hpp"

using namespace switchboard;
using namespace switchboard::storage;
using namespace std::chrono_literals;

namespace {

struct migrated_db : test::omni_db {

  /// A WhatsApp user whose window is open, sent one free-form text by the tools (queued).
  delivery_row whatsapp_text(const std::string& phone, const std::string& text) {
    return tx([&](soci::session& sql) {
      profile_facts f;
      f.has_whatsapp = true;
      f.whatsapp_inbound_at = now - 1h;
      upsert_profile(sql, phone, f);
      return tool_send(sql, machine, policy, phone, {"whatsapp"}, text, "", "corr-" + phone,
                       "tok-" + phone, now)
          .at(0);
    });
  }

  /// Records a send as accepted by the provider with this id.
  void sent(const delivery_row& row, const std::string& external_id, int segments = 0,
            const std::string& encoding = {}) {
    tx([&](soci::session& sql) {
      sent_record rec{row.id, external_id, outbox::deliveries, segments, encoding};
      return record_sends(sql, policy, {&rec}).at(0);
    });
  }

  status_outcome status(const std::string& external_id, const std::string& st,
                        int64_t error_code = 0, core::message_pricing pricing = {}) {
    core::status_update s{"whatsapp_cloud", external_id, st, "", "corr"};
    s.error_code = error_code;
    if (error_code != 0)
      s.error = std::to_string(error_code) + ": refused";
    core::set_pricing(s, pricing);
    return tx([&](soci::session& sql) { return apply_status_update(sql, policy, s); });
  }
};

core::message_pricing utility_regular() {
  core::message_pricing p;
  p.billable = true;
  p.model = "PMP";
  p.category = "utility";
  p.type = "regular";
  return p;
}

} // namespace

TEST_CASE("the pricing of a status is written on the delivery row once", "[cost]") {
  migrated_db m;
  auto row = m.whatsapp_text("+250788500001", "Hello");
  m.sent(row, "wamid.P1");
  auto first = m.status("wamid.P1", "sent", 0, utility_regular());
  CHECK(first.status == "sent");
  CHECK(first.channel == "whatsapp");
  CHECK(first.pricing.category == "utility"); // newly recorded: counted by the caller
  auto d = find_delivery(*m.sql, row.id);
  REQUIRE(d);
  CHECK(d->pricing.billable == true);
  CHECK(d->pricing.model == "PMP");
  CHECK(d->pricing.category == "utility");
  CHECK(d->pricing.type == "regular");
  auto shown = delivery_log_json(*d);
  CHECK(shown["pricing"]["category"] == "utility");
  CHECK(shown["pricing"]["cost_units"] == 1.0);
  CHECK(shown["sms"].is_null());
  // The same pricing on the next status is not recorded (nor counted) again.
  auto second = m.status("wamid.P1", "delivered", 0, utility_regular());
  CHECK(second.status == "delivered");
  CHECK_FALSE(core::has_pricing(second.pricing));
  CHECK(m.count("SELECT count(*) FROM message_delivery_log WHERE pricing_category = 'utility' "
                "AND pricing_type = 'regular' AND pricing_billable AND pricing_model = 'PMP'")
        == 1);
}

TEST_CASE("pricing and error codes of statuses that raced ahead of their send are kept", "[cost]") {
  migrated_db m;
  auto row = m.whatsapp_text("+250788500002", "Hello");
  CHECK(m.status("wamid.E1", "delivered", 0, utility_regular()).status.empty()); // parked
  CHECK(m.count("SELECT count(*) FROM delivery_status_early WHERE pricing->>'type' = 'regular'")
        == 1);
  m.sent(row, "wamid.E1");
  auto d = find_delivery(*m.sql, row.id);
  CHECK(d->status == "delivered");
  CHECK(d->pricing.category == "utility");
  CHECK(m.count("SELECT count(*) FROM delivery_status_early") == 0);

  // An early failure with 131026 still marks the profile and queues the SMS.
  auto other = m.whatsapp_text("+250788500003", "Hello");
  m.status("wamid.E2", "failed", core::whatsapp_undeliverable_error);
  m.sent(other, "wamid.E2");
  CHECK(find_delivery(*m.sql, other.id)->status == "failed");
  CHECK_FALSE(find_profile(*m.sql, "+250788500003")->has_whatsapp);
  CHECK(m.count("SELECT count(*) FROM message_delivery_log WHERE channel = 'sms' AND "
                "recipient = '+250788500003' AND status = 'queued'")
        == 1);
}

TEST_CASE("an SMS send records its segments and encoding", "[cost]") {
  migrated_db m;
  auto rows = m.tx([&](soci::session& sql) {
    return tool_send(sql, m.machine, m.policy, "+250788500004", {"sms"}, "Muraho ✓", "", "corr-sms",
                     "tok-sms", m.now);
  });
  REQUIRE(rows.size() == 1);
  m.sent(rows[0], "MTN-9", 1, "UCS-2");
  auto d = find_delivery(*m.sql, rows[0].id);
  CHECK(d->status == "sent");
  CHECK(d->sms_segments == 1);
  CHECK(d->sms_encoding == "UCS-2");
  CHECK(delivery_log_json(*d)["sms"]["segments"] == 1);
  CHECK(delivery_log_json(*d)["pricing"].is_null());
  // The database holds only the two encodings.
  CHECK_THROWS(m.tx([&](soci::session& sql) {
    sql << "UPDATE message_delivery_log SET sms_encoding = 'latin1' WHERE id = " << d->id;
    return 0;
  }));
}

TEST_CASE("a failed status with 131026: profile off WhatsApp, one SMS, no retry", "[cost]") {
  migrated_db m;
  auto row = m.whatsapp_text("+250788500005", "Your *order* shipped");
  m.sent(row, "wamid.U1");
  auto out = m.status("wamid.U1", "failed", core::whatsapp_undeliverable_error);
  CHECK(out.status == "failed");
  CHECK(out.fallback_channel == "sms");
  CHECK_FALSE(find_profile(*m.sql, "+250788500005")->has_whatsapp);
  CHECK(find_delivery(*m.sql, row.id)->status == "failed"); // not requeued
  auto sms_query = std::string{"SELECT count(*) FROM message_delivery_log WHERE channel = 'sms' "
                               "AND status = 'queued' AND claim_token IS NULL AND "
                               "next_attempt_at <= now() AND (payload->>'fallback_for')::bigint = "}
                   + std::to_string(row.id);
  CHECK(m.count(sms_query) == 1);
  // Meta repeating the webhook changes nothing.
  CHECK(
      m.status("wamid.U1", "failed", core::whatsapp_undeliverable_error).fallback_channel.empty());
  CHECK(m.count(sms_query) == 1);
}

TEST_CASE("131047: the template when configured, else SMS; a summary's SMS is not doubled",
          "[cost]") {
  migrated_db m;
  m.policy.template_name = "call_summary";
  auto row = m.whatsapp_text("+250788500006", "Reply text");
  m.sent(row, "wamid.R1");
  auto out = m.status("wamid.R1", "failed", core::whatsapp_reengagement_error);
  CHECK(out.fallback_channel == "whatsapp");
  CHECK(m.count("SELECT count(*) FROM message_delivery_log WHERE channel = 'whatsapp' AND "
                "status = 'queued' AND payload->>'template' = 'call_summary'")
        == 1);
  CHECK(find_profile(*m.sql, "+250788500006")->has_whatsapp); // still on WhatsApp

  // Synchronously refused (the row is still queued): failed, and the fallback queued.
  m.policy.template_name.clear();
  auto sync = m.whatsapp_text("+250788500007", "Reply text");
  auto fb = m.tx([&](soci::session& sql) {
    return fail_with_fallback(sql, m.policy, sync.id, core::whatsapp_reengagement_error,
                              "131047: Re-engagement message");
  });
  REQUIRE(fb);
  CHECK(fb->channel == "sms");
  CHECK(find_delivery(*m.sql, sync.id)->status == "failed");
  CHECK_FALSE(m.tx([&](soci::session& sql) { // a second refusal of the same row: nothing
    return fail_with_fallback(sql, m.policy, sync.id, core::whatsapp_reengagement_error, "again");
  }));
}

TEST_CASE("a per-user limit in a failed status requeues that row for later", "[cost]") {
  migrated_db m;
  auto row = m.whatsapp_text("+250788500008", "Hello");
  m.tx([&](soci::session& sql) { return test::begin_attempt(sql, row.id, row.claim_token, 60s); });
  m.sent(row, "wamid.L1");
  auto out = m.status("wamid.L1", "failed", core::whatsapp_marketing_limit_error);
  CHECK(out.backed_off);
  CHECK(out.status == "queued");
  CHECK(m.count("SELECT count(*) FROM message_delivery_log WHERE id = " + std::to_string(row.id)
                + " AND status = 'queued' AND claim_token IS NULL AND "
                  "next_attempt_at > now() + interval '50 minutes'")
        == 1);
  // Once its attempts are spent it fails for good.
  m.tx([&](soci::session& sql) {
    sql << "UPDATE message_delivery_log SET status = 'sent', attempts = 9 WHERE id = " << row.id;
    return 0;
  });
  auto last = m.status("wamid.L1", "failed", core::whatsapp_marketing_limit_error);
  CHECK_FALSE(last.backed_off);
  CHECK(last.status == "failed");
}
