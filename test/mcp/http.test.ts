import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../local/local-stack.js";
import { countItems } from "../support/local-aws.js";
import { startTestStack } from "../support/mcp-stack.js";
import { expectNothingCreated } from "../support/nothing-created.js";
import { MCP_HEADERS, START_CALL } from "../support/raw-mcp.js";

let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

describe("the HTTP front door", () => {
  it("a well-formed start creates a row (the baseline the other cases compare with)", async () => {
    const before = await countItems(stack.clients.dynamo, stack.resources.tableName);
    const response = await fetch(stack.mcpUrl, { method: "POST", headers: MCP_HEADERS, body: START_CALL });
    expect(response.status).toBe(200);
    expect(await countItems(stack.clients.dynamo, stack.resources.tableName)).toBe(before + 1);
  });

  it.each(["GET", "DELETE", "PUT"])("%s answers 405 with Allow", async (method) => {
    const response = await expectNothingCreated(stack, () =>
      fetch(stack.mcpUrl, { method, headers: MCP_HEADERS }),
    );
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST, OPTIONS");
    expect(await response.json()).toMatchObject({ jsonrpc: "2.0", error: { code: -32000 } });
  });

  it("a foreign Origin answers 403", async () => {
    const response = await expectNothingCreated(stack, () =>
      fetch(stack.mcpUrl, {
        method: "POST",
        headers: { ...MCP_HEADERS, origin: "https://evil.example" },
        body: START_CALL,
      }),
    );
    expect(response.status).toBe(403);
    expect(JSON.stringify(await response.json())).toContain("https://evil.example is not allowed");
  });

  it("the server's own loopback origin passes, with CORS headers", async () => {
    const response = await fetch(stack.mcpUrl, {
      method: "POST",
      headers: { ...MCP_HEADERS, origin: stack.origin },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe(stack.origin);
    const preflight = await fetch(stack.mcpUrl, { method: "OPTIONS", headers: { origin: stack.origin } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")).toContain("authorization");
  });

  it("malformed JSON answers 400 with a JSON-RPC parse error", async () => {
    const response = await expectNothingCreated(stack, () =>
      fetch(stack.mcpUrl, { method: "POST", headers: MCP_HEADERS, body: '{"jsonrpc":"2.0",' }),
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: -32700 } });
  });

  it("a JSON body that is not JSON-RPC answers 400", async () => {
    const response = await expectNothingCreated(stack, () =>
      fetch(stack.mcpUrl, { method: "POST", headers: MCP_HEADERS, body: '{"hello":"world"}' }),
    );
    expect(response.status).toBe(400);
  });

  it("an Accept without application/json and text/event-stream answers 406", async () => {
    const response = await expectNothingCreated(stack, () =>
      fetch(stack.mcpUrl, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/html" },
        body: START_CALL,
      }),
    );
    expect(response.status).toBe(406);
  });

  it("a body over 1 MiB answers 413", async () => {
    const huge = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "start_slow_api", arguments: { query: "x".repeat(1024 * 1024) } },
    });
    const response = await expectNothingCreated(stack, () =>
      fetch(stack.mcpUrl, { method: "POST", headers: MCP_HEADERS, body: huge }),
    );
    expect(response.status).toBe(413);
  });

  it("a wrong content type answers 415", async () => {
    const response = await expectNothingCreated(stack, () =>
      fetch(stack.mcpUrl, {
        method: "POST",
        headers: { ...MCP_HEADERS, "content-type": "text/plain" },
        body: START_CALL,
      }),
    );
    expect(response.status).toBe(415);
  });

  it("a 2026-07-28 discovery probe gets a JSON-RPC error, not a 5xx, so the client falls back", async () => {
    const response = await expectNothingCreated(stack, () =>
      fetch(stack.mcpUrl, {
        method: "POST",
        headers: MCP_HEADERS,
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "server/discover", params: {} }),
      }),
    );
    expect(response.status).toBeLessThan(500);
    expect(await response.json()).toMatchObject({ error: { code: -32601 } });
  });

  it("the health path answers 200 and other paths 404", async () => {
    const health = await fetch(`${stack.origin}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    expect((await fetch(`${stack.origin}/other`)).status).toBe(404);
  });

  it("a Host that is not a loopback name answers 403 (DNS rebinding)", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(
        `${stack.mcpUrl}`,
        { method: "POST", headers: { ...MCP_HEADERS, host: "attacker.example:3000" } },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on("error", reject);
      request.end(START_CALL);
    });
    expect(status).toBe(403);
  });
});
