#!/usr/bin/env node
// External MCP conformance smoke test with the official TypeScript SDK
// client (@modelcontextprotocol/sdk, pinned in scripts/lib.sh), run by
// t/066-mcp-client.t against nginx's /mcp.
//
// Usage:  MCP_URL=http://127.0.0.1:1984/mcp MCP_KEY=test-key-alice \
//             node t/data/mcp-client.mjs
//
// Output is TAP: a plan line "1..N" first, then one "ok N - ..." /
// "not ok N - ..." line per step, with "# ..." diagnostics.
// Exit status: 0 if every step passed, 1 if any failed, 2 on usage error,
// 3 when the SDK is not installed.
//
// The SDK is found in $SBX_NODE_MODULES, default build/node_modules
// (scripts/test installs it there).  This is an ES module: NODE_PATH does
// not reach its imports, and a bare specifier resolves from this file's
// directory, not from build/.  So the SDK's subpaths are resolved through
// its package.json "exports" map ("import" condition) and imported by
// file URL; the SDK's own imports then resolve from build/node_modules.
//
// Only documented SDK API is used:
//   Client (sdk/client/index.js): connect, listTools, callTool, close,
//     getServerVersion; callTool resolves to the CallToolResult
//     ({ content, structuredContent?, isError? }) and throws McpError for
//     JSON-RPC error responses. After listTools() the Client caches each
//     tool's outputSchema and validates structuredContent in callTool.
//   StreamableHTTPClientTransport (sdk/client/streamableHttp.js):
//     constructor(url, { requestInit }), sessionId, protocolVersion,
//     terminateSession() (HTTP DELETE; 2xx or 405 accepted).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MODULES = process.env.SBX_NODE_MODULES
  || path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', 'node_modules');
const SDK_ROOT = path.join(MODULES, '@modelcontextprotocol', 'sdk');

// The file URL of an SDK subpath ("client/index.js") per its exports map.
function sdkUrl(sub) {
  const pkg = JSON.parse(fs.readFileSync(path.join(SDK_ROOT, 'package.json'), 'utf8'));
  const exp = pkg.exports ?? {};
  const key = `./${sub}`;
  const pick = (e) => (typeof e === 'string' ? e : e && (e.import ?? e.default));
  let target = exp[key] !== undefined ? pick(exp[key]) : undefined;

  if (target === undefined) {
    for (const [k, v] of Object.entries(exp)) {
      const star = k.indexOf('*');
      if (star >= 0 && key.startsWith(k.slice(0, star)) && key.endsWith(k.slice(star + 1))) {
        const middle = key.slice(star, key.length - (k.length - star - 1));
        target = pick(v)?.replace('*', middle);
        break;
      }
    }
  }
  if (!target) throw new Error(`${SDK_ROOT}: no export for ${key}`);
  return pathToFileURL(path.join(SDK_ROOT, target)).href;
}

let Client;
let StreamableHTTPClientTransport;
try {
  ({ Client } = await import(sdkUrl('client/index.js')));
  ({ StreamableHTTPClientTransport } = await import(sdkUrl('client/streamableHttp.js')));
} catch (err) {
  console.error(`cannot load @modelcontextprotocol/sdk from ${MODULES}: ${err && err.message}`);
  process.exit(3);
}

const MCP_URL = process.env.MCP_URL;
const KEY = process.env.MCP_KEY ?? '';
if (!MCP_URL) {
  console.error('usage: MCP_URL=http://host:port/mcp MCP_KEY=... node t/data/mcp-client.mjs');
  process.exit(2);
}

const TIMEOUT_MS = Number(process.env.MCP_TIMEOUT_MS ?? 60000);
const EXPECTED_TOOLS = [
  'create_session', 'delete_session', 'execute',
  'workspace_list', 'workspace_read', 'workspace_write', 'workspace_delete',
  'run_code',
];

const STEPS = 10;
console.log(`1..${STEPS}`);

let n = 0;
let failures = 0;

function diag(msg) {
  for (const line of String(msg).split('\n')) console.log(`# ${line}`);
}

function show(v) {
  try { return JSON.stringify(v); } catch { return String(v); }
}

async function step(desc, fn) {
  n += 1;
  try {
    await fn();
    console.log(`ok ${n} - ${desc}`);
  } catch (err) {
    failures += 1;
    console.log(`not ok ${n} - ${desc}`);
    diag(err && err.stack ? err.stack : String(err));
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

function structured(result, what) {
  assert(result && typeof result === 'object', `${what}: no result`);
  assert(result.structuredContent && typeof result.structuredContent === 'object',
    `${what}: result has no structuredContent object: ${show(result)}`);
  return result.structuredContent;
}

// Watchdog: a hung server must not hang the test forever. unref() so it
// never keeps the process alive by itself.
const watchdog = setTimeout(() => {
  console.log('Bail out! global timeout');
  process.exit(1);
}, TIMEOUT_MS * 4);
watchdog.unref();

const reqOpts = { timeout: TIMEOUT_MS };

const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), {
  requestInit: { headers: { 'X-API-Key': KEY } },
});
const client = new Client({ name: 'nginx-mcp-external-test', version: '1.0.0' });
client.onerror = (err) => diag(`client onerror: ${err && err.message ? err.message : err}`);

let sessionId; // the sandbox session_id returned by create_session (not Mcp-Session-Id)

await step('initialize (connect) over Streamable HTTP', async () => {
  await client.connect(transport, reqOpts);
  diag(`Mcp-Session-Id: ${transport.sessionId ?? '(none)'}`);
  diag(`negotiated protocol version: ${transport.protocolVersion ?? '(unknown)'}`);
  diag(`serverInfo: ${show(client.getServerVersion())}`);
});

await step('tools/list contains all expected tools', async () => {
  const res = await client.listTools(undefined, reqOpts);
  const names = (res.tools ?? []).map((t) => t.name);
  diag(`tools: ${names.join(', ')}`);
  const missing = EXPECTED_TOOLS.filter((t) => !names.includes(t));
  assert(missing.length === 0, `missing tools: ${missing.join(', ')}`);
});

await step('create_session returns a session_id', async () => {
  const res = await client.callTool({ name: 'create_session', arguments: {} }, undefined, reqOpts);
  assert(res.isError !== true, `create_session isError: ${show(res)}`);
  const sc = structured(res, 'create_session');
  assert(typeof sc.session_id === 'string' && sc.session_id.length > 0,
    `structuredContent.session_id not a non-empty string: ${show(sc)}`);
  sessionId = sc.session_id;
  diag(`session_id: ${sessionId}`);
});

await step('execute "echo hello" -> stdout "hello\\n", exit_code 0', async () => {
  assert(sessionId, 'no session_id from create_session');
  const res = await client.callTool(
    { name: 'execute', arguments: { session_id: sessionId, command: 'echo hello' } },
    undefined, reqOpts);
  assert(res.isError !== true, `execute isError: ${show(res)}`);
  const sc = structured(res, 'execute');
  assert(sc.stdout === 'hello\n', `stdout was ${show(sc.stdout)}`);
  assert(sc.exit_code === 0, `exit_code was ${show(sc.exit_code)}`);
});

await step('workspace_write notes.txt', async () => {
  assert(sessionId, 'no session_id from create_session');
  const res = await client.callTool(
    { name: 'workspace_write', arguments: { session_id: sessionId, path: 'notes.txt', content: 'hi' } },
    undefined, reqOpts);
  assert(res.isError !== true, `workspace_write isError: ${show(res)}`);
});

await step('workspace_read notes.txt -> content "hi"', async () => {
  assert(sessionId, 'no session_id from create_session');
  const res = await client.callTool(
    { name: 'workspace_read', arguments: { session_id: sessionId, path: 'notes.txt' } },
    undefined, reqOpts);
  assert(res.isError !== true, `workspace_read isError: ${show(res)}`);
  const sc = structured(res, 'workspace_read');
  assert(sc.content === 'hi', `content was ${show(sc.content)}`);
});

await step('execute "exit 3" -> tool result with isError true', async () => {
  assert(sessionId, 'no session_id from create_session');
  // A non-zero exit must be a tool execution error (result.isError), not a
  // JSON-RPC error; callTool would throw McpError for the latter.
  const res = await client.callTool(
    { name: 'execute', arguments: { session_id: sessionId, command: 'exit 3' } },
    undefined, reqOpts);
  assert(res.isError === true, `isError was ${show(res.isError)}: ${show(res)}`);
  if (res.structuredContent && 'exit_code' in res.structuredContent) {
    assert(res.structuredContent.exit_code === 3,
      `exit_code was ${show(res.structuredContent.exit_code)}`);
  }
});

await step('delete_session', async () => {
  assert(sessionId, 'no session_id from create_session');
  const res = await client.callTool(
    { name: 'delete_session', arguments: { session_id: sessionId } },
    undefined, reqOpts);
  assert(res.isError !== true, `delete_session isError: ${show(res)}`);
});

await step('terminateSession (HTTP DELETE with Mcp-Session-Id)', async () => {
  assert(transport.sessionId, 'server issued no Mcp-Session-Id at initialize, nothing to DELETE');
  await transport.terminateSession();
  assert(transport.sessionId === undefined, 'transport still holds a session id');
});

await step('client.close()', async () => {
  await client.close();
});

if (n !== STEPS) {
  console.log(`# plan mismatch: ran ${n} steps, planned ${STEPS}`);
  failures += 1;
}
console.log(`# ${n - failures}/${n} steps passed`);
process.exit(failures === 0 ? 0 : 1);
