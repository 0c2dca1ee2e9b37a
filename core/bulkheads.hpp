#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::core {

/// Budgets of the outbound bulkheads: calls in flight per provider, and all providers together.
struct bulkhead_limits {
  std::size_t total = 1024;       ///< in flight, all providers together (one connection each)
  std::size_t per_provider = 256; ///< a provider's budget unless overridden
  std::map<std::string, std::size_t> overrides; ///< provider -> its budget (0: per_provider)
};

/// The provider whose budget a call labelled `service` spends: the label up to its first '_'
/// ("mtn_oauth" -> "mtn"), so a provider's token endpoint shares the provider's bulkhead.
std::string bulkhead_of(std::string_view service);

/// Per-provider bulkheads of outbound calls: at most its budget in flight for each provider and
/// `total` for all; calls beyond wait in their own provider's FIFO queue (never a shared one), so
/// a hung provider holds its own budget only. When the total binds, providers with queued calls
/// take turns. A queued call past its deadline is taken out by take_expired. Single-threaded:
/// the HTTP client's thread owns it.
class bulkheads {
public:
  using clock = std::chrono::steady_clock;

  explicit bulkheads(bulkhead_limits limits);

  /// Queues call `id` (unique) of `provider`; it must start by `deadline` or expire.
  void push(const std::string& provider, uint64_t id, clock::time_point deadline);
  /// The queued calls that may start now, in start order; each is in flight until done().
  std::vector<uint64_t> take_startable();
  /// A call of `provider` that was in flight ended.
  void done(const std::string& provider);
  /// The queued calls whose deadline is at or before `now`, removed from their queues.
  std::vector<uint64_t> take_expired(clock::time_point now);
  /// The earliest deadline of a queued call, if any is queued.
  std::optional<clock::time_point> next_deadline() const;

  /// A provider's budget (its override, else per_provider; at most total, at least 1).
  std::size_t budget(const std::string& provider) const;
  std::size_t in_flight(const std::string& provider) const;
  std::size_t queued(const std::string& provider) const;
  std::size_t total_in_flight() const { return total_in_flight_; }
  /// Every provider configured or seen so far, in name order.
  std::vector<std::string> providers() const;

private:
  struct entry {
    uint64_t id;
    clock::time_point deadline;
  };
  struct lane {
    std::size_t budget = 1;
    std::size_t in_flight = 0;
    std::list<entry> queue;
  };
  using deadline_key = std::pair<clock::time_point, uint64_t>;

  lane& lane_of(const std::string& provider);

  bulkhead_limits limits_;
  std::map<std::string, lane> lanes_;
  /// Every queued call by deadline: its lane and place in the lane's queue.
  std::map<deadline_key, std::pair<lane*, std::list<entry>::iterator>> deadlines_;
  std::size_t total_in_flight_ = 0;
  std::string last_served_; ///< round-robin cursor when the total binds
};

} // namespace switchboard::core
