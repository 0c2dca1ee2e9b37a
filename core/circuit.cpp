#include "core/circuit.hpp"

#include <algorithm>

namespace switchboard::core {

const char* to_string(circuit_state s) {
  switch (s) {
  case circuit_state::closed:
    return "closed";
  case circuit_state::half_open:
    return "half_open";
  case circuit_state::open:
    return "open";
  }
  return "closed";
}

call_outcome provider_call_outcome(int http_status) {
  return http_status <= 0 || http_status >= 500 || http_status == 408 || http_status == 429
             ? call_outcome::failure
             : call_outcome::success;
}

std::chrono::milliseconds circuit_breaker::open_for(time_point now) const {
  if (state_ != circuit_state::open || now >= open_until_)
    return std::chrono::milliseconds{0};
  return std::chrono::ceil<std::chrono::milliseconds>(open_until_ - now);
}

circuit_breaker::circuit_breaker(circuit_settings settings) : settings_(settings) {
  settings_.failure_threshold = std::max(settings_.failure_threshold, 1);
  settings_.cooldown = std::max(settings_.cooldown, std::chrono::milliseconds{1});
  settings_.max_cooldown = std::max(settings_.max_cooldown, settings_.cooldown);
}

void circuit_breaker::advance(time_point now) {
  if (state_ == circuit_state::open && now >= open_until_) {
    state_ = circuit_state::half_open;
    probing_ = false;
    ++generation_;
  }
}

circuit_state circuit_breaker::state(time_point now) const {
  if (state_ == circuit_state::open && now >= open_until_)
    return circuit_state::half_open;
  return state_;
}

bool circuit_breaker::would_allow(time_point now) const {
  switch (state(now)) {
  case circuit_state::closed:
    return true;
  case circuit_state::half_open:
    return state_ == circuit_state::open || !probing_;
  case circuit_state::open:
    return false;
  }
  return true;
}

circuit_permit circuit_breaker::acquire(time_point now) {
  advance(now);
  circuit_permit p;
  p.generation = generation_;
  switch (state_) {
  case circuit_state::closed:
    p.allowed = true;
    break;
  case circuit_state::half_open:
    if (!probing_) {
      probing_ = true;
      p.allowed = true;
      p.probe = true;
    } else {
      // The probe's answer decides; try again shortly.
      p.wait = std::min(settings_.cooldown, std::chrono::milliseconds{1000});
    }
    break;
  case circuit_state::open:
    p.wait = open_for(now);
    break;
  }
  return p;
}

void circuit_breaker::open(time_point now) {
  state_ = circuit_state::open;
  open_until_ = now + cooldown_;
  probing_ = false;
  failures_ = 0;
  ++generation_;
  ++opens_;
}

void circuit_breaker::record(const circuit_permit& permit, call_outcome outcome, time_point now) {
  if (!permit.allowed || permit.generation != generation_)
    return; // let through before the last change: says nothing about the provider now
  switch (state_) {
  case circuit_state::closed:
    if (outcome == call_outcome::success) {
      failures_ = 0;
    } else if (outcome == call_outcome::failure && ++failures_ >= settings_.failure_threshold) {
      cooldown_ = settings_.cooldown;
      open(now);
    }
    break;
  case circuit_state::half_open:
    if (!permit.probe)
      break;
    if (outcome == call_outcome::success) {
      state_ = circuit_state::closed;
      failures_ = 0;
      probing_ = false;
      ++generation_;
    } else if (outcome == call_outcome::failure) {
      cooldown_ = std::min(cooldown_ * 2, settings_.max_cooldown);
      open(now);
    } else {
      probing_ = false; // the probe was not sent: the next call is the probe
    }
    break;
  case circuit_state::open:
    break;
  }
}

} // namespace switchboard::core
