import type { Client as ModernClient } from "@modelcontextprotocol/client";
import { hasTaskServerCapabilityV2 } from "@modelcontextprotocol/ext-tasks/core/v2";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobView } from "../../lambdas/shared/domain/job.js";
import type { LocalStack } from "../../local/local-stack.js";
import { connectModernClient, MODERN_VERSION, postModern, TASKS_EXTENSION } from "../support/mcp-2026.js";
import { connectClient, startTestStack } from "../support/mcp-stack.js";
import { expectNothingCreated } from "../support/nothing-created.js";
import { MCP_HEADERS } from "../support/raw-mcp.js";

const ALICE_KEY = "alice-key-7d6c5b4a3928170f6e5d";
const AUTH = { authorization: `Bearer ${ALICE_KEY}` };

let stack: LocalStack;
let legacy: Client;
let modern: ModernClient;
let modernWithoutTasks: ModernClient;

beforeAll(async () => {
  stack = await startTestStack({ env: { AUTH_MODE: "api-key", API_KEYS: `alice:${ALICE_KEY}` } });
  legacy = await connectClient(stack.mcpUrl, AUTH);
  modern = await connectModernClient(stack.mcpUrl, AUTH, { tasks: true });
  modernWithoutTasks = await connectModernClient(stack.mcpUrl, AUTH);
});

afterAll(async () => {
  await legacy?.close();
  await modern?.close();
  await modernWithoutTasks?.close();
  await stack?.stop();
});

describe("one URL, two protocol eras", () => {
  it("the official v2 client negotiates 2026-07-28 and sees the Tasks extension", async () => {
    expect(modern.getNegotiatedProtocolVersion()).toBe(MODERN_VERSION);
    expect(hasTaskServerCapabilityV2(modern.getServerCapabilities())).toBe(true);
  });

  it("server/discover names 2026-07-28 and advertises the Tasks extension", async () => {
    const response = await postModern(stack.mcpUrl, { method: "server/discover", headers: AUTH });
    expect(response.status).toBe(200);
    const { result } = (await response.json()) as { result: Record<string, unknown> };
    expect(result.supportedVersions).toEqual([MODERN_VERSION]);
    expect(result.capabilities).toMatchObject({ extensions: { [TASKS_EXTENSION]: {} } });
  });

  it("a 2025 client still gets 2025-11-25 with its Tasks capability", async () => {
    const response = await fetch(stack.mcpUrl, {
      method: "POST",
      headers: { ...MCP_HEADERS, ...AUTH },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-11-25",
          capabilities: {},
          clientInfo: { name: "raw-2025", version: "1.0.0" },
        },
      }),
    });
    expect(response.status).toBe(200);
    const { result } = (await response.json()) as { result: Record<string, unknown> };
    expect(result.protocolVersion).toBe("2025-11-25");
    expect(legacy.getServerCapabilities()?.tasks).toBeDefined();
  });

  it("both eras list the same tools with the same schemas (start tools declare no output schema on 2026)", async () => {
    const old = (await legacy.listTools()).tools;
    const now = (await modern.listTools()).tools;
    expect(now.map((tool) => tool.name)).toEqual(old.map((tool) => tool.name));
    for (const [index, tool] of now.entries()) {
      const before = old[index];
      expect(tool.title).toBe(before?.title);
      expect(tool.description).toBe(before?.description);
      expect(tool.inputSchema).toEqual(before?.inputSchema);
      expect(tool.annotations).toEqual(before?.annotations);
      if (tool.name.startsWith("start_")) expect(tool.outputSchema).toBeUndefined();
      else expect(tool.outputSchema).toEqual(before?.outputSchema);
    }
  });

  it("a 2026 client without the Tasks extension calls the job tools as a 2025 client does", async () => {
    const started = await modernWithoutTasks.callTool({
      name: "start_slow_api",
      arguments: { query: "modern plain", delaySeconds: 0 },
    });
    const job = started.structuredContent as JobView;
    expect(job.status).toBe("queued");
    const done = await modernWithoutTasks.callTool({
      name: "get_job",
      arguments: { jobId: job.jobId, waitSeconds: 10 },
    });
    expect((done.structuredContent as JobView).result).toEqual({ answer: "Slow result for: modern plain" });
    // The same job through the 2025 door.
    const seen = await legacy.callTool({ name: "get_job", arguments: { jobId: job.jobId } });
    expect((seen.structuredContent as JobView).status).toBe("completed");
  });
});

describe("the shared front door guards the 2026 door too", () => {
  it("no key: 401 with the Bearer challenge, and nothing created", async () => {
    const response = await expectNothingCreated(stack, () =>
      postModern(stack.mcpUrl, {
        method: "tools/call",
        name: "start_slow_api",
        params: { name: "start_slow_api", arguments: { query: "q", delaySeconds: 0 } },
      }),
    );
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="mcp"');
  });

  it("a foreign Origin answers 403", async () => {
    const response = await postModern(stack.mcpUrl, {
      method: "tools/list",
      headers: { ...AUTH, origin: "https://evil.example" },
    });
    expect(response.status).toBe(403);
  });

  it("a tools/call whose Mcp-Name differs from the tool name is refused with 400 and creates nothing", async () => {
    const response = await expectNothingCreated(stack, () =>
      postModern(stack.mcpUrl, {
        method: "tools/call",
        name: "get_job",
        params: { name: "start_slow_api", arguments: { query: "q", delaySeconds: 0 } },
        headers: AUTH,
      }),
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: number } }).error.code).toBe(-32020);
  });

  it("a tools/call without Mcp-Name is refused with 400", async () => {
    const response = await postModern(stack.mcpUrl, {
      method: "tools/call",
      params: { name: "start_slow_api", arguments: { query: "q", delaySeconds: 0 } },
      headers: AUTH,
    });
    expect(response.status).toBe(400);
  });

  it("a wrong content type answers 415", async () => {
    const response = await postModern(stack.mcpUrl, {
      method: "tools/list",
      headers: { ...AUTH, "content-type": "text/plain" },
    });
    expect(response.status).toBe(415);
  });

  it("subscriptions/listen is refused at once: a buffered function cannot hold a stream open", async () => {
    const response = await postModern(stack.mcpUrl, {
      method: "subscriptions/listen",
      params: { notifications: { toolsListChanged: true } },
      headers: AUTH,
    });
    const body = (await response.json()) as { error?: { code: number } };
    expect(body.error?.code).toBe(-32603);
  });
});
