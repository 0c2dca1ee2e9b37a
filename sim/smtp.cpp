#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "core/crypto.hpp"
#include "sim/sim.hpp"

namespace switchboard::sim {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr std::size_t max_line = 64 * 1024;
constexpr std::size_t max_message = 10 * 1024 * 1024;
constexpr std::size_t max_recipients = 1000;

/// The address inside "<...>" of a MAIL FROM / RCPT TO argument (or the bare argument).
std::string path_address(std::string_view arg) {
  auto open = arg.find('<');
  auto close = arg.find('>', open == std::string_view::npos ? 0 : open);
  if (open != std::string_view::npos && close != std::string_view::npos)
    return std::string{arg.substr(open + 1, close - open - 1)};
  auto sp = arg.find(' ');
  return trim(arg.substr(0, sp));
}

/// The header fields of an RFC 5322 message, unfolded, in order.
std::vector<std::pair<std::string, std::string>> message_headers(const std::string& data) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos < data.size()) {
    auto eol = data.find("\r\n", pos);
    if (eol == std::string::npos)
      eol = data.size();
    auto line = std::string_view{data}.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty())
      break;
    if (line[0] == ' ' || line[0] == '\t') {
      if (!out.empty())
        out.back().second += " " + trim(line);
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
      continue;
    out.emplace_back(std::string{line.substr(0, colon)}, trim(line.substr(colon + 1)));
  }
  return out;
}

/// One SMTP client connection; runs on the sink's single-threaded io_context.
class smtp_session : public std::enable_shared_from_this<smtp_session> {
public:
  smtp_session(sim_core& sim, tcp::socket sock)
      : sim_(sim), sock_(std::move(sock)), buf_(max_line) {
    boost::system::error_code ec;
    auto ep = sock_.remote_endpoint(ec);
    if (!ec)
      remote_ = ep.address().to_string();
  }

  void start() { reply("220 localhost ESMTP switchboard-sim"); }

private:
  enum class phase { command, data, auth_plain, auth_login_user, auth_login_pass };

  void read_line() {
    net::async_read_until(sock_, buf_, '\n',
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            if (ec == net::error::not_found) {
                              self->reply("500 5.5.6 Line too long", true);
                              return;
                            }
                            if (ec) {
                              self->close();
                              return;
                            }
                            std::string line(n, '\0');
                            net::buffer_copy(net::buffer(line), self->buf_.data(), n);
                            self->buf_.consume(n);
                            while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
                              line.pop_back();
                            self->on_line(std::move(line));
                          });
  }

  void reply(std::string text, bool close_after = false) {
    auto out = std::make_shared<std::string>(std::move(text) + "\r\n");
    net::async_write(
        sock_, net::buffer(*out),
        [self = shared_from_this(), out, close_after](boost::system::error_code ec, std::size_t) {
          if (ec || close_after) {
            self->close();
            return;
          }
          self->read_line();
        });
  }

  void close() {
    boost::system::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
  }

  void reset_transaction() {
    mail_from_.clear();
    has_mail_ = false;
    rcpt_.clear();
    data_.clear();
    too_big_ = false;
  }

  void on_line(std::string line) {
    switch (phase_) {
    case phase::data:
      on_data_line(line);
      return;
    case phase::auth_plain:
      phase_ = phase::command;
      finish_auth_plain(line);
      return;
    case phase::auth_login_user: {
      if (line == "*") {
        phase_ = phase::command;
        reply("501 5.7.0 Authentication cancelled");
        return;
      }
      auth_user_ = core::base64_decode(trim(line)).value_or(std::string{});
      phase_ = phase::auth_login_pass;
      reply("334 UGFzc3dvcmQ6");
      return;
    }
    case phase::auth_login_pass:
      phase_ = phase::command;
      if (line == "*") {
        auth_user_.clear();
        reply("501 5.7.0 Authentication cancelled");
        return;
      }
      reply("235 2.7.0 Authentication successful");
      return;
    case phase::command:
      break;
    }
    auto sp = line.find(' ');
    auto verb = upper(line.substr(0, sp));
    auto arg = sp == std::string::npos ? std::string{} : trim(line.substr(sp + 1));
    if (verb == "EHLO") {
      helo_ = arg;
      reset_transaction();
      reply("250-localhost Hello " + arg + "\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE "
            + std::to_string(max_message) + "\r\n250-AUTH PLAIN LOGIN\r\n250 SMTPUTF8");
    } else if (verb == "HELO") {
      helo_ = arg;
      reset_transaction();
      reply("250 localhost Hello " + arg);
    } else if (verb == "AUTH") {
      auto asp = arg.find(' ');
      auto mech = upper(arg.substr(0, asp));
      auto initial = asp == std::string::npos ? std::string{} : trim(arg.substr(asp + 1));
      if (mech == "PLAIN") {
        if (initial.empty()) {
          phase_ = phase::auth_plain;
          reply("334 ");
        } else {
          finish_auth_plain(initial);
        }
      } else if (mech == "LOGIN") {
        if (initial.empty()) {
          phase_ = phase::auth_login_user;
          reply("334 VXNlcm5hbWU6");
        } else {
          auth_user_ = core::base64_decode(initial).value_or(std::string{});
          phase_ = phase::auth_login_pass;
          reply("334 UGFzc3dvcmQ6");
        }
      } else {
        reply("504 5.5.4 Unrecognized authentication type");
      }
    } else if (verb == "MAIL") {
      if (helo_.empty())
        reply("503 5.5.1 Error: send HELO/EHLO first");
      else if (has_mail_)
        reply("503 5.5.1 Error: nested MAIL command");
      else if (upper(arg.substr(0, 5)) != "FROM:")
        reply("501 5.5.4 Syntax: MAIL FROM:<address>");
      else {
        mail_from_ = path_address(arg.substr(5));
        has_mail_ = true;
        reply("250 2.1.0 Ok");
      }
    } else if (verb == "RCPT") {
      if (!has_mail_)
        reply("503 5.5.1 Error: need MAIL command");
      else if (upper(arg.substr(0, 3)) != "TO:")
        reply("501 5.5.4 Syntax: RCPT TO:<address>");
      else if (rcpt_.size() >= max_recipients)
        reply("452 4.5.3 Error: too many recipients");
      else {
        rcpt_.push_back(path_address(arg.substr(3)));
        reply("250 2.1.5 Ok");
      }
    } else if (verb == "DATA") {
      if (rcpt_.empty()) {
        reply("503 5.5.1 Error: need RCPT command");
      } else {
        phase_ = phase::data;
        data_.clear();
        too_big_ = false;
        reply("354 End data with <CR><LF>.<CR><LF>");
      }
    } else if (verb == "RSET") {
      reset_transaction();
      reply("250 2.0.0 Ok");
    } else if (verb == "NOOP") {
      reply("250 2.0.0 Ok");
    } else if (verb == "QUIT") {
      reply("221 2.0.0 Bye", true);
    } else if (verb == "VRFY") {
      reply("252 2.0.0 Cannot VRFY user");
    } else if (verb == "HELP") {
      reply("214 2.0.0 See RFC 5321");
    } else if (verb == "STARTTLS") {
      reply("502 5.5.1 STARTTLS is not supported");
    } else {
      reply("500 5.5.2 Error: command not recognized");
    }
  }

  void finish_auth_plain(const std::string& b64) {
    if (trim(b64) == "*") {
      reply("501 5.7.0 Authentication cancelled");
      return;
    }
    auto decoded = core::base64_decode(trim(b64));
    if (!decoded) {
      reply("501 5.5.2 Cannot decode response");
      return;
    }
    // authzid \0 authcid \0 password
    auto first = decoded->find('\0');
    auto second = first == std::string::npos ? std::string::npos : decoded->find('\0', first + 1);
    if (second == std::string::npos) {
      reply("501 5.5.2 Malformed PLAIN response");
      return;
    }
    auth_user_ = decoded->substr(first + 1, second - first - 1);
    reply("235 2.7.0 Authentication successful");
  }

  void on_data_line(std::string& line) {
    if (line == ".") {
      phase_ = phase::command;
      finish_message();
      return;
    }
    if (!line.empty() && line[0] == '.')
      line.erase(0, 1);
    if (data_.size() + line.size() + 2 > max_message)
      too_big_ = true;
    else
      data_ += line + "\r\n";
    read_line();
  }

  void finish_message() {
    if (too_big_) {
      reset_transaction();
      reply("552 5.3.4 Error: message file too big");
      return;
    }
    recorded_request e;
    e.service = "smtp";
    e.method = "DATA";
    e.headers = message_headers(data_);
    e.body = data_;
    e.remote = remote_;
    e.extra = {{"smtp",
                {{"helo", helo_},
                 {"auth_user", auth_user_.empty() ? json(nullptr) : json(auth_user_)},
                 {"mail_from", mail_from_},
                 {"rcpt_to", rcpt_}}}};
    auto seq = sim_.record(std::move(e));
    reset_transaction();
    auto decision = sim_.decide_fault("smtp", "DATA");
    std::string answer;
    std::string fault;
    if (decision.what == fault_decision::action::hang) {
      sim_.set_record_result(seq, 0, "hang");
      // Keep the session open and silent until the client gives up or the fault is released.
      sim_.hold([self = shared_from_this()](http::response) {
        net::post(self->sock_.get_executor(), [self] { self->close(); });
      });
      return;
    }
    int code = 250;
    if (decision.what == fault_decision::action::error) {
      code = decision.status >= 400 && decision.status <= 599 ? decision.status : 451;
      answer = std::to_string(code) + (code >= 500 ? " 5.3.0" : " 4.3.0") + " Simulated failure";
      fault = "error";
    } else {
      answer = "250 2.0.0 Ok: queued as " + std::to_string(sim_.next_id());
      if (decision.latency.count() > 0)
        fault = "latency";
    }
    sim_.set_record_result(seq, code, fault, answer);
    if (decision.latency.count() > 0) {
      sim_.run_after(decision.latency, [self = shared_from_this(), answer] {
        net::post(self->sock_.get_executor(), [self, answer] { self->reply(answer); });
      });
      return;
    }
    reply(answer);
  }

  sim_core& sim_;
  tcp::socket sock_;
  net::streambuf buf_;
  std::string remote_;
  phase phase_ = phase::command;
  std::string helo_;
  std::string auth_user_;
  bool has_mail_ = false;
  std::string mail_from_;
  std::vector<std::string> rcpt_;
  std::string data_;
  bool too_big_ = false;
};

} // namespace

struct smtp_sink::impl : std::enable_shared_from_this<smtp_sink::impl> {
  impl(sim_core& s, net::io_context& i, std::string a, uint16_t p)
      : sim(s), io(i), address(std::move(a)), port(p), acceptor(i) {}

  void do_accept() {
    acceptor.async_accept(
        [self = shared_from_this()](boost::system::error_code ec, tcp::socket sock) {
          if (ec) {
            if (ec == net::error::operation_aborted || !self->acceptor.is_open())
              return;
            self->do_accept();
            return;
          }
          std::make_shared<smtp_session>(self->sim, std::move(sock))->start();
          self->do_accept();
        });
  }

  sim_core& sim;
  net::io_context& io;
  std::string address;
  uint16_t port;
  tcp::acceptor acceptor;
  uint16_t bound = 0;
};

smtp_sink::smtp_sink(sim_core& sim, net::io_context& io, std::string address, uint16_t port)
    : impl_(std::make_shared<impl>(sim, io, std::move(address), port)) {}

smtp_sink::~smtp_sink() {
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

void smtp_sink::start() {
  boost::system::error_code ec;
  auto addr = net::ip::make_address(impl_->address, ec);
  if (ec)
    throw std::runtime_error("invalid SMTP listen address '" + impl_->address + "'");
  tcp::endpoint ep{addr, impl_->port};
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec)
    a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    a.bind(ep, ec);
  if (!ec)
    a.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + impl_->address + ":"
                             + std::to_string(impl_->port) + " (SMTP): " + ec.message());
  impl_->bound = a.local_endpoint().port();
  impl_->do_accept();
}

void smtp_sink::stop() {
  net::post(impl_->io, [self = impl_] {
    boost::system::error_code ec;
    self->acceptor.close(ec);
  });
}

uint16_t smtp_sink::port() const {
  return impl_->bound;
}

} // namespace switchboard::sim
