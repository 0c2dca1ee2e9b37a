#pragma once

#include <string>
#include <vector>

#include "config/settings.hpp"

namespace switchboard::app {

/// `switchboard provider create --name NAME | rotate-key --id ID | revoke-key --id ID | list`:
/// manages providers and their API keys in the database (migrations must be applied). create and
/// rotate-key print the new key once; list never prints a key. Returns the exit code: 0 done,
/// 1 failed (reason on stderr), 2 bad usage.
int run_provider_command(const config::settings& s, const std::vector<std::string>& args);

/// `switchboard telegram set-webhook --url URL [--allowed-updates a,b]`: registers the webhook
/// with Telegram's setWebhook (telegram.base_url), with telegram.webhook_secret as its secret
/// token, and prints Telegram's answer. The URL must be https://, or http:// when
/// telegram.base_url is a loopback address (the simulator). Exit codes as above.
int run_telegram_command(const config::settings& s, const std::vector<std::string>& args);

/// The usage text of `switchboard provider` / `switchboard telegram`, or of one of their
/// subcommands when `args[0]` names one (`provider list --help`).
std::string provider_help(const std::vector<std::string>& args);
std::string telegram_help(const std::vector<std::string>& args);

/// Whether the arguments ask for help (`--help` or `-h` anywhere, or `help` as the subcommand).
bool wants_help(const std::vector<std::string>& args);

} // namespace switchboard::app
