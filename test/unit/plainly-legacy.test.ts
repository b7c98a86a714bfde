import { isLegacyRequest } from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";
import { readJsonBody } from "../../lambdas/shared/http/json-body.js";
import { plainlyLegacy } from "../../lambdas/shared/mcp/plainly-legacy.js";

const MAX_BODY_BYTES = 1_000;
const ENVELOPE = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "c", version: "1" },
};

function post(body: unknown, headers: Record<string, string> = {}): Request {
  return new Request("https://mcp.example/mcp", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** As the front door decides: the body read once (a body over the limit never gets this far), then the pre-filter. */
async function frontDoorSaysLegacy(request: Request): Promise<boolean> {
  if (request.method !== "POST") return plainlyLegacy(request, undefined);
  // A declared length over the limit is answered 413 before any door is chosen.
  if (Number(request.headers.get("content-length")) > MAX_BODY_BYTES) return false;
  const body = await readJsonBody(request.clone(), MAX_BODY_BYTES);
  return body.kind !== "too-large" && plainlyLegacy(request, body.parsedBody);
}

/** The traffic of 2025 clients: recognised without the v2 SDK. */
const PLAIN_2025: ReadonlyArray<readonly [string, Request]> = [
  [
    "initialize",
    post({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "c", version: "1" } },
    }),
  ],
  [
    "notifications/initialized",
    post({ jsonrpc: "2.0", method: "notifications/initialized" }, { "mcp-protocol-version": "2025-06-18" }),
  ],
  ["tools/list, string id", post({ jsonrpc: "2.0", id: "a", method: "tools/list", params: {} })],
  [
    "tools/call with a progress token",
    post(
      {
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: { name: "get_job", arguments: { jobId: "x" }, _meta: { progressToken: 3 } },
      },
      { "mcp-protocol-version": " 2025-11-25\t" },
    ),
  ],
  ["a non-POST request", new Request("https://mcp.example/mcp", { method: "GET" })],
];

/** Requests the SDK must classify: whatever it says, `plainlyLegacy` says false. */
const LEFT_TO_THE_SDK: ReadonlyArray<readonly [string, Request]> = [
  [
    "server/discover",
    post({ jsonrpc: "2.0", id: 1, method: "server/discover", params: { _meta: ENVELOPE } }),
  ],
  [
    "tools/list with a 2026 header",
    post(
      { jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: ENVELOPE } },
      {
        "mcp-protocol-version": "2026-07-28",
      },
    ),
  ],
  [
    "a 2026 header without the envelope",
    post({ jsonrpc: "2.0", id: 1, method: "tools/list" }, { "mcp-protocol-version": "2026-07-28" }),
  ],
  [
    "a padded 2026 header",
    post({ jsonrpc: "2.0", method: "notifications/initialized" }, { "mcp-protocol-version": " 2026-07-28" }),
  ],
  [
    "the envelope claim alone",
    post({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/list",
      params: { _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" } },
    }),
  ],
  [
    "a related-task key",
    post({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/list",
      params: { _meta: { "io.modelcontextprotocol/related-task": { taskId: 1 } } },
    }),
  ],
  [
    "a header that names no date",
    post({ jsonrpc: "2.0", id: 1, method: "ping" }, { "mcp-protocol-version": "x" }),
  ],
  ["an extra key", post({ jsonrpc: "2.0", id: 1, method: "ping", extra: true })],
  ["jsonrpc 1.0", post({ jsonrpc: "1.0", id: 1, method: "ping" })],
  ["a fractional id", post({ jsonrpc: "2.0", id: 1.5, method: "ping" })],
  ["a null id", post({ jsonrpc: "2.0", id: null, method: "ping" })],
  ["an unsafe integer id", post({ jsonrpc: "2.0", id: 2 ** 60, method: "ping" })],
  ["array params", post({ jsonrpc: "2.0", id: 1, method: "ping", params: [1] })],
  ["a string _meta", post({ jsonrpc: "2.0", id: 1, method: "ping", params: { _meta: "m" } })],
  [
    "a boolean progress token",
    post({ jsonrpc: "2.0", id: 1, method: "ping", params: { _meta: { progressToken: true } } }),
  ],
  ["a response", post({ jsonrpc: "2.0", id: 1, result: {} })],
  ["a batch", post([{ jsonrpc: "2.0", id: 1, method: "ping" }])],
  ["an empty batch", post([])],
  ["no method", post({ jsonrpc: "2.0", id: 1 })],
  ["not JSON", post("{")],
  ["an empty body", post("")],
  [
    "a body over the limit",
    post({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(2_000) } }),
  ],
  [
    "a declared length over the limit",
    post({ jsonrpc: "2.0", id: 1, method: "ping" }, { "content-length": String(MAX_BODY_BYTES + 1) }),
  ],
];

describe("plainly legacy: 2025 traffic recognised without the v2 SDK", () => {
  it.each(PLAIN_2025)(
    "%s is recognised, and the SDK routes it to the 2025 door too",
    async (_name, request) => {
      expect(await frontDoorSaysLegacy(request)).toBe(true);
      expect(await isLegacyRequest(request, undefined, { maxRequestBodySize: MAX_BODY_BYTES })).toBe(true);
    },
  );

  it.each(LEFT_TO_THE_SDK)("%s is left to the SDK's classification", async (_name, request) => {
    expect(await frontDoorSaysLegacy(request)).toBe(false);
  });

  it("decides from the body the front door read, without reading the request", () => {
    const request = post({ jsonrpc: "2.0", id: 1, method: "ping" });
    expect(plainlyLegacy(request, { jsonrpc: "2.0", id: 1, method: "ping" })).toBe(true);
    expect(plainlyLegacy(request, undefined)).toBe(false);
    expect(request.bodyUsed).toBe(false);
  });

  it("says legacy for no request the SDK would send to the 2026 door", async () => {
    // Variations of a tools/call: every one plainlyLegacy accepts must be legacy to the SDK as well.
    const metas: unknown[] = [undefined, {}, { progressToken: "t" }, { progressToken: 1.5 }, ENVELOPE, null];
    const versions: Array<string | undefined> = [undefined, "2025-06-18", "2026-07-28", "2099-01-01", ""];
    const ids: unknown[] = [1, "1", undefined, null, -0, 1e21];
    let recognised = 0;
    for (const meta of metas) {
      for (const version of versions) {
        for (const id of ids) {
          const message = {
            jsonrpc: "2.0",
            ...(id === undefined ? {} : { id }),
            method: "tools/call",
            params: { name: "get_job", arguments: {}, ...(meta === undefined ? {} : { _meta: meta }) },
          };
          const headers: Record<string, string> =
            version === undefined ? {} : { "mcp-protocol-version": version };
          if (!(await frontDoorSaysLegacy(post(message, headers)))) continue;
          recognised += 1;
          const sdk = await isLegacyRequest(post(message, headers), undefined, {
            maxRequestBodySize: MAX_BODY_BYTES,
          });
          expect({ message, headers, sdk }).toEqual({ message, headers, sdk: true });
        }
      }
    }
    expect(recognised).toBeGreaterThan(10);
  });
});
