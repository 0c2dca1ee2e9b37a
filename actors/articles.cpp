#include "core/bot/bot.hpp"
#include "core/json_fields.hpp"
#include <unordered_map>

#include "actors/common.hpp"
#include "providers/chatwoot/client.hpp"
#include "providers/chatwoot/codec.hpp"

namespace switchboard::actors {

using core::sb_error;

namespace {

/// Chatwoot's article list is paginated by 25.
constexpr std::size_t page_size = 25;
/// A bound on pages per refresh (10 000 articles).
constexpr int64_t max_pages = 400;

struct cache_entry {
  article_set_ptr set;
  std::chrono::steady_clock::time_point fetched_at;
  bool refreshing = false;
  std::vector<caf::typed_response_promise<article_set_ptr>> waiters;
};

struct articles_state {
  static inline const char* name = "articles";
  config::chatwoot_settings cfg;
  patient_http_actor patient;
  std::unordered_map<std::string, cache_entry> cache;
};

using articles_ptr = articles_actor::stateful_pointer<articles_state>;

/// Builds a portal's index on its own thread and reports it to the cache.
void build_index(caf::event_based_actor* self, std::string key,
                 std::shared_ptr<std::vector<core::help_article>> articles, articles_actor cache) {
  auto set = std::make_shared<article_set>();
  set->articles = std::move(*articles);
  set->index = core::help_center_index(set->articles);
  self->send(cache, done_atom::value, std::move(key), article_set_ptr{set}, caf::error{});
  self->quit();
}

/// Fetches one page, then the next, accumulating; reports the whole set to the cache.
void fetch_page(articles_ptr self, std::string key, int64_t account, std::string slug, int64_t page,
                std::shared_ptr<std::vector<core::help_article>> acc) {
  auto& cfg = self->state.cfg;
  auto call = providers::chatwoot_articles_call(cfg, account, slug, page);
  auto fail = [self, key](caf::error e) {
    self->send(self, done_atom::value, key, article_set_ptr{}, std::move(e));
  };
  self->request(self->state.patient, std::chrono::minutes{10}, std::move(call))
      .then(
          [=](http_reply& r) {
            if (r.status != 200) {
              auto refusal
                  = providers::help_center_refusal(r.status, !self->state.cfg.user_token.empty());
              if (!refusal.empty())
                fail(caf::make_error(sb_error::provider_rejected, std::move(refusal)));
              else
                fail(caf::make_error(sb_error::provider_transient,
                                     "Help Center articles: HTTP " + std::to_string(r.status)));
              return;
            }
            auto items = providers::parse_chatwoot_articles(r.body);
            if (!items) {
              fail(items.error());
              return;
            }
            auto raw = core::parse_untrusted_json(r.body);
            std::size_t on_page = 0;
            if (raw.is_object() && raw.contains("payload") && raw["payload"].is_array())
              on_page = raw["payload"].size();
            for (auto& a : *items) {
              a.url = providers::chatwoot_article_url(self->state.cfg.base_url, slug, a.slug);
              acc->push_back(std::move(a));
            }
            if (on_page >= page_size && page < max_pages) {
              fetch_page(self, key, account, slug, page + 1, acc);
              return;
            }
            // Indexing 10 k articles takes about a second of CPU: off the scheduler's threads.
            self->spawn<caf::detached>(build_index, key, acc,
                                       caf::actor_cast<articles_actor>(self));
          },
          [fail](caf::error& e) { fail(e); });
}

void refresh(articles_ptr self, const std::string& key, int64_t account, const std::string& slug) {
  auto& entry = self->state.cache[key];
  if (entry.refreshing)
    return;
  entry.refreshing = true;
  fetch_page(self, key, account, slug, 1, std::make_shared<std::vector<core::help_article>>());
}

articles_actor::behavior_type articles_fn(articles_ptr self, config::chatwoot_settings cfg,
                                          patient_http_actor patient) {
  self->state.cfg = std::move(cfg);
  self->state.patient = std::move(patient);
  return {
      [=](get_atom, int64_t account, std::string& slug) -> caf::result<article_set_ptr> {
        auto key = std::to_string(account) + "/" + slug;
        auto& entry = self->state.cache[key];
        auto ttl = self->state.cfg.article_cache_ttl;
        if (entry.set) {
          // Served stale while a refresh runs.
          if (std::chrono::steady_clock::now() - entry.fetched_at >= ttl)
            refresh(self, key, account, slug);
          return entry.set;
        }
        auto rp = self->make_response_promise<article_set_ptr>();
        entry.waiters.push_back(rp);
        refresh(self, key, account, slug);
        return rp;
      },
      [=](done_atom, const std::string& key, article_set_ptr& set, caf::error& err) {
        auto& entry = self->state.cache[key];
        entry.refreshing = false;
        if (set) {
          entry.set = set;
          entry.fetched_at = std::chrono::steady_clock::now();
          core::log(core::log_level::info, "Help Center articles loaded",
                    {{"portal", key}, {"articles", set->articles.size()}});
        } else if (core::code_of(err) == sb_error::provider_rejected) {
          core::log(core::log_level::error,
                    "Help Center unreadable: Chatwoot refused the article read; questions are "
                    "handed to a human",
                    {{"portal", key}, {"error", core::reason_of(err)}});
        } else {
          core::log(core::log_level::warn, "Help Center articles not loaded",
                    {{"portal", key}, {"error", core::reason_of(err)}});
        }
        auto waiters = std::move(entry.waiters);
        entry.waiters.clear();
        for (auto& w : waiters) {
          if (entry.set)
            w.deliver(entry.set);
          else
            w.deliver(err);
        }
      },
  };
}

} // namespace

articles_actor spawn_articles(caf::actor_system& sys, config::chatwoot_settings cfg,
                              patient_http_actor patient) {
  return sys.spawn(articles_fn, std::move(cfg), std::move(patient));
}

} // namespace switchboard::actors
