#include "actors/http_client.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <caf/all.hpp>
#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "actors/metrics.hpp"
#include "core/bulkheads.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace switchboard::actors {

using core::sb_error;

namespace {

/// Completion of one transfer, delivered on the curl thread.
using completion = std::function<void(uint64_t, http_reply, caf::error)>;

/// One transfer in flight.
struct transfer {
  uint64_t id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  curl_slist* recipients = nullptr;
  std::string service;
  std::string provider; ///< the bulkhead it spends (core::bulkhead_of the service)
  std::string upload;   ///< SMTP payload
  std::size_t upload_pos = 0;
  http_reply reply;
  std::chrono::steady_clock::time_point queued;  ///< submitted: the total timeout runs from here
  std::chrono::steady_clock::time_point started; ///< handed to libcurl
  int64_t timeout_ms = 0;
};

core::bulkhead_limits limits_of(const http_client_config& cfg) {
  core::bulkhead_limits l;
  l.total = cfg.max_connections;
  l.per_provider = cfg.max_in_flight_per_provider;
  l.overrides = cfg.max_in_flight;
  return l;
}

/// A libcurl multi handle driven by socket_action and epoll on a dedicated thread. Transfers
/// reach libcurl through per-provider bulkheads: at most a provider's budget in flight and
/// max_connections in all, the rest queued per provider here (so libcurl's own pending queue,
/// shared by every host, stays empty and one hung provider cannot hold another's calls back).
class curl_engine {
public:
  curl_engine(http_client_config cfg, std::shared_ptr<metrics> m, completion done)
      : cfg_(cfg), metrics_(std::move(m)), done_(std::move(done)), lanes_(limits_of(cfg_)) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &curl_engine::on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &curl_engine::on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    // The bulkheads keep transfers in flight within max_connections, so this cap only makes
    // libcurl close an idle cached connection before opening one past it (the fd budget).
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                      static_cast<long>(cfg_.max_connections));
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(cfg_.max_connections));
    thread_ = std::thread{[this] { run(); }};
  }

  ~curl_engine() {
    stopping_ = true;
    wake();
    thread_.join();
    for (auto& [easy, t] : transfers_) {
      curl_multi_remove_handle(multi_, easy);
      release(*t);
    }
    for (auto& [id, t] : queued_)
      release(*t);
    curl_multi_cleanup(multi_);
    close(wake_);
    close(epoll_);
  }

  void submit(std::unique_ptr<transfer> t) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      incoming_.push_back(std::move(t));
    }
    wake();
  }

  http_client_config cfg_;

private:
  void wake() {
    uint64_t one = 1;
    auto n = write(wake_, &one, sizeof(one));
    (void)n;
  }

  static int on_socket(CURL*, curl_socket_t fd, int what, void* userp, void*) {
    auto self = static_cast<curl_engine*>(userp);
    epoll_event ev{};
    ev.data.fd = fd;
    if (what == CURL_POLL_REMOVE) {
      epoll_ctl(self->epoll_, EPOLL_CTL_DEL, fd, nullptr);
      return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    if (epoll_ctl(self->epoll_, EPOLL_CTL_MOD, fd, &ev) != 0)
      epoll_ctl(self->epoll_, EPOLL_CTL_ADD, fd, &ev);
    return 0;
  }

  static int on_timer(CURLM*, long timeout_ms, void* userp) {
    auto self = static_cast<curl_engine*>(userp);
    if (timeout_ms < 0)
      self->timer_.reset();
    else
      self->timer_ = std::chrono::steady_clock::now() + std::chrono::milliseconds{timeout_ms};
    return 0;
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* userp) {
    static_cast<transfer*>(userp)->reply.body.append(data, size * n);
    return size * n;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* userp) {
    auto t = static_cast<transfer*>(userp);
    std::string line{data, size * n};
    if (line.rfind("HTTP/", 0) == 0) {
      t->reply.headers.clear(); // a new response (after 100 Continue or a redirect)
      return size * n;
    }
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto value = line.substr(colon + 1);
      auto b = value.find_first_not_of(" \t");
      auto e = value.find_last_not_of(" \t\r\n");
      t->reply.headers.emplace_back(
          std::move(name), b == std::string::npos ? std::string{} : value.substr(b, e - b + 1));
    }
    return size * n;
  }

  static std::size_t on_read(char* buf, std::size_t size, std::size_t n, void* userp) {
    auto t = static_cast<transfer*>(userp);
    auto left = t->upload.size() - t->upload_pos;
    auto len = std::min(left, size * n);
    std::memcpy(buf, t->upload.data() + t->upload_pos, len);
    t->upload_pos += len;
    return len;
  }

  void release(transfer& t) {
    if (t.headers)
      curl_slist_free_all(t.headers);
    if (t.recipients)
      curl_slist_free_all(t.recipients);
    curl_easy_cleanup(t.easy);
  }

  /// Queues a submitted transfer in its provider's bulkhead.
  void admit(std::unique_ptr<transfer> t) {
    t->provider = core::bulkhead_of(t->service);
    t->queued = std::chrono::steady_clock::now();
    lanes_.push(t->provider, t->id, t->queued + std::chrono::milliseconds{t->timeout_ms});
    queued_.emplace(t->id, std::move(t));
    dirty_ = true;
  }

  /// Hands libcurl what the bulkheads let start.
  void pump() {
    for (auto id : lanes_.take_startable()) {
      auto it = queued_.find(id);
      auto t = std::move(it->second);
      queued_.erase(it);
      start(std::move(t));
      dirty_ = true;
    }
  }

  /// Fails the queued transfers whose total timeout ran out before their bulkhead had room.
  void expire_queued(std::chrono::steady_clock::time_point now) {
    for (auto id : lanes_.take_expired(now)) {
      auto it = queued_.find(id);
      auto t = std::move(it->second);
      queued_.erase(it);
      dirty_ = true;
      auto waited = now - t->queued;
      t->reply.elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(waited).count();
      if (metrics_)
        metrics_->provider_call(t->service, "timeout",
                                std::chrono::duration<double>(waited).count());
      auto err = caf::make_error(
          sb_error::timeout, t->service + ": no answer within " + std::to_string(t->timeout_ms)
                                 + " ms (queued: its " + std::to_string(lanes_.budget(t->provider))
                                 + " calls in flight did not end)");
      auto reply = std::move(t->reply);
      release(*t);
      done_(id, std::move(reply), std::move(err));
    }
  }

  /// The bulkhead gauges, when they changed.
  void publish() {
    if (!dirty_ || !metrics_)
      return;
    dirty_ = false;
    for (auto& p : lanes_.providers())
      metrics_->http_bulkhead(p, lanes_.budget(p), lanes_.in_flight(p), lanes_.queued(p));
  }

  void start(std::unique_ptr<transfer> t) {
    t->started = std::chrono::steady_clock::now();
    // What is left of the total timeout after the wait in the bulkhead's queue.
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(t->started - t->queued);
    auto left = std::max<int64_t>(1, t->timeout_ms - waited.count());
    curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(cfg_.connect_timeout.count()));
    curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, static_cast<long>(left));
    curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, &curl_engine::on_body);
    curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(t->easy, CURLOPT_HEADERFUNCTION, &curl_engine::on_header);
    curl_easy_setopt(t->easy, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t.get());
    if (!t->upload.empty()) {
      curl_easy_setopt(t->easy, CURLOPT_READFUNCTION, &curl_engine::on_read);
      curl_easy_setopt(t->easy, CURLOPT_READDATA, t.get());
      curl_easy_setopt(t->easy, CURLOPT_UPLOAD, 1L);
    }
    auto easy = t->easy;
    transfers_.emplace(easy, std::move(t));
    curl_multi_add_handle(multi_, easy);
  }

  void finish(CURL* easy, CURLcode code) {
    auto it = transfers_.find(easy);
    if (it == transfers_.end())
      return;
    auto t = std::move(it->second);
    transfers_.erase(it);
    curl_multi_remove_handle(multi_, easy);
    lanes_.done(t->provider);
    dirty_ = true;
    auto elapsed = std::chrono::steady_clock::now() - t->started;
    t->reply.elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
    double secs = std::chrono::duration<double>(elapsed).count();
    caf::error err;
    std::string outcome;
    if (code == CURLE_OK) {
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &t->reply.status);
      outcome = t->reply.status >= 500 ? "http_5xx" : t->reply.status >= 400 ? "http_4xx" : "ok";
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
      outcome = "timeout";
      err = caf::make_error(sb_error::timeout, t->service + ": no answer within "
                                                   + std::to_string(t->timeout_ms) + " ms");
    } else {
      outcome = "network";
      err = caf::make_error(sb_error::provider_transient,
                            t->service + ": " + std::string{curl_easy_strerror(code)});
    }
    if (metrics_)
      metrics_->provider_call(t->service, outcome, secs);
    auto id = t->id;
    auto reply = std::move(t->reply);
    release(*t);
    done_(id, std::move(reply), std::move(err));
  }

  void drain_messages() {
    int left = 0;
    while (auto msg = curl_multi_info_read(multi_, &left))
      if (msg->msg == CURLMSG_DONE)
        finish(msg->easy_handle, msg->data.result);
  }

  void run() {
    epoll_event events[64];
    int running = 0;
    while (!stopping_) {
      int wait = 1000;
      auto due = timer_;
      if (auto expiry = lanes_.next_deadline(); expiry && (!due || *expiry < *due))
        due = expiry;
      if (due) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            *due - std::chrono::steady_clock::now());
        wait = static_cast<int>(std::clamp<long long>(left.count(), 0, 1000));
      }
      int n = epoll_wait(epoll_, events, 64, wait);
      if (n < 0 && errno != EINTR)
        break;
      for (int i = 0; i < n; ++i) {
        if (events[i].data.fd == wake_) {
          uint64_t v;
          while (read(wake_, &v, sizeof(v)) > 0) {
          }
          std::deque<std::unique_ptr<transfer>> batch;
          {
            std::lock_guard<std::mutex> guard{mtx_};
            batch.swap(incoming_);
          }
          for (auto& t : batch)
            admit(std::move(t));
          continue;
        }
        int flags = 0;
        if (events[i].events & EPOLLIN)
          flags |= CURL_CSELECT_IN;
        if (events[i].events & EPOLLOUT)
          flags |= CURL_CSELECT_OUT;
        if (events[i].events & (EPOLLERR | EPOLLHUP))
          flags |= CURL_CSELECT_ERR;
        curl_multi_socket_action(multi_, events[i].data.fd, flags, &running);
      }
      // libcurl's timer is due whether or not sockets were busy: under steady traffic it must
      // not wait for a quiet moment (new transfers start and timeouts fire from it).
      if (timer_ && std::chrono::steady_clock::now() >= *timer_) {
        timer_.reset();
        curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
      }
      drain_messages();
      expire_queued(std::chrono::steady_clock::now());
      pump();
      publish();
    }
  }

  std::shared_ptr<metrics> metrics_;
  completion done_;
  int epoll_ = -1;
  int wake_ = -1;
  CURLM* multi_ = nullptr;
  std::optional<std::chrono::steady_clock::time_point> timer_;
  std::atomic<bool> stopping_{false};
  std::mutex mtx_;
  std::deque<std::unique_ptr<transfer>> incoming_;
  std::unordered_map<CURL*, std::unique_ptr<transfer>> transfers_;
  core::bulkheads lanes_;
  std::unordered_map<uint64_t, std::unique_ptr<transfer>> queued_; ///< waiting in lanes_
  bool dirty_ = true; ///< the bulkhead gauges changed since published
  std::thread thread_;
};

struct client_state {
  static inline const char* name = "http_client";
  std::unique_ptr<curl_engine> engine;
  std::unordered_map<uint64_t, caf::typed_response_promise<http_reply>> pending;
  uint64_t next_id = 1;
};

using client_ptr = http_client_actor::stateful_pointer<client_state>;

std::unique_ptr<transfer> make_http_transfer(const http_call& call, int64_t default_timeout) {
  auto t = std::make_unique<transfer>();
  t->easy = curl_easy_init();
  t->service = call.service;
  t->timeout_ms = call.timeout_ms > 0 ? call.timeout_ms : default_timeout;
  curl_easy_setopt(t->easy, CURLOPT_URL, call.url.c_str());
  if (call.method == "GET") {
    curl_easy_setopt(t->easy, CURLOPT_HTTPGET, 1L);
  } else {
    if (call.method != "POST")
      curl_easy_setopt(t->easy, CURLOPT_CUSTOMREQUEST, call.method.c_str());
    curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(call.body.size()));
    curl_easy_setopt(t->easy, CURLOPT_COPYPOSTFIELDS, call.body.c_str());
  }
  for (auto& [k, v] : call.headers)
    t->headers = curl_slist_append(t->headers, (k + ": " + v).c_str());
  // No "Expect: 100-continue" round trip before bodies.
  t->headers = curl_slist_append(t->headers, "Expect:");
  curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
  if (!call.basic_auth.empty()) {
    curl_easy_setopt(t->easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(t->easy, CURLOPT_USERPWD, call.basic_auth.c_str());
  }
  return t;
}

std::unique_ptr<transfer> make_mail_transfer(const mail_call& call, int64_t default_timeout) {
  auto t = std::make_unique<transfer>();
  t->easy = curl_easy_init();
  t->service = "smtp";
  t->timeout_ms = call.timeout_ms > 0 ? call.timeout_ms : default_timeout;
  t->upload = call.payload;
  curl_easy_setopt(t->easy, CURLOPT_URL, call.url.c_str());
  curl_easy_setopt(t->easy, CURLOPT_MAIL_FROM, ("<" + call.from + ">").c_str());
  for (auto& rcpt : call.to)
    t->recipients = curl_slist_append(t->recipients, ("<" + rcpt + ">").c_str());
  curl_easy_setopt(t->easy, CURLOPT_MAIL_RCPT, t->recipients);
  if (!call.username.empty()) {
    curl_easy_setopt(t->easy, CURLOPT_USERNAME, call.username.c_str());
    curl_easy_setopt(t->easy, CURLOPT_PASSWORD, call.password.c_str());
  }
  if (call.url.rfind("smtp://", 0) == 0 && !call.username.empty())
    curl_easy_setopt(t->easy, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
  return t;
}

http_client_actor::behavior_type http_client(client_ptr self, http_client_config cfg,
                                             std::shared_ptr<metrics> m) {
  caf::weak_actor_ptr weak = self->ctrl();
  self->state.engine = std::make_unique<curl_engine>(
      cfg, std::move(m), [weak](uint64_t id, http_reply reply, caf::error err) {
        if (auto strong = weak.lock())
          caf::anon_send(caf::actor_cast<http_client_actor>(strong), done_atom::value, id,
                         std::move(reply), std::move(err));
      });
  auto submit = [self](std::unique_ptr<transfer> t) {
    auto rp = self->make_response_promise<http_reply>();
    auto id = self->state.next_id++;
    t->id = id;
    self->state.pending.emplace(id, rp);
    self->state.engine->submit(std::move(t));
    return rp;
  };
  auto default_timeout = static_cast<int64_t>(cfg.total_timeout.count());
  return {
      [=](http_call& call) -> caf::result<http_reply> {
        return submit(make_http_transfer(call, default_timeout));
      },
      [=](mail_call& call) -> caf::result<http_reply> {
        return submit(make_mail_transfer(call, default_timeout));
      },
      [=](done_atom, uint64_t id, http_reply& reply, caf::error& err) {
        auto it = self->state.pending.find(id);
        if (it == self->state.pending.end())
          return;
        if (err)
          it->second.deliver(std::move(err));
        else
          it->second.deliver(std::move(reply));
        self->state.pending.erase(it);
      },
  };
}

} // namespace

http_client_actor spawn_http_client(caf::actor_system& sys, http_client_config cfg,
                                    std::shared_ptr<metrics> m) {
  static std::once_flag curl_init;
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return sys.spawn(http_client, cfg, std::move(m));
}

} // namespace switchboard::actors
