// The inbox payloads of the inbound events: decoding untrusted JSON (the database is outside
// the process), and encode -> decode -> encode reaching a fixed point; the NUL detection that
// keeps PostgreSQL from storing a text cut short; the WhatsApp user keys and shards.

#include <initializer_list>

#include "core/events.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

namespace {

bool any_nul(std::initializer_list<const std::string*> fields) {
  for (auto* f : fields)
    if (f->find('\0') != std::string::npos)
      return true;
  return false;
}

template <class Decode> void check_fixpoint(const core::inbox_entry& first, Decode decode) {
  auto again = decode(first.payload);
  SB_FUZZ_CHECK(again.engaged());
  SB_FUZZ_CHECK(again->payload == first.payload);
  SB_FUZZ_CHECK(again->dedupe_key == first.dedupe_key && again->entity == first.entity);
  SB_FUZZ_CHECK(again->shard == first.shard && first.shard < 16);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto payload = fuzz::text_of(data, size);
  constexpr uint32_t shards = 16;

  if (auto m = core::decode_inbound_message(payload)) {
    SB_FUZZ_CHECK(payload.find('\0') == std::string_view::npos);
    auto e = core::make_inbox_entry(*m, shards);
    SB_FUZZ_CHECK(
        core::has_nul(e)
        == any_nul({&m->channel, &m->provider, &m->external_id, &m->from, &m->user_id, &m->business,
                    &m->type, &m->text, &m->profile_name, &m->correlation_id}));
    check_fixpoint(e, [](std::string_view p) {
      auto d = core::decode_inbound_message(p);
      return d ? core::expected<core::inbox_entry>{core::make_inbox_entry(*d, shards)}
               : core::expected<core::inbox_entry>{d.error()};
    });
  } else {
    SB_FUZZ_CHECK(core::code_of(m.error()) == core::sb_error::malformed);
  }

  if (auto s = core::decode_status_update(payload)) {
    auto e = core::make_inbox_entry(*s, shards);
    SB_FUZZ_CHECK(
        core::has_nul(e)
        == any_nul({&s->provider, &s->external_id, &s->status, &s->error, &s->correlation_id,
                    &s->pricing_model, &s->pricing_category, &s->pricing_type}));
    check_fixpoint(e, [](std::string_view p) {
      auto d = core::decode_status_update(p);
      return d ? core::expected<core::inbox_entry>{core::make_inbox_entry(*d, shards)}
               : core::expected<core::inbox_entry>{d.error()};
    });
  }

  if (auto c = core::decode_chatwoot_inbound(payload)) {
    auto e = core::make_inbox_entry(*c, "key", shards);
    SB_FUZZ_CHECK(core::has_nul(e)
                  == any_nul({&c->event, &c->status, &c->previous_status, &c->delivery_id,
                              &c->content, &c->contact_name, &c->correlation_id}));
    check_fixpoint(e, [](std::string_view p) {
      auto d = core::decode_chatwoot_inbound(p);
      return d ? core::expected<core::inbox_entry>{core::make_inbox_entry(*d, "key", shards)}
               : core::expected<core::inbox_entry>{d.error()};
    });
  }

  if (auto t = core::decode_telegram_inbound(payload)) {
    auto e = core::make_inbox_entry(*t, shards);
    SB_FUZZ_CHECK(core::has_nul(e) == any_nul({&t->from_name, &t->text, &t->correlation_id}));
    check_fixpoint(e, [](std::string_view p) {
      auto d = core::decode_telegram_inbound(p);
      return d ? core::expected<core::inbox_entry>{core::make_inbox_entry(*d, shards)}
               : core::expected<core::inbox_entry>{d.error()};
    });
  }

  // A WhatsApp user key names its business number and BSUID, whatever bytes they hold.
  auto colon = payload.find(':');
  auto business = payload.substr(0, colon == std::string_view::npos ? 0 : colon);
  auto user = colon == std::string_view::npos ? payload : payload.substr(colon + 1);
  if (!user.empty()) {
    auto ref = core::parse_whatsapp_user_key(core::whatsapp_user_key(business, user));
    SB_FUZZ_CHECK(ref && ref->business == business && ref->user_id == user);
  }
  (void)core::parse_whatsapp_user_key(payload);
  SB_FUZZ_CHECK(core::shard_of(payload, shards) < shards && core::shard_of(payload, 0) == 0);
  return 0;
}
