#include <catch2/catch.hpp>

#include <set>

#include <nlohmann/json.hpp>

#include "core/omni/tools.hpp"

using namespace switchboard::core;
using json = nlohmann::json;

namespace {

std::string reason_for(std::string_view tool, const json& args) {
  auto r = validate_tool_arguments(tool, args);
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == sb_error::invalid_argument);
  return reason_of(r.error());
}

const json& parameters_of(std::string_view name) {
  for (const auto& t : tool_definitions())
    if (t["function"]["name"] == name)
      return t["function"]["parameters"];
  static const json none;
  FAIL("no tool " << name);
  return none;
}

/// Minimal valid arguments for each tool, built from its schema's required list.
json valid_args(std::string_view name) {
  json args = json::object();
  const auto& params = parameters_of(name);
  for (const auto& req : params["required"]) {
    auto key = req.get<std::string>();
    if (key == "phone_number")
      args[key] = "+4915112345678";
    else if (key == "status")
      args[key] = "follow_up";
    else if (key == "context")
      args[key] = json{{"order_id", "A17"}, {"remove_me", nullptr}};
    else
      args[key] = "Your order has shipped.";
  }
  return args;
}

} // namespace

TEST_CASE("the seven tools are defined in OpenAI tools format", "[tools]") {
  const std::vector<std::string> expected_names
      = {"messaging_send_dual_channel", "messaging_send_whatsapp", "messaging_send_sms",
         "session_get_or_create",       "session_update_status",   "session_add_context",
         "session_get_context"};
  CHECK(tool_names() == expected_names);
  const auto& defs = tool_definitions();
  REQUIRE(defs.is_array());
  REQUIRE(defs.size() == 7);
  for (const auto& t : defs) {
    INFO(t.dump());
    CHECK(t["type"] == "function");
    const auto& fn = t["function"];
    CHECK(fn.size() == 3);
    CHECK(fn["description"].get<std::string>().size() > 20);
    const auto& p = fn["parameters"];
    CHECK(p["type"] == "object");
    CHECK(p["additionalProperties"] == false);
    REQUIRE(p["properties"].is_object());
    REQUIRE(p["required"].is_array());
    // Every required name is a declared property, and every property has a type.
    for (const auto& r : p["required"])
      CHECK(p["properties"].contains(r.get<std::string>()));
    for (const auto& [key, schema] : p["properties"].items()) {
      INFO(key);
      CHECK(schema.contains("type"));
      CHECK(schema.contains("description"));
    }
    // phone_number is always required and always E.164.
    CHECK(p["properties"]["phone_number"]["pattern"] == "^\\+[1-9][0-9]{7,14}$");
    CHECK(p["required"][0] == "phone_number");
  }
}

TEST_CASE("each tool's required arguments", "[tools]") {
  auto required = [](std::string_view name) {
    std::set<std::string> out;
    for (const auto& r : parameters_of(name)["required"])
      out.insert(r.get<std::string>());
    return out;
  };
  CHECK(required("messaging_send_dual_channel")
        == std::set<std::string>{"phone_number", "message"});
  CHECK(parameters_of("messaging_send_dual_channel")["properties"].contains("sms_message"));
  CHECK(required("messaging_send_whatsapp") == std::set<std::string>{"phone_number", "message"});
  CHECK(required("messaging_send_sms") == std::set<std::string>{"phone_number", "message"});
  CHECK(required("session_get_or_create") == std::set<std::string>{"phone_number"});
  CHECK(required("session_update_status") == std::set<std::string>{"phone_number", "status"});
  CHECK(parameters_of("session_update_status")["properties"]["status"]["enum"]
        == json{"active", "follow_up", "closed"});
  CHECK(required("session_add_context") == std::set<std::string>{"phone_number", "context"});
  CHECK(parameters_of("session_add_context")["properties"]["context"]["type"] == "object");
  CHECK(required("session_get_context") == std::set<std::string>{"phone_number"});
}

TEST_CASE("valid arguments pass for every tool", "[tools]") {
  for (const auto& name : tool_names()) {
    INFO(name);
    auto r = validate_tool_arguments(name, valid_args(name));
    CHECK(r);
    if (!r)
      FAIL(reason_of(r.error()));
  }
  auto dual = valid_args("messaging_send_dual_channel");
  dual["sms_message"] = "Shipped.";
  CHECK(validate_tool_arguments("messaging_send_dual_channel", dual));
}

TEST_CASE("every rule is enforced and the reason names the argument", "[tools]") {
  SECTION("required") {
    for (const auto& name : tool_names()) {
      for (const auto& req : parameters_of(name)["required"]) {
        auto key = req.get<std::string>();
        INFO(name << " without " << key);
        auto args = valid_args(name);
        args.erase(key);
        CHECK(reason_for(name, args) == key + ": is required");
      }
    }
  }
  SECTION("additionalProperties false") {
    for (const auto& name : tool_names()) {
      INFO(name);
      auto args = valid_args(name);
      args["extra"] = 1;
      CHECK(reason_for(name, args) == "extra: is not an allowed argument");
    }
  }
  SECTION("E.164 pattern") {
    for (auto bad : {"4915112345678", "+0915112345678", "+49 151 1234567", "+49151",
                     "+4915112345678901", "+49151123456a", "", "++4915112345678"}) {
      INFO(bad);
      auto args = valid_args("messaging_send_sms");
      args["phone_number"] = bad;
      CHECK(reason_for("messaging_send_sms", args)
            == "phone_number: must match ^\\+[1-9][0-9]{7,14}$");
    }
    for (auto good : {"+12025550123", "+4915112345678", "+123456789012345", "+12345678"}) {
      INFO(good);
      auto args = valid_args("messaging_send_sms");
      args["phone_number"] = good;
      CHECK(validate_tool_arguments("messaging_send_sms", args));
    }
  }
  SECTION("types") {
    auto args = valid_args("messaging_send_whatsapp");
    args["phone_number"] = 4915112345678;
    CHECK(reason_for("messaging_send_whatsapp", args)
          == "phone_number: must be a string (got integer)");
    args = valid_args("messaging_send_whatsapp");
    args["message"] = json::array({"hi"});
    CHECK(reason_for("messaging_send_whatsapp", args) == "message: must be a string (got array)");
    args = valid_args("session_add_context");
    args["context"] = "order_id=A17";
    CHECK(reason_for("session_add_context", args) == "context: must be an object (got string)");
    args["context"] = nullptr;
    CHECK(reason_for("session_add_context", args) == "context: must be an object (got null)");
    CHECK(reason_for("session_get_context", json::array())
          == "arguments: must be an object (got array)");
    CHECK(reason_for("session_get_context", "x") == "arguments: must be an object (got string)");
  }
  SECTION("enum") {
    auto args = valid_args("session_update_status");
    args["status"] = "open";
    CHECK(reason_for("session_update_status", args)
          == "status: must be one of active, follow_up, closed");
    args["status"] = "ACTIVE";
    CHECK(reason_for("session_update_status", args)
          == "status: must be one of active, follow_up, closed");
    for (auto ok : {"active", "follow_up", "closed"}) {
      args["status"] = ok;
      CHECK(validate_tool_arguments("session_update_status", args));
    }
  }
  SECTION("string lengths count code points") {
    auto args = valid_args("messaging_send_whatsapp");
    args["message"] = "";
    CHECK(reason_for("messaging_send_whatsapp", args) == "message: must not be empty");
    args["message"] = std::string(4097, 'x');
    CHECK(reason_for("messaging_send_whatsapp", args)
          == "message: must be at most 4096 characters");
    std::string emoji;
    for (int i = 0; i < 4096; ++i)
      emoji += "😂"; // 4 bytes each: 16 KiB but 4096 characters
    args["message"] = emoji;
    CHECK(validate_tool_arguments("messaging_send_whatsapp", args));
    auto dual = valid_args("messaging_send_dual_channel");
    dual["sms_message"] = std::string(1601, 'x');
    CHECK(reason_for("messaging_send_dual_channel", dual)
          == "sms_message: must be at most 1600 characters");
    dual["sms_message"] = "";
    CHECK(reason_for("messaging_send_dual_channel", dual) == "sms_message: must not be empty");
  }
}

TEST_CASE("unknown tools are not_found", "[tools]") {
  auto r = validate_tool_arguments("messaging_send_fax", json::object());
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == sb_error::not_found);
  CHECK(reason_of(r.error()) == "unknown tool 'messaging_send_fax'");
  CHECK(code_of(validate_tool_arguments("", json::object()).error()) == sb_error::not_found);
}

TEST_CASE("context is free-form inside: nested values and nulls are allowed", "[tools]") {
  json args = {{"phone_number", "+12025550123"},
               {"context", {{"cart", {{"items", json::array({1, 2})}}}, {"note", nullptr}}}};
  CHECK(validate_tool_arguments("session_add_context", args));
  args["context"] = json::object();
  CHECK(validate_tool_arguments("session_add_context", args));
}
