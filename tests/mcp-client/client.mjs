// A real MCP client for Switchboard's e2e test: the official TypeScript SDK over Streamable HTTP.
// Usage: node client.mjs <url> <bearer-key> [phone] [chatwoot-account-id] [search-query]
//        [conversation-id]
// Prints one JSON object with what it saw; exits non-zero when the session could not be used.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [
  url,
  key,
  phone = '+250788123456',
  account = '7',
  query = 'reset my password',
  conversation = '101',
] = process.argv.slice(2);
if (!url || !key) {
  console.error('usage: node client.mjs <url> <bearer-key> [phone] [account-id] [query] [conversation-id]');
  process.exit(64);
}
setTimeout(() => {
  console.error('client.mjs: gave up after 60 s');
  process.exit(3);
}, 60000).unref();

const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${key}` } },
});
const client = new Client({ name: 'switchboard-e2e', version: '1.0.0' });
const out = {};

/// A tool call's result, or the JSON-RPC error it raised ({code, message}).
async function call(name, args) {
  try {
    return await client.callTool({ name, arguments: args });
  } catch (e) {
    return { rpc_error: { code: e.code, message: e.message } };
  }
}

await client.connect(transport);
out.session_id = transport.sessionId;
out.protocol_version = transport.protocolVersion;
out.server = client.getServerVersion();
out.capabilities = client.getServerCapabilities();
out.ping = await client.ping();
const listed = await client.listTools();
out.tools = listed.tools;
out.add_context = await call('session_add_context', {
  phone_number: phone,
  context: { order_id: 'A17', via: 'mcp' },
});
out.get_context = await call('session_get_context', { phone_number: phone });
out.search = await call('help_center_search', { account_id: Number(account), query, limit: 2 });
out.conversation = await call('conversation_get_state', {
  account_id: Number(account),
  conversation_id: Number(conversation),
});
out.unknown_conversation = await call('conversation_get_state', {
  account_id: Number(account),
  conversation_id: 999999,
});
out.invalid = await call('session_get_context', { phone_number: 'not a number' });
out.unknown = await call('no_such_tool', {});
await transport.terminateSession();
out.terminated = transport.sessionId === undefined;
await client.close();
console.log(JSON.stringify(out));
