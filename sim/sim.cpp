#include "sim/sim.hpp"

#include "core/log.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <curl/curl.h>

#include "core/form.hpp"
#include "sim/provider.hpp"
#include "sim/sim_impl.hpp"

namespace switchboard::sim {

namespace net = boost::asio;

namespace {

std::size_t curl_write(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

int curl_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::atomic<bool>*>(user)->load() ? 1 : 0;
}

} // namespace

std::string upper(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view text) {
  auto b = text.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos)
    return {};
  auto e = text.find_last_not_of(" \t\r\n");
  return std::string{text.substr(b, e - b + 1)};
}

std::string now_iso8601() {
  return core::iso8601_utc(std::chrono::system_clock::now());
}

int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

http::response json_response(int status, const json& body) {
  return http::response::make(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

const std::vector<std::string>& known_services() {
  static const std::vector<std::string> services{"whatsapp", "twilio", "mtn", "telegram",
                                                 "chatwoot", "openai", "smtp"};
  return services;
}

/// Webhook jobs waiting beyond this are dropped (a server that does not keep up must not make the
/// simulator grow without bound).
constexpr std::size_t max_queued_deliveries = 100000;

void sim_core::impl::release_held() {
  std::vector<http::responder> held_now;
  {
    std::lock_guard<std::mutex> guard{hold_mtx};
    held_now.swap(held);
  }
  for (auto& r : held_now)
    r(http::response::error(503, "released", "the simulator released a hung request"));
}

outbound_result sim_core::impl::perform(CURL* h, const outbound& req) {
  outbound_result res;
  res.id = ++delivery_ids;
  curl_easy_reset(h);
  curl_slist* headers = nullptr;
  for (auto& [k, v] : req.headers)
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "switchboard-sim");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, curl_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &res.body);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, curl_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &stopping);
  auto t0 = std::chrono::steady_clock::now();
  auto rc = curl_easy_perform(h);
  res.duration_ms
      = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (rc == CURLE_OK)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res.status);
  else
    res.error = curl_easy_strerror(rc);
  curl_slist_free_all(headers);
  return res;
}

void sim_core::impl::worker_loop(sim_core& sim) {
  CURL* h = curl_easy_init();
  for (;;) {
    delivery_job job;
    {
      std::unique_lock<std::mutex> lock{job_mtx};
      job_cv.wait(lock, [this] { return stopping || !jobs.empty(); });
      if (stopping)
        break;
      job = std::move(jobs.front());
      jobs.pop_front();
    }
    std::vector<outbound_result> results;
    for (auto& req : job.reqs) {
      auto res = perform(h, req);
      json headers = json::object();
      for (auto& [k, v] : req.headers)
        headers[k] = v;
      json entry = {{"id", res.id},         {"service", req.service},        {"kind", req.kind},
                    {"url", req.url},       {"headers", std::move(headers)}, {"body", req.body},
                    {"status", res.status}, {"response_body", res.body},     {"error", res.error},
                    {"at", now_iso8601()},  {"duration_ms", res.duration_ms}};
      if (sim.opts().verbose || !res.error.empty())
        std::fprintf(stderr, "switchboard-sim: delivery %s %s -> %ld %s\n", req.kind.c_str(),
                     req.url.c_str(), res.status, res.error.c_str());
      {
        std::lock_guard<std::mutex> guard{rec_mtx};
        deliveries.push_back(std::move(entry));
        while (deliveries.size() > sim.opts().max_records)
          deliveries.pop_front();
      }
      results.push_back(std::move(res));
    }
    if (job.done) {
      try {
        job.done(std::move(results));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "switchboard-sim: delivery callback failed: %s\n", e.what());
      }
    }
  }
  curl_easy_cleanup(h);
}

sim_core::sim_core(options opts)
    : opts_(std::move(opts)), server_url_(opts_.server_url), public_url_(opts_.public_url),
      impl_(std::make_unique<impl>()) {
  reset_provider_state(state, opts_);
}

std::string sim_core::server_url() const {
  std::lock_guard<std::mutex> guard{url_mtx_};
  return server_url_;
}

std::string sim_core::public_url() const {
  std::lock_guard<std::mutex> guard{url_mtx_};
  return public_url_;
}

sim_core::~sim_core() {
  stop();
}

void sim_core::start() {
  http::server_options so;
  so.address = opts_.http_address;
  so.port = opts_.http_port;
  so.threads = opts_.http_threads;
  so.default_body_limit = 8 * 1024 * 1024;
  // A loopback test double: as many connections as the open-file limit allows.
  auto files = http::raise_fd_limit();
  so.max_connections = files > 64 ? std::min<std::size_t>(files - 32, 65536) : 32;
  // "hang" faults must outlive any client timeout; the server's own 503 would end them early.
  so.handler_timeout = std::chrono::hours{24};
  so.idle_timeout = std::chrono::milliseconds{120000};
  impl_->server
      = std::make_unique<http::server>(so, [this](http::request&& req, http::responder respond) {
          handle(std::move(req), std::move(respond));
        });
  impl_->server->start();
  impl_->smtp = std::make_unique<smtp_sink>(*this, impl_->aux, opts_.smtp_address, opts_.smtp_port);
  impl_->smtp->start();
  impl_->aux_work.emplace(impl_->aux.get_executor());
  impl_->aux_thread = std::thread{[this] { impl_->aux.run(); }};
  for (int i = 0; i < 2; ++i)
    impl_->workers.emplace_back([this] { impl_->worker_loop(*this); });
  impl_->running = true;
}

void sim_core::stop() {
  if (!impl_ || !impl_->running)
    return;
  impl_->running = false;
  impl_->release_held();
  if (impl_->server)
    impl_->server->stop(std::chrono::milliseconds{2000});
  if (impl_->smtp)
    impl_->smtp->stop();
  impl_->stopping = true;
  impl_->job_cv.notify_all();
  for (auto& t : impl_->workers)
    t.join();
  impl_->workers.clear();
  impl_->aux_work.reset();
  impl_->aux.stop();
  if (impl_->aux_thread.joinable())
    impl_->aux_thread.join();
  impl_->smtp.reset();
  impl_->server.reset();
}

uint16_t sim_core::http_port() const {
  return impl_->server ? impl_->server->port() : 0;
}

uint16_t sim_core::smtp_port() const {
  return impl_->smtp ? impl_->smtp->port() : 0;
}

uint64_t sim_core::next_id() {
  return ++impl_->ids;
}

uint64_t sim_core::record(recorded_request entry) {
  entry.received_at = now_iso8601();
  std::lock_guard<std::mutex> guard{impl_->rec_mtx};
  auto seq = ++impl_->next_seq;
  entry.seq = seq;
  impl_->records.push_back(std::move(entry));
  while (impl_->records.size() > opts_.max_records)
    impl_->records.pop_front();
  return seq;
}

void sim_core::set_record_result(uint64_t seq, int status, std::string_view fault,
                                 std::string_view response) {
  std::lock_guard<std::mutex> guard{impl_->rec_mtx};
  auto& recs = impl_->records;
  if (recs.empty())
    return;
  auto first = recs.front().seq;
  if (seq < first || seq - first >= recs.size())
    return;
  auto& e = recs[seq - first];
  e.status = status;
  e.fault = std::string{fault};
  e.response = std::string{response};
}

fault_decision sim_core::decide_fault(const std::string& service, std::string_view path) {
  fault_decision d;
  std::lock_guard<std::mutex> guard{impl_->fault_mtx};
  auto it = impl_->faults.find(service);
  if (it == impl_->faults.end())
    return d;
  auto& f = it->second;
  if (!f.path_contains.empty() && path.find(f.path_contains) == std::string_view::npos)
    return d;
  d.latency = milliseconds{f.latency_ms};
  ++f.seen;
  bool fail = false;
  if (f.hang) {
    d.what = fault_decision::action::hang;
  } else if (f.hang_next > 0) {
    --f.hang_next;
    d.what = fault_decision::action::hang;
  } else if (f.fail_next > 0) {
    --f.fail_next;
    fail = true;
  } else if (f.error_rate > 0) {
    if (f.seed) {
      fail = std::uniform_real_distribution<double>{0.0, 1.0}(f.rng) < f.error_rate;
    } else {
      // Deterministic: request n fails when floor(n * rate) steps up, so a rate of 0.25 fails
      // exactly every 4th request.
      auto now = std::floor(static_cast<double>(f.seen) * f.error_rate + 1e-9);
      auto before = std::floor(static_cast<double>(f.seen - 1) * f.error_rate + 1e-9);
      fail = now > before;
    }
  }
  if (fail) {
    d.what = fault_decision::action::error;
    d.status = f.error_status;
    d.retry_after = f.retry_after;
  }
  return d;
}

void sim_core::run_after(milliseconds delay, std::function<void()> fn) {
  if (delay.count() <= 0) {
    net::post(impl_->aux, std::move(fn));
    return;
  }
  auto timer = std::make_shared<net::steady_timer>(impl_->aux, delay);
  timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec)
      fn();
  });
}

void sim_core::deliver(std::vector<outbound> reqs,
                       std::function<void(std::vector<outbound_result>)> done) {
  bool queued = false;
  {
    std::lock_guard<std::mutex> guard{impl_->job_mtx};
    if (impl_->jobs.size() < max_queued_deliveries) {
      impl_->jobs.push_back(delivery_job{std::move(reqs), done});
      queued = true;
    }
  }
  if (queued) {
    impl_->job_cv.notify_one();
    return;
  }
  std::fprintf(stderr, "switchboard-sim: delivery queue full, dropping %zu webhook(s)\n",
               reqs.size());
  if (done) {
    std::vector<outbound_result> results(reqs.size());
    for (auto& r : results)
      r.error = "delivery queue full";
    done(std::move(results));
  }
}

void sim_core::hold(http::responder r) {
  std::lock_guard<std::mutex> guard{impl_->hold_mtx};
  impl_->held.push_back(std::move(r));
}

void sim_core::handle(http::request&& req, http::responder respond) {
  if (req.path == "/_sim" || starts_with(req.path, "/_sim/")) {
    try {
      handle_control(std::move(req), respond);
    } catch (const std::exception& e) {
      respond(http::response::error(500, "internal", e.what()));
    }
    return;
  }
  auto service = service_for_path(req.path);
  recorded_request rec;
  rec.service = service.empty() ? "unknown" : service;
  rec.method = req.method;
  rec.path = req.path;
  rec.query = req.query;
  rec.headers = req.headers.items;
  rec.body = req.body;
  rec.remote = req.remote;
  auto seq = record(std::move(rec));
  if (service.empty()) {
    auto res = http::response::error(404, "not_found", "no simulated provider at this path");
    set_record_result(seq, res.status, "", res.body);
    respond(std::move(res));
    return;
  }
  auto decision = decide_fault(service, req.path);
  if (opts_.verbose)
    std::fprintf(stderr, "switchboard-sim: %s %s %s\n", service.c_str(), req.method.c_str(),
                 req.path.c_str());
  if (decision.what == fault_decision::action::hang) {
    set_record_result(seq, 0, "hang");
    hold(std::move(respond));
    return;
  }
  handled h;
  std::string fault;
  if (decision.what == fault_decision::action::error) {
    h.res = provider_error(service, decision.status, decision.retry_after, req);
    fault = "error";
  } else {
    try {
      h = handle_provider(*this, service, req);
    } catch (const std::exception& e) {
      h = handled{};
      h.res = http::response::error(500, "internal", e.what());
    }
  }
  if (fault.empty() && decision.latency.count() > 0)
    fault = "latency";
  h.res.route = service;
  set_record_result(seq, h.res.status, fault, h.res.body);
  auto finish = [this, respond, h]() mutable {
    respond(std::move(h.res));
    if (!h.after.empty()) {
      auto after = std::move(h.after);
      run_after(h.after_delay, [this, after]() mutable { deliver(std::move(after)); });
    }
  };
  if (decision.latency.count() > 0)
    run_after(decision.latency, std::move(finish));
  else
    finish();
}

} // namespace switchboard::sim
