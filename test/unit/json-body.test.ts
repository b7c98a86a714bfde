import { describe, expect, it } from "vitest";
import { readJsonBody } from "../../lambdas/shared/http/json-body.js";

const post = (body: string): Request =>
  new Request("https://mcp.example/mcp", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });

describe("readJsonBody: a POST body read once", () => {
  it("parses a JSON body", async () => {
    expect(await readJsonBody(post('{"jsonrpc":"2.0","id":1,"method":"ping"}'), 100)).toEqual({
      kind: "json",
      parsedBody: { jsonrpc: "2.0", id: 1, method: "ping" },
    });
  });

  it("refuses a body over the limit by its bytes, not its characters", async () => {
    // 41 characters, 74 bytes in UTF-8.
    const body = JSON.stringify({ q: "é".repeat(33) });
    expect([body.length, Buffer.byteLength(body)]).toEqual([41, 74]);
    expect((await readJsonBody(post(body), 60)).kind).toBe("too-large");
    expect((await readJsonBody(post(body), 80)).kind).toBe("json");
  });

  it("hands back a readable copy of a body that is no JSON, with the same headers", async () => {
    for (const text of ['{"jsonrpc":"2.0",', "", "   "]) {
      const read = await readJsonBody(post(text), 100);
      if (read.kind !== "not-json") throw new Error(`expected not-json for ${JSON.stringify(text)}`);
      expect(read.parsedBody).toBeUndefined();
      expect(read.request.method).toBe("POST");
      expect(read.request.headers.get("content-type")).toBe("application/json");
      expect(await read.request.text()).toBe(text);
    }
  });
});
