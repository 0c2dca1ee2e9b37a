#include <catch2/catch.hpp>

#include "core/omni/session.hpp"

using namespace switchboard::core;
using namespace std::chrono_literals;
using json = nlohmann::json;
using time_point = std::chrono::system_clock::time_point;

namespace {

const time_point t0 = time_point{} + std::chrono::hours{24 * 365 * 54}; // around 2024

} // namespace

TEST_CASE("session_status round-trips", "[session]") {
  for (auto x : {session_status::active, session_status::follow_up, session_status::closed})
    CHECK(parse_session_status(to_string(x)).value() == x);
  CHECK(to_string(session_status::follow_up) == "follow_up");
  for (auto bad : {"", "Active", "follow-up", "open"}) {
    auto res = parse_session_status(bad);
    REQUIRE_FALSE(res);
    CHECK(code_of(res.error()) == sb_error::invalid_argument);
  }
}

TEST_CASE("open creates an active session with an empty context", "[session]") {
  session_machine m{30min};
  auto s = m.open(7, t0);
  CHECK(s.id == 0);
  CHECK(s.profile_id == 7);
  CHECK(s.status == session_status::active);
  CHECK(s.context == json::object());
  CHECK(s.created_at == t0);
  CHECK(s.last_activity_at == t0);
  CHECK(s.expires_at == t0 + 30min);
  CHECK_FALSE(s.whatsapp_summary_sent);
  CHECK_FALSE(s.sms_summary_sent);
  CHECK(s.version == 0);
}

TEST_CASE("get_or_create: reuse, expiry boundary and closed sessions", "[session]") {
  session_machine m{30min};

  SECTION("no current session opens one") {
    auto r = m.get_or_create(std::nullopt, 7, t0).value();
    CHECK(r.created);
    CHECK_FALSE(r.expired);
    CHECK(r.session.profile_id == 7);
    CHECK(r.session.expires_at == t0 + 30min);
  }

  auto current = m.open(7, t0);
  current.id = 42;
  current.version = 3;
  current.context = {{"lang", "fr"}};

  SECTION("one millisecond before expiry the session is reused untouched") {
    auto r = m.get_or_create(current, 7, t0 + 30min - 1ms).value();
    CHECK_FALSE(r.created);
    CHECK_FALSE(r.expired);
    CHECK(r.session.id == 42);
    CHECK(r.session.version == 3);
    CHECK(r.session.expires_at == t0 + 30min);
    CHECK(r.session.context == current.context);
  }

  SECTION("at the expiry instant a new session replaces it, and the old one is closed") {
    CHECK(m.is_expired(current, t0 + 30min));
    CHECK_FALSE(m.is_expired(current, t0 + 30min - 1ms));
    auto r = m.get_or_create(current, 7, t0 + 30min).value();
    CHECK(r.created);
    CHECK(r.session.id == 0);
    CHECK(r.session.context == json::object()); // context does not leak into the new session
    CHECK(r.session.created_at == t0 + 30min);
    REQUIRE(r.expired);
    CHECK(r.expired->id == 42);
    CHECK(r.expired->status == session_status::closed);
    CHECK(r.expired->version == 3); // storage bumps versions, not the machine
  }

  SECTION("a follow_up session is reused like an active one") {
    REQUIRE(m.set_status(current, session_status::follow_up).value());
    auto r = m.get_or_create(current, 7, t0 + 10min).value();
    CHECK_FALSE(r.created);
    CHECK(r.session.status == session_status::follow_up);
  }

  SECTION("a closed session is never reused, even before its expiry") {
    REQUIRE(m.set_status(current, session_status::closed).value());
    auto r = m.get_or_create(current, 7, t0 + 1min).value();
    CHECK(r.created);
    CHECK_FALSE(r.expired); // already closed: nothing to persist
  }

  SECTION("a session of another profile is refused") {
    auto r = m.get_or_create(current, 8, t0 + 1min);
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == sb_error::invalid_argument);
  }
}

TEST_CASE("touch slides the expiry window", "[session]") {
  session_machine m{30min};
  auto s = m.open(1, t0);
  REQUIRE(m.touch(s, t0 + 20min));
  CHECK(s.last_activity_at == t0 + 20min);
  CHECK(s.expires_at == t0 + 50min);
  // Still alive where the original window would have ended.
  CHECK_FALSE(m.is_expired(s, t0 + 30min));
  CHECK(m.is_expired(s, t0 + 50min));
  // A late (out-of-order) touch never moves either timestamp backwards.
  REQUIRE(m.touch(s, t0 + 5min));
  CHECK(s.last_activity_at == t0 + 20min);
  CHECK(s.expires_at == t0 + 50min);
  // Touching a closed session is refused.
  REQUIRE(m.set_status(s, session_status::closed).value());
  auto r = m.touch(s, t0 + 40min);
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == sb_error::conflict);
  CHECK(s.expires_at == t0 + 50min);
}

TEST_CASE("set_status rules", "[session]") {
  session_machine m{1h};
  const session_status all[]
      = {session_status::active, session_status::follow_up, session_status::closed};
  for (auto from : all) {
    for (auto to : all) {
      INFO(to_string(from) << " -> " << to_string(to));
      auto s = m.open(1, t0);
      s.status = from;
      auto r = m.set_status(s, to);
      if (from == to) {
        REQUIRE(r);
        CHECK_FALSE(*r); // no-op
        CHECK(s.status == from);
      } else if (from == session_status::closed) {
        REQUIRE_FALSE(r);
        CHECK(code_of(r.error()) == sb_error::conflict);
        CHECK_THAT(reason_of(r.error()), Catch::Contains("closed"));
        CHECK(s.status == session_status::closed);
      } else {
        REQUIRE(r);
        CHECK(*r);
        CHECK(s.status == to);
      }
    }
  }
}

TEST_CASE("merge_context implements RFC 7386 (Appendix A)", "[session]") {
  session_machine m{1h};
  // RFC 7386 Appendix A, every example: original, patch, result.
  const char* examples[][3] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", R"(null)", R"(null)"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  int applied = 0;
  for (auto& ex : examples) {
    INFO(ex[0] << " + " << ex[1]);
    auto s = m.open(1, t0);
    s.context = json::parse(ex[0]);
    auto patch = json::parse(ex[1]);
    auto r = m.merge_context(s, patch);
    if (patch.is_object()) {
      REQUIRE(r);
      CHECK(s.context == json::parse(ex[2]));
      ++applied;
    } else {
      // Sessions keep an object context: non-object patches are refused, context untouched.
      REQUIRE_FALSE(r);
      CHECK(code_of(r.error()) == sb_error::invalid_argument);
      CHECK_THAT(reason_of(r.error()), Catch::Contains("must be a JSON object"));
      CHECK(s.context == json::parse(ex[0]));
    }
  }
  CHECK(applied == 11);
}

TEST_CASE("merge_context on a closed session is refused", "[session]") {
  session_machine m{1h};
  auto s = m.open(1, t0);
  REQUIRE(m.merge_context(s, {{"step", 1}}));
  REQUIRE(m.set_status(s, session_status::closed).value());
  auto r = m.merge_context(s, {{"step", 2}});
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == sb_error::conflict);
  CHECK(s.context == json{{"step", 1}});
}

TEST_CASE("mark_summary_sent is idempotent per channel", "[session]") {
  session_machine m{1h};
  auto s = m.open(1, t0);
  CHECK(m.mark_summary_sent(s, summary_channel::whatsapp));
  CHECK(s.whatsapp_summary_sent);
  CHECK_FALSE(s.sms_summary_sent);
  CHECK_FALSE(m.mark_summary_sent(s, summary_channel::whatsapp));
  CHECK(m.mark_summary_sent(s, summary_channel::sms));
  CHECK_FALSE(m.mark_summary_sent(s, summary_channel::sms));
  // Allowed after close: the summary of the call that closed the session can still go out.
  auto t = m.open(1, t0);
  REQUIRE(m.set_status(t, session_status::closed).value());
  CHECK(m.mark_summary_sent(t, summary_channel::sms));
}

TEST_CASE("a session context is bounded: a patch that would grow it past the cap is refused",
          "[session]") {
  session_machine m{std::chrono::hours{24}};
  auto s = m.open(1, std::chrono::system_clock::now());
  REQUIRE(m.merge_context(s, {{"note", std::string(8000, 'a')}}));
  auto r = m.merge_context(s, {{"more", std::string(9000, 'b')}});
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == sb_error::invalid_argument);
  CHECK_THAT(reason_of(r.error()), Catch::Contains("16384"));
  CHECK_FALSE(s.context.contains("more")); // unchanged
  // Replacing a large value by a small one is fine.
  REQUIRE(m.merge_context(s, {{"note", "short"}, {"more", std::string(9000, 'b')}}));
  CHECK(s.context["note"] == "short");
}
