#pragma once

// The private state of sim_core (listeners, recordings, faults, held requests, the delivery
// workers), shared by sim.cpp and control.cpp only.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <curl/curl.h>

#include "sim/sim.hpp"

namespace switchboard::sim {

/// One queued delivery job: requests sent in order, then `done` with the results.
struct delivery_job {
  std::vector<outbound> reqs;
  std::function<void(std::vector<outbound_result>)> done;
};

struct sim_core::impl {
  std::unique_ptr<http::server> server;
  boost::asio::io_context aux;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> aux_work;
  std::thread aux_thread;
  std::unique_ptr<smtp_sink> smtp;

  std::mutex rec_mtx;
  std::deque<recorded_request> records;
  uint64_t next_seq = 0;
  std::deque<json> deliveries;

  std::mutex fault_mtx;
  std::map<std::string, fault_config> faults;

  std::mutex hold_mtx;
  std::vector<http::responder> held;

  std::mutex job_mtx;
  std::condition_variable job_cv;
  std::deque<delivery_job> jobs;
  std::vector<std::thread> workers;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> delivery_ids{0};

  std::atomic<uint64_t> ids{0};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  bool running = false;

  void worker_loop(sim_core& sim);
  outbound_result perform(CURL* h, const outbound& req);
  void release_held();
};

} // namespace switchboard::sim
