#include <catch2/catch.hpp>

#include <dirent.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "http/console_static.hpp"

using namespace switchboard;

namespace {

const std::string console_dir = std::string{SB_SOURCE_DIR} + "/http/console";

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::set<std::string> files_on_disk() {
  std::set<std::string> out;
  if (auto* d = ::opendir(console_dir.c_str())) {
    while (auto* e = ::readdir(d))
      if (e->d_name[0] != '.')
        out.insert(e->d_name);
    ::closedir(d);
  }
  return out;
}

/// Dispatches one request through the routes the admin listener registers; the response.
http::response get(const std::string& path, http::header_list headers = {}) {
  http::route_table routes;
  http::add_console_static_routes(routes);
  http::request req;
  req.method = "GET";
  req.path = path;
  req.target = path;
  req.headers = std::move(headers);
  http::response out;
  bool answered = false;
  routes.make_handler()(std::move(req), [&](http::response r) {
    out = std::move(r);
    answered = true;
  });
  REQUIRE(answered);
  return out;
}

http::header_list with(std::string name, std::string value) {
  http::header_list h;
  h.add(std::move(name), std::move(value));
  return h;
}

} // namespace

TEST_CASE("every file of http/console is embedded byte for byte, with its content type and its "
          "own ETag",
          "[console]") {
  auto disk = files_on_disk();
  REQUIRE(disk.count("index.html") == 1);
  REQUIRE(disk.count("app.js") == 1);
  REQUIRE(disk.count("style.css") == 1);
  std::set<std::string> embedded, etags;
  for (const auto& a : http::console_assets()) {
    INFO(a.name);
    embedded.insert(std::string{a.name});
    CHECK(a.body == slurp(console_dir + "/" + std::string{a.name}));
    CHECK(a.etag.size() == 34);
    CHECK(a.etag.front() == '"');
    CHECK(a.etag.back() == '"');
    etags.insert(std::string{a.etag});
  }
  CHECK(embedded == disk);
  CHECK(etags.size() == embedded.size());
  CHECK(http::find_console_asset("index.html")->content_type == "text/html; charset=utf-8");
  CHECK(http::find_console_asset("app.js")->content_type == "text/javascript; charset=utf-8");
  CHECK(http::find_console_asset("style.css")->content_type == "text/css; charset=utf-8");
  CHECK(http::find_console_asset("favicon.svg")->content_type == "image/svg+xml");
  CHECK(http::find_console_asset("nope.js") == nullptr);
}

TEST_CASE("GET /console/ serves the page with a strict CSP, nosniff and an ETag; a matching "
          "If-None-Match is a 304",
          "[console]") {
  auto page = get("/console/");
  REQUIRE(page.status == 200);
  CHECK(page.content_type == "text/html; charset=utf-8");
  CHECK(page.body == std::string{http::find_console_asset("index.html")->body});
  CHECK(page.route == "console_static");
  auto csp = std::string{page.headers.get("Content-Security-Policy")};
  CHECK(csp.rfind("default-src 'self';", 0) == 0);
  CHECK(csp.find("unsafe-inline") == std::string::npos);
  CHECK(csp.find("unsafe-eval") == std::string::npos);
  CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(page.headers.get("X-Content-Type-Options") == "nosniff");
  CHECK(page.headers.get("Cache-Control") == "no-cache");
  auto etag = std::string{page.headers.get("ETag")};
  CHECK(etag == std::string{http::find_console_asset("index.html")->etag});

  auto js = get("/console/app.js");
  REQUIRE(js.status == 200);
  CHECK(js.content_type == "text/javascript; charset=utf-8");
  CHECK(js.headers.get("ETag") != etag);
  CHECK(js.headers.get("X-Content-Type-Options") == "nosniff");

  auto again = get("/console/", with("If-None-Match", etag));
  CHECK(again.status == 304);
  CHECK(again.body.empty());
  CHECK(again.headers.get("ETag") == etag);
  CHECK(again.headers.has("Content-Security-Policy"));
  CHECK(get("/console/index.html", with("If-None-Match", "\"x\", W/" + etag)).status == 304);
  CHECK(get("/console/", with("If-None-Match", "*")).status == 304);
  CHECK(get("/console/", with("If-None-Match", "\"stale\"")).status == 200);
  CHECK(get("/console/app.js", with("If-None-Match", etag)).status == 200);
}

TEST_CASE("/console redirects to /console/; an unknown console file is a 404", "[console]") {
  auto bare = get("/console");
  CHECK(bare.status == 301);
  CHECK(bare.headers.get("Location") == "/console/");
  auto missing = get("/console/secrets.txt");
  CHECK(missing.status == 404);
  CHECK(missing.body.find("not_found") != std::string::npos);
  CHECK(get("/console/../app.js").status == 404);
}

TEST_CASE("the console's page has no inline script or style (the CSP forbids them) and its "
          "script never writes markup",
          "[console]") {
  auto html = slurp(console_dir + "/index.html");
  // Every <script> loads a file; no style attribute, <style> block or on* handler attribute.
  std::regex script_tag{R"(<script\b([^>]*)>)", std::regex::icase};
  int scripts = 0;
  for (std::sregex_iterator it{html.begin(), html.end(), script_tag}, end; it != end; ++it) {
    ++scripts;
    CHECK((*it)[1].str().find("src=") != std::string::npos);
  }
  CHECK(scripts == 1);
  CHECK_FALSE(
      std::regex_search(html, std::regex{R"(<style\b|\sstyle=|\son[a-z]+=)", std::regex::icase}));
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);

  // Data reaches the DOM as text only: none of the APIs that parse a string as markup or code.
  auto js = slurp(console_dir + "/app.js");
  for (auto banned : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                      "new Function", "setAttribute('style'", "srcdoc"}) {
    INFO(banned);
    CHECK(js.find(banned) == std::string::npos);
  }
  CHECK(js.find("textContent") != std::string::npos);
  CHECK(js.find("createTextNode") != std::string::npos);
  CHECK(js.find("Authorization: 'Bearer ' + token()") != std::string::npos);
  CHECK(js.find("sessionStorage") != std::string::npos);
  CHECK(js.find("localStorage") == std::string::npos);
}
