#pragma once

// Reading /metrics (Prometheus text) in tests and benchmarks.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::test {

/// Sum of the samples of metric `name` in Prometheus text whose labels include every pair of
/// `labels` (all samples when empty); nullopt when no sample matches.
std::optional<double> metric_value(std::string_view prometheus_text, std::string_view name,
                                   const std::vector<std::pair<std::string, std::string>>& labels
                                   = {});

} // namespace switchboard::test
