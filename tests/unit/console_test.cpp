#include <catch2/catch.hpp>

#include "core/console.hpp"

using namespace switchboard;

TEST_CASE("console filters: values checked, phones normalised, paging bounded", "[console]") {
  std::string why;
  auto f = core::parse_delivery_filter(
      "phone=250788123456&channel=sms&status=failed&direction=outbound&limit=10&before_id=7&"
      "reveal=1",
      why);
  REQUIRE(f);
  CHECK(f->phone == "+250788123456");
  CHECK(f->channel == "sms");
  CHECK(f->page.limit == 10);
  CHECK(f->page.before_id == 7);
  CHECK(f->reveal);
  CHECK(core::parse_delivery_filter("", why)->page.limit == 50);
  CHECK_FALSE(core::parse_delivery_filter("", why)->reveal);
  CHECK_FALSE(core::parse_delivery_filter("channel=fax", why));
  CHECK(why.find("channel") != std::string::npos);
  CHECK_FALSE(core::parse_delivery_filter("limit=0", why));
  CHECK_FALSE(core::parse_delivery_filter("limit=501", why));
  CHECK_FALSE(core::parse_delivery_filter("before_id=x", why));
  CHECK_FALSE(core::parse_queue_filter("status=sent", why));
  CHECK(core::parse_queue_filter("status=retrying", why)->status == "retrying");
  CHECK_FALSE(core::parse_session_filter("status=open", why));
  CHECK(core::parse_session_filter("phone=%2B250788123456", why)->phone == "+250788123456");
  CHECK(core::console_reveal("reveal=true"));
  CHECK_FALSE(core::console_reveal("reveal=0"));
}

TEST_CASE("console masking: phones keep country code and last digits, bodies their length",
          "[console]") {
  CHECK(core::console_phone("+250788123456", false) == "+250***456");
  CHECK(core::console_phone("+250788123456", true) == "+250788123456");
  CHECK(core::console_body("hello", false) == "[5 chars]");
  CHECK(core::console_body("hello", true) == "hello");
}

TEST_CASE("the bot view's window and reveal", "[console]") {
  std::string why;
  auto d = core::parse_bot_filter("", why);
  REQUIRE(d);
  CHECK(d->hours == 168);
  CHECK_FALSE(d->reveal);
  auto f = core::parse_bot_filter("hours=24&reveal=1", why);
  REQUIRE(f);
  CHECK(f->hours == 24);
  CHECK(f->reveal);
  CHECK_FALSE(core::parse_bot_filter("hours=0", why));
  CHECK(why == "hours must be a number from 1 to 8760");
  CHECK_FALSE(core::parse_bot_filter("hours=8761", why));
  CHECK_FALSE(core::parse_bot_filter("hours=x", why));
}
