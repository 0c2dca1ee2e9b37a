// The --help text (also GET /_sim/help): every route of the simulator and the simulated LLM's
// rules.

#include "sim/sim.hpp"

namespace switchboard::sim {

std::string help_text() {
  return R"HELP(switchboard-sim: provider simulator for Switchboard (loopback only).

Usage: switchboard-sim [options]
  --listen HOST:PORT          HTTP listener for every provider and /_sim/ (default 127.0.0.1:18080)
  --smtp-listen HOST:PORT     SMTP sink (default 127.0.0.1:18025); port 0 = ephemeral
  --server-url URL            default target of deliveries (default http://127.0.0.1:8080)
  --public-url URL            the server's public URL when it differs from --server-url; Twilio
                              signatures are computed over it (env SWITCHBOARD_SERVER_PUBLIC_URL)
  --threads N                 HTTP I/O threads (default 2)
  --max-records N             recorded requests kept (default 100000; oldest dropped)
  --mtn-token-ttl SECONDS     lifetime of MTN access tokens (default 3599)
  --whatsapp-status-url URL   enable WhatsApp auto-status (sent, delivered after each send)
  --verbose                   log every request and delivery to stderr
  --help, --version
Credentials (flag or environment; unset = any value accepted, header still required):
  --whatsapp-access-token   SWITCHBOARD_WHATSAPP_ACCESS_TOKEN   Bearer of the Cloud API
  --whatsapp-app-secret     SWITCHBOARD_WHATSAPP_APP_SECRET     signs X-Hub-Signature-256
  --twilio-account-sid      SWITCHBOARD_SMS_TWILIO_ACCOUNT_SID  Basic auth user
  --twilio-auth-token       SWITCHBOARD_SMS_TWILIO_AUTH_TOKEN   Basic auth password; X-Twilio-Signature
  --mtn-client-id           SWITCHBOARD_SMS_MTN_CLIENT_ID       OAuth client id
  --mtn-client-secret       SWITCHBOARD_SMS_MTN_CLIENT_SECRET   OAuth client secret
  --mtn-webhook-secret      SWITCHBOARD_SMS_MTN_WEBHOOK_SECRET  signs X-MTN-Signature
  --telegram-bot-token      SWITCHBOARD_TELEGRAM_BOT_TOKEN      /bot{token}/...
  --telegram-webhook-secret SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET secret token until setWebhook sets one
  --chatwoot-bot-token      SWITCHBOARD_CHATWOOT_BOT_TOKEN      an agent bot's api_access_token: only
                                                                the bot endpoints (messages create,
                                                                toggle_status, ...); others 401
                                                                (--chatwoot-api-token,
                                                                SWITCHBOARD_CHATWOOT_API_TOKEN: old names)
  --chatwoot-user-token     SWITCHBOARD_CHATWOOT_USER_TOKEN     a user's api_access_token: every endpoint
  --chatwoot-webhook-secret SWITCHBOARD_CHATWOOT_WEBHOOK_SECRET signs X-Chatwoot-Signature
  --llm-api-key             SWITCHBOARD_LLM_API_KEY             Bearer of /v1/chat/completions
When ready it prints one line on stdout: {"event":"ready","http_port":N,"smtp_port":M}.
Logs go to stderr. SIGINT/SIGTERM: clean exit 0.

Provider endpoints (real wire formats):
  POST /{version}/{phone_number_id}/messages           WhatsApp Cloud API (Bearer); text, template, media...
                                                       template text parameters with a newline, tab or
                                                       5 spaces -> 400 code 132018; a {"status": "read",
                                                       "message_id", "typing_indicator"} for an inbound
                                                       wamid -> {"success": true}, unknown -> 400 code 100
  POST /2010-04-01/Accounts/{Sid}/Messages.json        Twilio (Basic sid:token, form body) -> 201 queued
  GET  /2010-04-01/Accounts/{Sid}/Messages/{SM}.json   Twilio message fetch
  POST /v1/oauth/access_token[/accesstoken]?grant_type=client_credentials
                                                       MTN (Apigee) token; form client_id/client_secret
                                                       or Basic; answer values are strings
  POST /v3/sms/messages/sms/outbound                   MTN SMS v3 (Bearer) {senderAddress,
                                                       receiverAddress[], message, clientCorrelatorId}
                                                       -> {statusCode:"0000",statusMessage,transactionId,data}
  POST|GET /bot{token}/{getMe|setWebhook|deleteWebhook|getWebhookInfo|sendMessage|sendChatAction}
                                                       Telegram (JSON, form or query parameters)
  POST /api/v1/accounts/{a}/conversations/{c}/messages      Chatwoot (api_access_token; bot or user)
  GET  /api/v1/accounts/{a}/conversations/{c}/messages      (user token only)
  POST /api/v1/accounts/{a}/conversations/{c}/toggle_status (bot or user)
  GET  /api/v1/accounts/{a}/portals/{slug}/articles?query=&status=&locale=&page=  (user token only)
  POST /v1/chat/completions (or /chat/completions)     OpenAI-compatible (Bearer)
  SMTP on its own port: EHLO/HELO, AUTH PLAIN/LOGIN (any credentials), MAIL, RCPT, DATA, RSET,
  NOOP, QUIT; every message is recorded with service "smtp".

LLM rules (first that applies):
  1. Scripted queue: POST /_sim/openai/script pushes answers for the next calls.
  2. Last message has role "tool": a short confirmation text.
  3. Tools offered and the last (user) message matches "change|set|update [the|my|our] <field> to
     <value>": a tool call to session_add_context (or the first offered tool if that one is not
     offered) with arguments {"phone_number"?: <first phone number in the system message>,
     "context": {"<field_snake_case>": "<value>"}}.
  4. response_format json_object/json_schema: content is the JSON string
     {"answer","sources":[id],"confidence"}: the article (from the prompt: JSON array/{"articles"},
     or text blocks headed "[id] Title", "Article id: Title", "id: N" + "title: ...", "# Title")
     sharing most analysed words (core::analyze_text) with the question ("Question: ..." line,
     else the last user message), rarer words weighing more and title words twice; answer = the
     sentence that answers it: its words, rarer ones weighing more, plus the kind of answer the
     question asks for ("how long"/"when" -> a duration or time, "how much" -> an amount,
     "how do I" -> instructions). confidence 0.7..0.95 (how much of the question the article
     covers) when it shares 2+ words, half the question's words or a word of its title, else
     0.2 with a "could not find" answer.
  5. Otherwise: You said: "<last user message>".

Control API (JSON; never faulted or recorded):
  GET    /_sim/health | /_sim/help
  GET    /_sim/requests?service=&since=<seq>&path=<substring>&limit=
           -> {"requests":[{seq,service,method,path,query,query_params,headers(lower-case),body,
               json,form,remote,received_at,status,fault,response}],"last_seq"}
  DELETE /_sim/requests                   forget recorded requests and deliveries (seq continues)
  GET    /_sim/deliveries?service=&since=<id>   webhooks sent and what the server answered
  POST   /_sim/faults {"service":"twilio"|"*"|[...], "path_contains", "latency_ms", "error_rate",
           "seed", "error_status" (default 500, or 429 when retry_after is given), "fail_next",
           "retry_after", "hang", "hang_next"}   replaces that service's settings. error_rate
           without seed is exact: rate 0.25 fails requests 4, 8, 12...; hang never answers (held
           until the client gives up, faults are deleted or the sim stops); faulted requests are
           recorded with fault "error"/"hang"/"latency" and their status (0 for hang).
  GET    /_sim/faults;  DELETE /_sim/faults[?service=]
  POST   /_sim/reset                      everything back to the start state
  GET|POST /_sim/config {"server_url","public_url"}   change the delivery target at run time
                                          (e.g. once the server's ephemeral port is known)
  Deliveries (to "url", or --server-url + "path", or the default path shown; answer: the
  server's status and body; "async":true answers 202 at once; "secret" overrides the signing
  secret; "timeout_ms" default 10000):
  POST /_sim/whatsapp/inbound {from,name,type:text|image|audio|video|document|sticker|location|
         reaction|button|unsupported,text,context_id,id,timestamp,message(raw),phone_number_id,
         display_phone_number,waba_id}                   default path /webhooks/whatsapp
  POST /_sim/whatsapp/status {id(wamid),status|statuses[],recipient_id,error_code,error_title,
         category,pricing_type,billable,pricing_model,template}   pricing: PMP shape (v24+)
  POST /_sim/whatsapp/auto_status {url|path,enabled,statuses,delay_ms}
  POST /_sim/whatsapp/rules {recipient,error_code:131047|131026|131049|131056|130429,
         mode:sync|async (default: as Meta reports it),count (default: every send),clear}
         per-recipient refusals: sync = HTTP 400 Graph error, async = 200 then a failed status
  POST /_sim/twilio/inbound {from,to,body,media_urls[],message_sid,messaging_service_sid,
         params{},signature_url}                         default path /webhooks/sms/twilio
  POST /_sim/twilio/status {sid,status,error_code,url|path,signature_url}  (default: the send's
         StatusCallback); auto status callbacks (sent, delivered) follow every send that has a
         StatusCallback: POST /_sim/twilio/auto_status {enabled,statuses,delay_ms}
  POST /_sim/mtn/inbound {from,to,message,id,timestamp}  default path /webhooks/sms/mtn;
         X-MTN-Signature = hex HMAC-SHA256(secret, body)
  POST /_sim/mtn/expire_tokens                           issued tokens now answer 401
  POST /_sim/telegram/update {chat_id,first_name,last_name,username,text,reply_to_message_id,
         update(raw),secret_token}  to the setWebhook URL (else default path /webhooks/telegram)
  GET  /_sim/telegram/webhook;  POST /_sim/telegram/block {chat_id,blocked}
  POST /_sim/chatwoot/articles {portal,articles:[{id?,title,content,description?,status?,slug?,
         locale?}],replace:true}
  GET  /_sim/chatwoot/conversations
  POST /_sim/chatwoot/webhook {body(raw string|object) | event:message_created|message_updated|
         conversation_created|conversation_updated|conversation_status_changed, account_id,
         conversation_id,inbox_id,content,message_type,sender_name,contact_id,phone_number,
         status,previous_status; sign(default true),timestamp}  default path /webhooks/chatwoot
  POST /_sim/openai/script {"responses":[{"content":"..."} | {"tool_calls":[{"name","arguments"}]}
         | {"status":429,"retry_after":2} | {"status":200,"body":{...}}, "repeat":N]}
  GET|DELETE /_sim/openai/script
)HELP";
}

} // namespace switchboard::sim
