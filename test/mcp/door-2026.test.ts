import type { Client as ModernClient } from "@modelcontextprotocol/client";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../local/local-stack.js";
import { connectModernClient, exactly, MODERN_VERSION, postModern, TASKS_EXTENSION } from "../support/mcp-2026.js";
import { connectClient, startTestStack } from "../support/mcp-stack.js";

const ALICE_KEY = "alice-key-7d6c5b4a3928170f6e5d";

let stack: LocalStack;
let legacy: Client;
let modern: ModernClient;

beforeAll(async () => {
  stack = await startTestStack({ env: { AUTH_MODE: "api-key", API_KEYS: `alice:${ALICE_KEY}` } });
  const auth = { authorization: `Bearer ${ALICE_KEY}` };
  legacy = await connectClient(stack.mcpUrl, auth);
  modern = await connectModernClient(stack.mcpUrl, auth, { tasks: true });
});

afterAll(async () => {
  await legacy?.close();
  await modern?.close();
  await stack?.stop();
});

describe("probe", () => {
  it("listen", async () => {
    const started = Date.now();
    const raw = await postModern(stack.mcpUrl, { method: "subscriptions/listen", params: { notifications: { toolsListChanged: true } }, headers: { authorization: `Bearer ${ALICE_KEY}` }, }).then(exactly).catch((e) => String(e));
    console.log(Date.now() - started, raw);
    const nokey = await postModern(stack.mcpUrl, { method: "tools/list" }).then(exactly);
    console.log(nokey);
    const mismatch = await postModern(stack.mcpUrl, { method: "tools/call", name: "get_job", params: { name: "start_slow_api", arguments: { query: "q" } }, headers: { authorization: `Bearer ${ALICE_KEY}` } }).then(exactly);
    console.log(mismatch);
    const bad = await postModern(stack.mcpUrl, { method: "tools/call", name: "start_slow_api", params: { name: "start_slow_api", arguments: { query: "" } }, headers: { authorization: `Bearer ${ALICE_KEY}` } }).then(exactly);
    console.log(bad);
    const notask = await postModern(stack.mcpUrl, { method: "tasks/get", name: "x", tasks: false, params: { taskId: "x" }, headers: { authorization: `Bearer ${ALICE_KEY}` } }).then(exactly);
    console.log(notask);
    const unknown = await postModern(stack.mcpUrl, { method: "tasks/get", name: "x", params: { taskId: "x" }, headers: { authorization: `Bearer ${ALICE_KEY}` } }).then(exactly);
    console.log(unknown);
    const upd = await postModern(stack.mcpUrl, { method: "tasks/update", name: "x", params: { taskId: "x", inputResponses: {} }, headers: { authorization: `Bearer ${ALICE_KEY}` } }).then(exactly);
    console.log(upd);
    const list = await postModern(stack.mcpUrl, { method: "tasks/list", params: {}, headers: { authorization: `Bearer ${ALICE_KEY}` } }).then(exactly);
    console.log(list);
    expect(TASKS_EXTENSION).toBeTruthy();
  }, 60_000);
});
