#include <deque>

#include "actors/common.hpp"
#include "providers/openai/client.hpp"
#include "providers/openai/codec.hpp"

namespace switchboard::actors {

namespace {

/// A completion waiting for one of the llm.max_in_flight slots.
struct queued_call {
  llm_call call;
  caf::typed_response_promise<std::string> rp;
};

struct llm_state {
  static inline const char* name = "llm";
  config::llm_settings cfg;
  http_client_actor http;
  std::size_t in_flight = 0;
  std::deque<queued_call> waiting;
};

using llm_ptr = llm_actor::stateful_pointer<llm_state>;

void start(llm_ptr self, llm_call c, caf::typed_response_promise<std::string> rp);

/// A slot ended: the next waiting completion starts.
void next(llm_ptr self) {
  auto& st = self->state;
  --st.in_flight;
  if (!st.waiting.empty()) {
    auto q = std::move(st.waiting.front());
    st.waiting.pop_front();
    start(self, std::move(q.call), std::move(q.rp));
  }
}

void start(llm_ptr self, llm_call c, caf::typed_response_promise<std::string> rp) {
  auto& cfg = self->state.cfg;
  ++self->state.in_flight;
  auto call = providers::llm_completion_call(cfg, std::move(c.body), c.correlation_id);
  self->request(self->state.http, cfg.timeout + std::chrono::seconds{1}, std::move(call))
      .then(
          [self, rp](http_reply& r) mutable {
            if (r.status >= 200 && r.status < 300)
              rp.deliver(std::move(r.body));
            else
              rp.deliver(providers::llm_error(static_cast<int>(r.status), r.body));
            next(self);
          },
          [self, rp](caf::error& e) mutable {
            rp.deliver(std::move(e));
            next(self);
          });
}

llm_actor::behavior_type llm_fn(llm_ptr self, config::llm_settings cfg, http_client_actor http) {
  self->state.cfg = std::move(cfg);
  self->state.http = std::move(http);
  return {
      [=](llm_call& c) -> caf::result<std::string> {
        auto rp = self->make_response_promise<std::string>();
        auto& st = self->state;
        if (st.in_flight < std::max<std::size_t>(1, st.cfg.max_in_flight))
          start(self, std::move(c), rp);
        else
          st.waiting.push_back(queued_call{std::move(c), rp});
        return rp;
      },
  };
}

} // namespace

llm_actor spawn_llm(caf::actor_system& sys, config::llm_settings cfg, http_client_actor http) {
  return sys.spawn(llm_fn, std::move(cfg), std::move(http));
}

} // namespace switchboard::actors
