#include <catch2/catch.hpp>

#include "core/events.hpp"
#include "core/omni/format.hpp"
#include "core/omni/outbound.hpp"
#include "core/text/sms.hpp"
#include "core/text/utf8.hpp"

using namespace switchboard;

TEST_CASE("inbox entries carry the event and decode back to it", "[events]") {
  core::inbound_message m;
  m.channel = "whatsapp";
  m.provider = "whatsapp_cloud";
  m.external_id = "wamid.1";
  m.from = "+250788123456";
  m.type = "text";
  m.text = "Bonjour \"à\" tous\n✓";
  m.profile_name = "Aline";
  m.received_at_ms = 1790000000123;
  m.correlation_id = "req-1";
  auto e = core::make_inbox_entry(m, 256);
  CHECK(e.source == "whatsapp_cloud");
  CHECK(e.dedupe_key == "wamid.1");
  CHECK(e.entity == "+250788123456");
  CHECK(e.kind == "message");
  CHECK(e.shard < 256);
  CHECK(e.shard == core::shard_of("+250788123456", 256));
  CHECK(e.correlation_id == "req-1");
  auto back = core::decode_inbound_message(e.payload);
  REQUIRE(back);
  CHECK(back->text == m.text);
  CHECK(back->profile_name == "Aline");
  CHECK(back->received_at_ms == m.received_at_ms);
  CHECK(back->from == m.from);
  CHECK_FALSE(core::decode_inbound_message("not json"));

  core::status_update s{"twilio", "SM1", "delivered", "", "req-2"};
  auto se = core::make_inbox_entry(s, 256);
  CHECK(se.source == "twilio:status");
  CHECK(se.dedupe_key == "SM1:delivered"); // each status of a message is its own event
  CHECK(se.entity == "twilio:SM1");
  CHECK(core::decode_status_update(se.payload)->status == "delivered");

  core::telegram_inbound t;
  t.update_id = 42;
  t.chat_id = -1001;
  t.text = "/start";
  t.is_start = true;
  auto te = core::make_inbox_entry(t, 256);
  CHECK(te.dedupe_key == "42");
  CHECK(te.entity == "-1001");
  auto tb = core::decode_telegram_inbound(te.payload);
  REQUIRE(tb);
  CHECK(tb->is_start);
  CHECK(tb->chat_id == -1001);
}

TEST_CASE("a WhatsApp user without a number is keyed by business and BSUID", "[events]") {
  core::inbound_message m;
  m.channel = "whatsapp";
  m.provider = "whatsapp_cloud";
  m.external_id = "wamid.2";
  m.user_id = "IN.1410018717833190";
  m.business = "1088451004357858";
  m.type = "text";
  m.text = "Hey";
  auto e = core::make_inbox_entry(m, 256);
  CHECK(e.entity == "wa:1088451004357858:IN.1410018717833190");
  CHECK(e.shard == core::shard_of(e.entity, 256));
  // Sharded by the BSUID, the recipient of the user's delivery rows (whose shard_key hashes it).
  CHECK(core::shard_of(e.entity, 256) == core::shard_of("IN.1410018717833190", 256));
  CHECK(core::shard_of(e.entity, 1u << 31) == core::shard_of("IN.1410018717833190", 1u << 31));
  CHECK(core::shard_of("wa:other-business:IN.1410018717833190", 1u << 31)
        == core::shard_of(e.entity, 1u << 31));
  auto back = core::decode_inbound_message(e.payload);
  REQUIRE(back);
  CHECK(back->user_id == m.user_id);
  CHECK(back->business == m.business);
  CHECK(back->from.empty());
  CHECK(core::sender_key(*back) == e.entity);
  auto ref = core::parse_whatsapp_user_key(e.entity);
  REQUIRE(ref);
  CHECK(ref->business == "1088451004357858");
  CHECK(ref->user_id == "IN.1410018717833190");
  // With the number known the number is the key (one session across WhatsApp, SMS and voice).
  m.from = "+919810218674";
  CHECK(core::make_inbox_entry(m, 256).entity == "+919810218674");
  CHECK_FALSE(core::parse_whatsapp_user_key("+919810218674"));
  CHECK_FALSE(core::parse_whatsapp_user_key("wa:"));
  CHECK_FALSE(core::parse_whatsapp_user_key("wa:123:"));
}

TEST_CASE("shards are stable and spread", "[events]") {
  // FNV-1a: fixed values, so that every process and version maps a key to the same shard.
  CHECK(core::shard_of("", 256) == 2166136261u % 256);
  CHECK(core::shard_of("a", 1u << 31) == 0xe40c292cu % (1u << 31));
  std::vector<int> counts(16, 0);
  for (int i = 0; i < 16000; ++i)
    ++counts[core::shard_of("+2507880" + std::to_string(10000 + i), 16)];
  for (auto c : counts)
    CHECK((c > 800 && c < 1200));
}

TEST_CASE("a NUL anywhere in an event is found, an escaped backslash before u0000 is not one",
          "[events]") {
  core::inbound_message m;
  m.channel = "sms";
  m.provider = "mtn";
  m.external_id = "id-1";
  m.from = "+250788123456";
  m.type = "text";
  m.text = "plain";
  CHECK_FALSE(core::has_nul(core::make_inbox_entry(m, 256)));
  m.text = std::string{"cut\0here", 8};
  CHECK(core::has_nul(core::make_inbox_entry(m, 256)));
  m.text = "a literal \\u0000 typed by the user";
  CHECK_FALSE(core::has_nul(core::make_inbox_entry(m, 256)));
  m.text = "ok";
  m.external_id = std::string{"id\0", 3};
  CHECK(core::has_nul(core::make_inbox_entry(m, 256)));
}

TEST_CASE("the outbound plan: the WhatsApp window, templates, skips, SMS consent", "[events]") {
  core::channel_policy policy;
  core::outbound_recipient to;
  auto now = std::chrono::system_clock::now();
  to.has_whatsapp = true;
  auto closed = core::plan_outbound(policy, to, "whatsapp", "Hello", now);
  CHECK_FALSE(closed.queued);
  CHECK(closed.skip_reason.find("24 h") != std::string::npos);
  policy.template_name = "call_summary";
  auto tpl = core::plan_outbound(policy, to, "whatsapp", "Hello", now);
  CHECK(tpl.queued);
  CHECK(tpl.payload.at("template") == "call_summary");
  to.last_whatsapp_inbound_at = now - std::chrono::hours{1};
  auto open = core::plan_outbound(policy, to, "whatsapp", "Hello", now);
  CHECK(open.queued);
  CHECK(open.payload.is_null());
  to.has_whatsapp = false;
  CHECK(core::plan_outbound(policy, to, "whatsapp", "Hello", now).skip_reason
        == "the profile has no WhatsApp");
  to.allows_sms = false;
  CHECK_FALSE(core::plan_outbound(policy, to, "sms", "Hello", now).queued);
  to.allows_sms = true;
  auto sms = core::plan_reply(policy, to, "sms", "**Bold** reply", now);
  CHECK(sms.queued);
  CHECK(sms.provider == "mtn");
  CHECK(sms.body.find('*') == std::string::npos);
  // A WhatsApp user known only by a BSUID can be answered on WhatsApp, never by SMS.
  to.has_phone = false;
  to.has_whatsapp = true;
  auto no_number = core::plan_outbound(policy, to, "sms", "Hello", now);
  CHECK_FALSE(no_number.queued);
  CHECK(no_number.skip_reason.find("no phone number") != std::string::npos);
  CHECK(core::plan_outbound(policy, to, "whatsapp", "Hello", now).queued);
}

TEST_CASE("the outbound plan: a template's parameter is one line within Meta's cap", "[events]") {
  core::channel_policy policy;
  policy.template_name = "call_summary";
  core::outbound_recipient to;
  to.has_whatsapp = true; // and no inbound yet: outside the window
  auto now = std::chrono::system_clock::now();
  std::string rich = "\xF0\x9F\x93\x9E *Call summary*\nHi Ana,\n\n*Next steps*\n\xE2\x80\xA2 Pay\n";
  for (int i = 0; i < 100; ++i)
    rich += "\xE2\x80\xA2 Step " + std::to_string(i) + " of the plan\n";
  auto tpl = core::plan_outbound(policy, to, "whatsapp", rich, now);
  REQUIRE(tpl.queued);
  auto param = tpl.payload.at("parameters").at(0).get<std::string>();
  CHECK(param.rfind("Call summary. Hi Ana, Next steps: Pay; Step 0 of the plan; ", 0) == 0);
  CHECK(param.find_first_of("\n\t*") == std::string::npos);
  CHECK(core::count_code_points(param) <= core::whatsapp_template_parameter_limit);
  CHECK(tpl.body == param); // the delivery log shows what went out
  // Inside the window the rich text goes out as it is.
  to.last_whatsapp_inbound_at = now - std::chrono::hours{1};
  CHECK(core::plan_outbound(policy, to, "whatsapp", rich, now).body == rich);
}

TEST_CASE("the outbound plan: LLM replies by SMS use sms.max_segments", "[events]") {
  core::channel_policy policy;
  core::outbound_recipient to;
  auto now = std::chrono::system_clock::now();
  std::string reply;
  for (int i = 0; i < 80; ++i)
    reply += "Sentence " + std::to_string(i) + " of a long answer. ";
  for (std::size_t cap : {1, 3, 5}) {
    policy.sms_max_segments = cap;
    auto plan = core::plan_reply(policy, to, "sms", reply, now);
    CHECK(core::analyze_sms(plan.body).segments == cap);
  }
}

TEST_CASE("a status's error code and pricing survive the inbox", "[events][cost]") {
  core::status_update s{"whatsapp_cloud", "wamid.2", "delivered", "", "req-3"};
  core::message_pricing p;
  p.billable = true;
  p.model = "PMP";
  p.category = "utility";
  p.type = "regular";
  core::set_pricing(s, p);
  auto back = core::decode_status_update(core::make_inbox_entry(s, 256).payload);
  REQUIRE(back);
  auto q = core::pricing_of(*back);
  CHECK(q.billable == true);
  CHECK(q.model == "PMP");
  CHECK(q.category == "utility");
  CHECK(q.type == "regular");

  core::status_update f{"whatsapp_cloud", "wamid.3", "failed", "131026: Message undeliverable",
                        "req-4"};
  f.error_code = 131026;
  auto fb = core::decode_status_update(core::make_inbox_entry(f, 256).payload);
  REQUIRE(fb);
  CHECK(fb->error_code == 131026);
  CHECK_FALSE(core::has_pricing(core::pricing_of(*fb))); // none was carried
}

TEST_CASE("the fallback after Meta refuses a WhatsApp message for its user", "[events]") {
  core::channel_policy policy;
  core::outbound_recipient to;
  to.has_whatsapp = true;
  auto now = std::chrono::system_clock::now();
  // Our clock thinks the window is open; Meta says 131047: the template, with the text.
  to.last_whatsapp_inbound_at = now - std::chrono::hours{1};
  policy.template_name = "call_summary";
  auto tpl = core::plan_whatsapp_fallback(policy, to, false, false, "Your quote is *200k*", now);
  CHECK(tpl.channel == "whatsapp");
  CHECK(tpl.queued);
  CHECK(tpl.payload.at("template") == "call_summary");
  // A template refused with 131047 (or no template configured): SMS, plain.
  auto after_tpl = core::plan_whatsapp_fallback(policy, to, false, true, "**Quote** 200k", now);
  CHECK(after_tpl.channel == "sms");
  CHECK(after_tpl.queued);
  CHECK(after_tpl.body.find('*') == std::string::npos);
  policy.template_name.clear();
  CHECK(core::plan_whatsapp_fallback(policy, to, false, false, "Hi", now).channel == "sms");
  // 131026: SMS even with a template.
  policy.template_name = "call_summary";
  to.has_whatsapp = false;
  auto sms = core::plan_whatsapp_fallback(policy, to, true, false, "Hi", now);
  CHECK(sms.channel == "sms");
  CHECK(sms.queued);
  // ... unless the profile refuses SMS: skipped with the reason.
  to.allows_sms = false;
  auto none = core::plan_whatsapp_fallback(policy, to, true, false, "Hi", now);
  CHECK_FALSE(none.queued);
  CHECK(none.skip_reason == "the profile does not allow SMS");
}
