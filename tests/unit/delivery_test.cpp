#include <catch2/catch.hpp>

#include "core/delivery.hpp"
#include "tests/support/fixtures.hpp"

using namespace switchboard::core;
using switchboard::test::fixture_json;

namespace {

const delivery_status all_statuses[]
    = {delivery_status::queued, delivery_status::sent, delivery_status::delivered,
       delivery_status::read, delivery_status::failed};

} // namespace

TEST_CASE("delivery_status round-trips through its stored form", "[delivery]") {
  for (auto x : all_statuses)
    CHECK(parse_delivery_status(to_string(x)).value() == x);
  CHECK(to_string(delivery_status::delivered) == "delivered");
  for (auto bad : {"", "Delivered", "sent ", "undelivered", "played"}) {
    auto res = parse_delivery_status(bad);
    REQUIRE_FALSE(res);
    CHECK(code_of(res.error()) == sb_error::invalid_argument);
    CHECK_THAT(reason_of(res.error()), Catch::Contains("unknown delivery status"));
  }
}

TEST_CASE("Twilio statuses map to delivery_status", "[delivery]") {
  CHECK(from_twilio_status("queued") == delivery_status::queued);
  CHECK(from_twilio_status("accepted") == delivery_status::queued);
  CHECK(from_twilio_status("sending") == delivery_status::queued);
  CHECK(from_twilio_status("sent") == delivery_status::sent);
  CHECK(from_twilio_status("delivered") == delivery_status::delivered);
  CHECK(from_twilio_status("read") == delivery_status::read);
  CHECK(from_twilio_status("undelivered") == delivery_status::failed);
  CHECK(from_twilio_status("failed") == delivery_status::failed);
  CHECK(from_twilio_status("canceled") == delivery_status::failed);
  CHECK_FALSE(from_twilio_status("received"));
  CHECK_FALSE(from_twilio_status("receiving"));
  CHECK_FALSE(from_twilio_status(""));
  CHECK_FALSE(from_twilio_status("Delivered"));
  // The status in Twilio's create-message response example.
  auto doc = fixture_json("twilio/messages_api_examples.json");
  auto status = doc["create_message_response_201"]["status"].get<std::string>();
  CHECK(from_twilio_status(status) == delivery_status::queued);
}

TEST_CASE("WhatsApp statuses map to delivery_status (every fixture status)", "[delivery]") {
  auto doc = fixture_json("whatsapp/pywa_tests_data_updates_message_status.json");
  int mapped = 0;
  for (auto& [name, update] : doc.items()) {
    auto status
        = update["entry"][0]["changes"][0]["value"]["statuses"][0]["status"].get<std::string>();
    INFO(name << ": " << status);
    auto x = from_whatsapp_status(status);
    REQUIRE(x);
    CHECK((status == "played" ? "read" : status) == to_string(*x));
    ++mapped;
  }
  CHECK(mapped == 7);
  CHECK_FALSE(from_whatsapp_status("deleted"));
  CHECK_FALSE(from_whatsapp_status(""));
}

TEST_CASE("status_may_advance only moves forward", "[delivery]") {
  using ds = delivery_status;
  // Full truth table without retry: rows = current, columns = incoming.
  const bool expected[5][5] = {
      //          queued sent  deliv  read   failed
      /*queued*/ {false, true, true, true, true},
      /*sent  */ {false, false, true, true, true},
      /*deliv */ {false, false, false, true, false},
      /*read  */ {false, false, false, false, false},
      /*failed*/ {false, false, false, false, false},
  };
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) {
      INFO(to_string(all_statuses[i]) << " -> " << to_string(all_statuses[j]));
      CHECK(status_may_advance(all_statuses[i], all_statuses[j]) == expected[i][j]);
    }
  // Out-of-order webhooks: "delivered" arriving after "read" is ignored.
  CHECK_FALSE(status_may_advance(ds::read, ds::delivered));
  // A successful retry reopens a failed message, but a second failure is still a no-op.
  CHECK(status_may_advance(ds::failed, ds::sent, true));
  CHECK(status_may_advance(ds::failed, ds::delivered, true));
  CHECK_FALSE(status_may_advance(ds::failed, ds::failed, true));
  // The retry flag does not let statuses move backwards otherwise.
  CHECK_FALSE(status_may_advance(ds::read, ds::sent, true));
  CHECK_FALSE(status_may_advance(ds::delivered, ds::failed, true));
}

TEST_CASE("provider_error_code reads the code a codec attached", "[delivery]") {
  caf::error with_code
      = caf::make_error(sb_error::provider_rejected, std::string{"nope"}, int64_t{131047});
  CHECK(provider_error_code(with_code) == int64_t{131047});
  CHECK(reason_of(with_code) == "nope");
  CHECK_FALSE(provider_error_code(caf::make_error(sb_error::malformed, std::string{"x"})));
  CHECK_FALSE(provider_error_code(caf::error{}));
}
