#include "core/bulkheads.hpp"

#include <algorithm>

namespace switchboard::core {

std::string bulkhead_of(std::string_view service) {
  return std::string{service.substr(0, service.find('_'))};
}

bulkheads::bulkheads(bulkhead_limits limits) : limits_(std::move(limits)) {
  limits_.total = std::max<std::size_t>(1, limits_.total);
  for (auto& [provider, n] : limits_.overrides)
    lane_of(provider);
}

std::size_t bulkheads::budget(const std::string& provider) const {
  auto it = limits_.overrides.find(provider);
  auto n = it != limits_.overrides.end() && it->second > 0 ? it->second : limits_.per_provider;
  return std::clamp<std::size_t>(n, 1, limits_.total);
}

bulkheads::lane& bulkheads::lane_of(const std::string& provider) {
  auto it = lanes_.find(provider);
  if (it == lanes_.end()) {
    it = lanes_.emplace(provider, lane{}).first;
    it->second.budget = budget(provider);
  }
  return it->second;
}

void bulkheads::push(const std::string& provider, uint64_t id, clock::time_point deadline) {
  auto& l = lane_of(provider);
  auto pos = l.queue.insert(l.queue.end(), entry{id, deadline});
  deadlines_.emplace(deadline_key{deadline, id}, std::make_pair(&l, pos));
}

std::vector<uint64_t> bulkheads::take_startable() {
  std::vector<uint64_t> out;
  bool progress = true;
  while (progress && total_in_flight_ < limits_.total && !deadlines_.empty()) {
    progress = false;
    // One turn each, starting after the provider served last.
    auto it = lanes_.upper_bound(last_served_);
    for (std::size_t i = 0; i < lanes_.size() && total_in_flight_ < limits_.total; ++i, ++it) {
      if (it == lanes_.end())
        it = lanes_.begin();
      auto& l = it->second;
      if (l.queue.empty() || l.in_flight >= l.budget)
        continue;
      auto e = l.queue.front();
      l.queue.pop_front();
      deadlines_.erase(deadline_key{e.deadline, e.id});
      ++l.in_flight;
      ++total_in_flight_;
      out.push_back(e.id);
      last_served_ = it->first;
      progress = true;
    }
  }
  return out;
}

void bulkheads::done(const std::string& provider) {
  auto it = lanes_.find(provider);
  if (it == lanes_.end() || it->second.in_flight == 0)
    return;
  --it->second.in_flight;
  --total_in_flight_;
}

std::vector<uint64_t> bulkheads::take_expired(clock::time_point now) {
  std::vector<uint64_t> out;
  while (!deadlines_.empty() && deadlines_.begin()->first.first <= now) {
    auto [l, pos] = deadlines_.begin()->second;
    out.push_back(pos->id);
    l->queue.erase(pos);
    deadlines_.erase(deadlines_.begin());
  }
  return out;
}

std::optional<bulkheads::clock::time_point> bulkheads::next_deadline() const {
  if (deadlines_.empty())
    return std::nullopt;
  return deadlines_.begin()->first.first;
}

std::size_t bulkheads::in_flight(const std::string& provider) const {
  auto it = lanes_.find(provider);
  return it == lanes_.end() ? 0 : it->second.in_flight;
}

std::size_t bulkheads::queued(const std::string& provider) const {
  auto it = lanes_.find(provider);
  return it == lanes_.end() ? 0 : it->second.queue.size();
}

std::vector<std::string> bulkheads::providers() const {
  std::vector<std::string> out;
  for (auto& [name, l] : lanes_)
    out.push_back(name);
  return out;
}

} // namespace switchboard::core
