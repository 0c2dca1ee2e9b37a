#include "actors/common.hpp"
#include "core/openai.hpp"

namespace switchboard::actors {

namespace {

struct llm_state {
  static inline const char* name = "llm";
  std::shared_ptr<services> svc;
};

using llm_ptr = llm_actor::stateful_pointer<llm_state>;

llm_actor::behavior_type llm_fn(llm_ptr self, std::shared_ptr<services> svc) {
  self->state.svc = std::move(svc);
  return {
      [=](llm_call& c) -> caf::result<std::string> {
        auto& cfg = self->state.svc->cfg.llm;
        http_call call;
        call.service = "llm";
        call.url = cfg.base_url + "/v1/chat/completions";
        call.headers
            = {{"Authorization", "Bearer " + cfg.api_key}, {"Content-Type", "application/json"}};
        call.body = std::move(c.body);
        call.timeout_ms = cfg.timeout.count();
        call.correlation_id = c.correlation_id;
        auto rp = self->make_response_promise<std::string>();
        self->request(self->state.svc->http, cfg.timeout + std::chrono::seconds{1}, std::move(call))
            .then(
                [rp](http_reply& r) mutable {
                  if (r.status >= 200 && r.status < 300)
                    rp.deliver(std::move(r.body));
                  else
                    rp.deliver(core::llm_error(static_cast<int>(r.status), r.body));
                },
                [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
  };
}

} // namespace

llm_actor spawn_llm(caf::actor_system& sys, std::shared_ptr<services> svc) {
  return sys.spawn(llm_fn, std::move(svc));
}

} // namespace switchboard::actors
