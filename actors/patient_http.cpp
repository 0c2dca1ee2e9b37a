#include "actors/common.hpp"

namespace switchboard::actors {

using core::sb_error;
using std::chrono::milliseconds;

core::backoff_policy retry_policy(const config::retry_settings& cfg) {
  core::backoff_policy p;
  p.base = cfg.base;
  p.max_delay = cfg.max_delay;
  p.horizon = std::chrono::duration_cast<milliseconds>(cfg.horizon);
  p.max_attempts = cfg.max_attempts;
  return p;
}

core::outbox_schedule outbox_schedule_of(const config::retry_settings& cfg) {
  core::outbox_schedule s;
  s.delays = cfg.schedule;
  s.summary_horizon = std::chrono::duration_cast<milliseconds>(cfg.summary_horizon);
  s.reply_horizon = std::chrono::duration_cast<milliseconds>(cfg.reply_horizon);
  s.default_horizon = std::chrono::duration_cast<milliseconds>(cfg.outbox_horizon);
  return s;
}

namespace {

struct patient_state {
  static inline const char* name = "patient_http";
  core::backoff_policy policy;
  http_client_actor http;
  std::shared_ptr<metrics> stats;
};

using patient_ptr = patient_http_actor::stateful_pointer<patient_state>;

/// One attempt of `call`; transient failures are retried with backoff until the policy gives up,
/// then the last answer (or error) is delivered.
void attempt(patient_ptr self, http_call call, caf::typed_response_promise<http_reply> rp,
             int attempts, std::chrono::steady_clock::time_point started) {
  auto retry_or = [=](std::optional<milliseconds> retry_after, auto give_up) mutable {
    auto& st = self->state;
    auto elapsed
        = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
    auto delay
        = core::next_retry_delay(st.policy, attempts, elapsed, retry_after, core::default_jitter());
    if (!delay) {
      give_up();
      return;
    }
    st.stats->provider_retry(call.service);
    self->delayed_send(self, *delay, retry_atom::value,
                       deferred_step{[=] { attempt(self, call, rp, attempts + 1, started); }});
  };
  self->request(self->state.http, std::chrono::minutes{5}, call)
      .then(
          [=](http_reply& r) mutable {
            if (!core::is_transient_http_status(static_cast<int>(r.status))) {
              rp.deliver(std::move(r));
              return;
            }
            std::optional<milliseconds> retry_after;
            if (auto ra = core::parse_retry_after(r.header("retry-after"),
                                                  std::chrono::system_clock::now()))
              retry_after = std::chrono::duration_cast<milliseconds>(*ra);
            retry_or(retry_after, [rp, r]() mutable { rp.deliver(r); });
          },
          [=](caf::error& e) mutable {
            retry_or(std::nullopt, [rp, e]() mutable { rp.deliver(e); });
          });
}

patient_http_actor::behavior_type patient_fn(patient_ptr self, config::retry_settings retry,
                                             http_client_actor http,
                                             std::shared_ptr<metrics> stats) {
  self->state.policy = retry_policy(retry);
  self->state.http = std::move(http);
  self->state.stats = std::move(stats);
  return {
      [=](http_call& call) -> caf::result<http_reply> {
        auto rp = self->make_response_promise<http_reply>();
        attempt(self, std::move(call), rp, 1, std::chrono::steady_clock::now());
        return rp;
      },
      [=](retry_atom, deferred_step& step) { step(); },
  };
}

} // namespace

patient_http_actor spawn_patient_http(caf::actor_system& sys, config::retry_settings retry,
                                      http_client_actor http, std::shared_ptr<metrics> stats) {
  return sys.spawn(patient_fn, std::move(retry), std::move(http), std::move(stats));
}

} // namespace switchboard::actors
