// The configuration's key table: every key's path, kind, member of `settings`, bounds and one-line
// meaning (config/keys.cpp). Private to config/: the loader, the validator and the example
// config all read it.
#pragma once

#include <vector>

#include "config/settings.hpp"

namespace switchboard::config::keys {

enum class kind {
  text,
  secret,
  path,
  boolean,
  u16,
  size,
  integer,
  real,
  ms,
  sec,
  text_list,
  ms_list
};

/// Inclusive bounds of a numeric key; lo > hi: none.
struct bounds {
  double lo;
  double hi;
};
constexpr bounds none{1, 0};

/// One configuration key bound to a member of `settings`.
struct field {
  const char* path;
  kind k;
  void* target;
  bounds range;
  const char* doc; ///< one line for the example config
};

/// A section's header comment in the example config.
struct section_doc {
  const char* name;
  const char* doc;
};

/// The example config's section header comments.
const std::vector<section_doc>& section_docs();

bool is_secret(const field& f);
bool is_text(kind k);

/// The key table, bound to the members of `s`.
std::vector<field> fields_of(settings& s);

} // namespace switchboard::config::keys
