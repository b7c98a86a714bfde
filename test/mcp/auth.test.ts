import { DeleteItemCommand, GetItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { JobMessage } from "../../lambdas/shared/domain/job.js";
import type { Log } from "../../lambdas/shared/domain/logger.js";
import type { LocalStack } from "../../local/local-stack.js";
import { countItems } from "../support/local-aws.js";
import { callForJob, callTool, connectClient, startTestStack } from "../support/mcp-stack.js";
import { quiescent } from "../support/nothing-created.js";
import { MCP_HEADERS, START_CALL, toolCallBody } from "../support/raw-mcp.js";

const ALICE_KEY = "alice-key-6f1d0c2b9a8e7f6d5c4b";
const BOB_KEY = "bob-key-0a9b8c7d6e5f4a3b2c1d0e";

let stack: LocalStack;
let alice: Client;
let bob: Client;
const sent: JobMessage[] = [];
const logLines: string[] = [];
const capture =
  (level: string) =>
  (message: string, fields: Record<string, unknown>): void => {
    logLines.push(
      JSON.stringify({ level, message, fields }, (_key, value) =>
        value instanceof Error ? { ...value, message: value.message, stack: value.stack } : value,
      ),
    );
  };
const capturingLog: Log = { info: capture("info"), warn: capture("warn"), error: capture("error") };

beforeAll(async () => {
  stack = await startTestStack({
    env: { AUTH_MODE: "api-key", API_KEYS: `alice:${ALICE_KEY},bob:${BOB_KEY}` },
    log: capturingLog,
    wrap: {
      mcp: {
        queue: (queue) => ({
          send: async (message) => {
            sent.push(message);
            await queue.send(message);
          },
        }),
      },
    },
  });
  alice = await connectClient(stack.mcpUrl, { authorization: `Bearer ${ALICE_KEY}` });
  bob = await connectClient(stack.mcpUrl, { authorization: `Bearer ${BOB_KEY}` });
});

afterAll(async () => {
  await alice?.close();
  await bob?.close();
  await stack?.stop();
});

function post(body: string, headers: Record<string, string> = {}, url = stack.mcpUrl): Promise<Response> {
  return fetch(url, { method: "POST", headers: { ...MCP_HEADERS, ...headers }, body });
}

/** The raw HTTP body of one tool call made with `key`. */
async function rawAnswer(key: string, name: string, args: Record<string, unknown>): Promise<string> {
  const response = await post(toolCallBody(name, args), { authorization: `Bearer ${key}` });
  expect(response.status).toBe(200);
  return response.text();
}

/** Sends a request and checks that it left no row behind and sent no message. */
async function nothingCreated(send: () => Promise<Response>): Promise<Response> {
  const rows = await countItems(stack.clients.dynamo, stack.resources.tableName);
  const messages = sent.length;
  const response = await send();
  await response.clone().text();
  expect(await countItems(stack.clients.dynamo, stack.resources.tableName)).toBe(rows);
  expect(sent.length).toBe(messages);
  return response;
}

describe("requests without valid credentials are refused and create nothing", () => {
  it("no Authorization header: 401 with a bare Bearer challenge", async () => {
    const response = await nothingCreated(() => post(START_CALL));
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="mcp"');
    expect(await response.json()).toEqual({
      jsonrpc: "2.0",
      error: {
        code: -32001,
        message: "Unauthorized: send your API key in an Authorization: Bearer <key> header.",
      },
      id: null,
    });
  });

  it("a wrong key: 401 invalid_token, and the answer does not echo the key", async () => {
    const wrongKey = `${ALICE_KEY}-wrong`;
    const response = await nothingCreated(() => post(START_CALL, { authorization: `Bearer ${wrongKey}` }));
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(
      'Bearer realm="mcp", error="invalid_token", error_description="The API key is not valid."',
    );
    expect(await response.text()).not.toContain(wrongKey);
  });

  it("another scheme (Basic) counts as no credentials", async () => {
    const basic = Buffer.from(`alice:${ALICE_KEY}`).toString("base64");
    const response = await nothingCreated(() => post(START_CALL, { authorization: `Basic ${basic}` }));
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="mcp"');
  });

  it("a valid key in the query string: 401 invalid_request, even alongside a valid header", async () => {
    for (const headers of [{}, { authorization: `Bearer ${ALICE_KEY}` }] as Record<string, string>[]) {
      const response = await nothingCreated(() =>
        post(START_CALL, headers, `${stack.mcpUrl}?access_token=${ALICE_KEY}`),
      );
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe(
        'Bearer realm="mcp", error="invalid_request", error_description="Send the token in the Authorization header, never in the query string."',
      );
      expect(await response.text()).not.toContain(ALICE_KEY);
    }
  });

  it("the OAuth metadata is not served in api-key mode", async () => {
    expect((await fetch(`${stack.origin}/.well-known/oauth-protected-resource`)).status).toBe(404);
  });
});

describe("a valid key", () => {
  it("lets the real MCP client list the tools", async () => {
    const { tools } = await alice.listTools();
    expect(tools.map((tool) => tool.name)).toContain("get_job");
  });

  it("makes the key's principal the owner, whatever the arguments say", async () => {
    const job = await callForJob(alice, "start_slow_api", {
      query: "mine",
      delaySeconds: 0,
      owner: "key:bob",
    });
    const { Item } = await stack.clients.dynamo.send(
      new GetItemCommand({ TableName: stack.resources.tableName, Key: { id: { S: job.jobId } } }),
    );
    expect(Item?.owner?.S).toBe("key:alice");
    expect(await callTool(bob, "get_job", { jobId: job.jobId })).toMatchObject({ isError: true });
  });
});

describe("one caller cannot see another caller's jobs", () => {
  it("bob's get_job and cancel_job on alice's job answer byte for byte what an unknown id answers", async () => {
    const job = await callForJob(alice, "start_slow_api", { query: "alice's secret", delaySeconds: 60 });
    const asks: Array<[string, Record<string, unknown>]> = [
      ["get_job", { jobId: job.jobId }],
      ["get_job", { jobId: job.jobId, waitSeconds: 1 }],
      ["cancel_job", { jobId: job.jobId }],
    ];
    const whileAlicesJobRuns = await Promise.all(asks.map(([name, args]) => rawAnswer(BOB_KEY, name, args)));

    // bob's cancel changed nothing: alice's job is still open.
    const untouched = await callForJob(alice, "get_job", { jobId: job.jobId });
    expect(["queued", "running"]).toContain(untouched.status);
    expect((await callForJob(alice, "cancel_job", { jobId: job.jobId })).status).toBe("cancelled");
    const afterAliceCancelled = await Promise.all(asks.map(([name, args]) => rawAnswer(BOB_KEY, name, args)));

    // Now make the very same id unknown: delete alice's row, and ask again. First let the worker
    // settle the job's message: a start message seen again with no row would write the job back
    // (the store-stall recovery), which a real row never meets before its TTL.
    await quiescent(stack);
    await stack.clients.dynamo.send(
      new DeleteItemCommand({ TableName: stack.resources.tableName, Key: { id: { S: job.jobId } } }),
    );
    const unknown = await Promise.all(asks.map(([name, args]) => rawAnswer(BOB_KEY, name, args)));

    expect(whileAlicesJobRuns).toEqual(unknown);
    expect(afterAliceCancelled).toEqual(unknown);
    expect(JSON.parse(unknown[0] ?? "")).toEqual({
      jsonrpc: "2.0",
      id: 1,
      result: {
        isError: true,
        content: [{ type: "text", text: `Job ${job.jobId} was not found or has expired.` }],
      },
    });
    // And an id that never existed answers the same, but for the id itself.
    const neverExisted = crypto.randomUUID();
    const fresh = await rawAnswer(BOB_KEY, "get_job", { jobId: neverExisted });
    expect(fresh.replaceAll(neverExisted, job.jobId)).toBe(unknown[0]);
  });

  it("requests of both callers at once each act as their own caller (the endpoint reuses its servers)", async () => {
    const callers = Array.from({ length: 24 }, (_, index) =>
      index % 2 === 0 ? { client: alice, owner: "key:alice" } : { client: bob, owner: "key:bob" },
    );
    const started = await Promise.all(
      callers.map(async ({ client, owner }) => ({
        owner,
        job: await callForJob(client, "start_slow_api", { query: "interleaved", delaySeconds: 60 }),
      })),
    );
    for (const { owner, job } of started) {
      const { Item } = await stack.clients.dynamo.send(
        new GetItemCommand({ TableName: stack.resources.tableName, Key: { id: { S: job.jobId } } }),
      );
      expect(Item?.owner?.S).toBe(owner);
    }
    // Each caller at once asks for every job: only its own are found.
    const found = await Promise.all(
      started.flatMap(({ job }) =>
        [alice, bob].map(
          async (client) => !(await callTool(client, "get_job", { jobId: job.jobId })).isError,
        ),
      ),
    );
    expect(found).toEqual(started.flatMap(({ owner }) => [owner === "key:alice", owner === "key:bob"]));
    await Promise.all(
      started.map(({ owner, job }) =>
        callForJob(owner === "key:alice" ? alice : bob, "cancel_job", { jobId: job.jobId }),
      ),
    );
  });

  it("bob's list_jobs does not show alice's jobs", async () => {
    const alices = await callForJob(alice, "start_slow_api", { query: "listed", delaySeconds: 0 });
    const bobs = await callForJob(bob, "start_slow_api", { query: "listed", delaySeconds: 0 });
    const ids = async (client: Client): Promise<string[]> =>
      (
        (await callTool(client, "list_jobs", { limit: 100 })).structured as { jobs: { jobId: string }[] }
      ).jobs.map((job) => job.jobId);
    const bobSees = await ids(bob);
    expect(bobSees).toContain(bobs.jobId);
    expect(bobSees).not.toContain(alices.jobId);
    const aliceSees = await ids(alice);
    expect(aliceSees).toContain(alices.jobId);
    expect(aliceSees).not.toContain(bobs.jobId);
  });

  it("the same idempotencyKey from two callers starts two jobs", async () => {
    const args = { query: "same", delaySeconds: 0, idempotencyKey: "shared-key" };
    const first = await callForJob(alice, "start_slow_api", args);
    const second = await callForJob(bob, "start_slow_api", args);
    expect(second.jobId).not.toBe(first.jobId);
    expect((await callForJob(alice, "start_slow_api", args)).jobId).toBe(first.jobId);
  });
});

describe("tokens stay at the front door", () => {
  it("no row and no message holds a key or an Authorization header", async () => {
    const job = await callForJob(alice, "start_slow_api", {
      query: "check rows",
      delaySeconds: 0,
      waitSeconds: 10,
    });
    expect(job.status).toBe("completed");
    const { Items = [] } = await stack.clients.dynamo.send(
      new ScanCommand({ TableName: stack.resources.tableName }),
    );
    const everything = JSON.stringify([Items, sent]).toLowerCase();
    for (const secret of [ALICE_KEY, BOB_KEY]) expect(everything).not.toContain(secret.toLowerCase());
    expect(everything).not.toContain("authorization");
    expect(everything).not.toContain("bearer");
    // The message carries the job id and type, and the new job itself (so the worker can write its row
    // if the start's own write never lands): of the caller, only the verified principal, as in the row.
    for (const message of sent) {
      expect(Object.keys(message).sort()).toEqual(["job", "jobId", "type"]);
      const carried = (message as { job: Record<string, unknown> }).job;
      expect(carried).toMatchObject({ id: (message as { jobId: string }).jobId, owner: expect.any(String) });
      expect(Items.map((item) => item.owner?.S)).toContain(carried.owner);
    }
  });

  it("no log line holds a key, for a refused and for a served request", async () => {
    const consoleLines: string[] = [];
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        consoleLines.push(args.map(String).join(" "));
      }),
    );
    try {
      const wrongKey = `${BOB_KEY}-but-wrong`;
      expect((await post(START_CALL, { authorization: `Bearer ${wrongKey}` })).status).toBe(401);
      expect((await post(START_CALL, { authorization: `Bearer ${ALICE_KEY}` })).status).toBe(200);
      expect((await post(START_CALL, {}, `${stack.mcpUrl}?access_token=${ALICE_KEY}`)).status).toBe(401);
      const everything = [...logLines, ...consoleLines].join("\n");
      expect(logLines.some((line) => line.includes("API key refused"))).toBe(true);
      for (const secret of [ALICE_KEY, BOB_KEY, wrongKey]) expect(everything).not.toContain(secret);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});
