import type { ServerResponse } from "node:http";
import type { Client as ModernClient } from "@modelcontextprotocol/client";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import * as z from "zod";
import { DynamoSubscriptionStore } from "../../lambdas/shared/adapters/dynamo-subscription-store.js";
import { generateWebhookSecret } from "../../lambdas/shared/adapters/standard-webhooks.js";
import { API_KEY_PRINCIPAL_PREFIX } from "../../lambdas/shared/auth/api-key-authenticator.js";
import type { Log } from "../../lambdas/shared/domain/logger.js";
import type { LocalStack } from "../../local/local-stack.js";
import { eventually } from "../support/eventually.js";
import { type HttpFixture, type RecordedRequest, startHttpFixture } from "../support/http-fixture.js";
import { countItems } from "../support/local-aws.js";
import { connectModernClient, postModern } from "../support/mcp-2026.js";
import { callForJob, connectClient, startTestStack } from "../support/mcp-stack.js";
import { MCP_HEADERS } from "../support/raw-mcp.js";

const ALICE_KEY = "alice-key-4e2a9c1b7d3f5a8e6c0b";
const BOB_KEY = "bob-key-8d1c3e5f7a9b2c4d6e8f0a";
/** Each subscription's own secret: the key its events are signed with. None may ever be logged or answered. */
const SECRETS = {
  alice: generateWebhookSecret(),
  aliceFiltered: generateWebhookSecret(),
  bob: generateWebhookSecret(),
  bobLater: generateWebhookSecret(),
  spare: generateWebhookSecret(),
};
const LIMIT = 4;

let stack: LocalStack;
let receiver: HttpFixture;
let alice: Client;
let bob: Client;
let bobModern: ModernClient;
const logLines: string[] = [];
/** Every result and error the server answered to an events/* request, as text. */
const answers: string[] = [];

const capture =
  (level: string) =>
  (message: string, fields: Record<string, unknown>): void => {
    logLines.push(
      JSON.stringify({ level, message, fields }, (_key, value) =>
        value instanceof Error ? { message: value.message, stack: value.stack } : value,
      ),
    );
  };
const capturingLog: Log = { info: capture("info"), warn: capture("warn"), error: capture("error") };

/** The subscriber: its path says how it answers; a verification is echoed unless told not to. */
function answer(request: RecordedRequest, response: ServerResponse): void {
  const path = request.target.split("?")[0] ?? "";
  const body = JSON.parse(request.body) as { type?: string; challenge?: string };
  if (body.type === "verification") {
    const challenge = path.startsWith("/wrong-echo") ? "not-the-challenge" : body.challenge;
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ challenge }));
  } else if (path.startsWith("/gone")) {
    response.writeHead(410).end();
  } else {
    response.writeHead(204).end();
  }
}

beforeAll(async () => {
  receiver = await startHttpFixture(answer);
  stack = await startTestStack({
    env: {
      AUTH_MODE: "api-key",
      API_KEYS: `alice:${ALICE_KEY},bob:${BOB_KEY}`,
      CALLBACK_ALLOW_LOOPBACK: "true",
      WEBHOOK_SECRET: generateWebhookSecret(),
      WEBHOOK_RETRY_DELAYS_SECONDS: "1",
      WEBHOOK_MAX_ATTEMPTS: "5",
      WEBHOOK_TIMEOUT_MS: "2000",
      EVENT_SUBSCRIPTION_LIMIT: String(LIMIT),
    },
    log: capturingLog,
  });
  alice = await connectClient(stack.mcpUrl, { authorization: `Bearer ${ALICE_KEY}` });
  bob = await connectClient(stack.mcpUrl, { authorization: `Bearer ${BOB_KEY}` });
  bobModern = await connectModernClient(stack.mcpUrl, { authorization: `Bearer ${BOB_KEY}` });
});

afterAll(async () => {
  await alice?.close();
  await bob?.close();
  await bobModern?.close();
  await stack?.stop();
  await receiver?.close();
});

const AnyResult = z.looseObject({});
const SubscribeResult = z.object({
  id: z.string().regex(/^sub_[0-9a-f]{40}$/),
  refreshBefore: z.iso.datetime({ offset: true }),
  cursor: z.null(),
  truncated: z.literal(false),
});

type EventsClient = Client | ModernClient;

/** One events/* request through a real SDK client (either era); the answer or the error is recorded. */
async function request(
  client: EventsClient,
  method: string,
  params: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  try {
    const result = await (client as Client).request({ method, params } as never, AnyResult);
    answers.push(JSON.stringify(result));
    return result;
  } catch (error) {
    answers.push(JSON.stringify(error, Object.getOwnPropertyNames(error)));
    throw error;
  }
}

function subscribeParams(
  path: string,
  secret: string,
  args: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name: "job.finished",
    arguments: args,
    delivery: {
      mode: "webhook",
      url: `${receiver.origin}${path}?mcp_event_subscription=${path.slice(1)}`,
      secret,
    },
    cursor: null,
  };
}

async function subscribe(
  client: EventsClient,
  path: string,
  secret: string,
  args: Record<string, unknown> = {},
): Promise<z.infer<typeof SubscribeResult>> {
  return SubscribeResult.parse(
    await request(client, "events/subscribe", subscribeParams(path, secret, args)),
  );
}

/** The JSON-RPC error an events/* request answered. */
async function refusal(
  client: EventsClient,
  method: string,
  params: Record<string, unknown>,
): Promise<{ code: number; message: string; data?: unknown }> {
  const error = await request(client, method, params).then(
    () => undefined,
    (thrown: unknown) => thrown as { code: number; message: string; data?: unknown },
  );
  expect(error, "the request should have been refused").toBeDefined();
  return error as { code: number; message: string; data?: unknown };
}

interface ReceivedEvent {
  readonly subscriptionId: string;
  readonly eventId: string;
  readonly name: string;
  readonly data: { jobId: string; status: string; type: string };
}

/** The events POSTed to `path` (challenges left out), each verified with that subscription's secret. */
function eventsAt(path: string, secret: string): ReceivedEvent[] {
  return receiver.requests
    .filter((received) => received.target.split("?")[0] === path && !received.body.includes('"verification"'))
    .map((received) => {
      expect(received.headers["content-type"]).toBe("application/json");
      const headers = {
        "webhook-id": String(received.headers["webhook-id"]),
        "webhook-timestamp": String(received.headers["webhook-timestamp"]),
        "webhook-signature": String(received.headers["webhook-signature"]),
      };
      const event = new Webhook(secret).verify(received.body, headers) as Omit<
        ReceivedEvent,
        "subscriptionId"
      >;
      expect(event.eventId).toBe(headers["webhook-id"]);
      expect(Object.keys(event).sort()).toEqual(["data", "eventId", "name", "timestamp"]);
      return { ...event, subscriptionId: String(received.headers["x-mcp-subscription-id"]) };
    });
}

async function arrived<T>(read: () => T, done: (value: T) => boolean, timeoutMs = 45_000): Promise<T> {
  const value = await eventually(read, done, timeoutMs);
  expect(done(value), "the awaited deliveries did not arrive in time").toBe(true);
  return value;
}

function eventFor(path: string, secret: string, jobId: string): Promise<ReceivedEvent[]> {
  return arrived(
    () => eventsAt(path, secret).filter((event) => event.data.jobId === jobId),
    (events) => events.length > 0,
  );
}

async function subscriptionItems(): Promise<number> {
  return countItems(stack.clients.dynamo, stack.resources.subscriptionTableName);
}

describe("the events capability and events/list, on both doors", () => {
  it("server/discover (2026-07-28) declares a top-level events capability (read on the wire: the SDK clients drop keys they do not know)", async () => {
    const response = await postModern(stack.mcpUrl, {
      method: "server/discover",
      tasks: false,
      headers: { authorization: `Bearer ${BOB_KEY}` },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { result: { capabilities: Record<string, unknown> } };
    expect(body.result.capabilities).toMatchObject({ events: {}, extensions: expect.any(Object) });
  });

  it("the 2025-11-25 initialize result carries it too (SDK v1's client drops keys it does not know, so read the wire)", async () => {
    const response = await fetch(stack.mcpUrl, {
      method: "POST",
      headers: { ...MCP_HEADERS, authorization: `Bearer ${ALICE_KEY}` },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-11-25",
          capabilities: {},
          clientInfo: { name: "raw", version: "1" },
        },
      }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      result: { protocolVersion: string; capabilities: Record<string, unknown> };
    };
    expect(body.result.protocolVersion).toBe("2025-11-25");
    expect(body.result.capabilities).toMatchObject({ events: {}, tools: expect.any(Object) });
  });

  it("events/list offers job.finished by webhook with its filters and payload schema", async () => {
    for (const client of [alice, bobModern]) {
      const listed = await request(client, "events/list", {});
      expect(listed.events).toEqual([
        expect.objectContaining({
          name: "job.finished",
          delivery: ["webhook"],
          inputSchema: expect.objectContaining({
            type: "object",
            properties: expect.objectContaining({ jobId: expect.any(Object), type: expect.any(Object) }),
          }),
          payloadSchema: expect.objectContaining({
            properties: expect.objectContaining({ jobId: expect.any(Object), status: expect.any(Object) }),
          }),
        }),
      ]);
    }
  });

  it("no key: 401, and nothing is stored", async () => {
    const before = await subscriptionItems();
    const response = await fetch(stack.mcpUrl, {
      method: "POST",
      headers: MCP_HEADERS,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "events/subscribe",
        params: subscribeParams("/alice", SECRETS.spare),
      }),
    });
    expect(response.status).toBe(401);
    const modern = await postModern(stack.mcpUrl, { method: "events/list", tasks: false });
    expect(modern.status).toBe(401);
    expect(await subscriptionItems()).toBe(before);
  });
});

describe("delivery: each caller hears of its own jobs only, once each, signed with its own secret", () => {
  let aliceSubscription: string;
  let bobSubscription: string;

  it("alice subscribes through the 2025 door, bob through the 2026 door; both pass the challenge", async () => {
    aliceSubscription = (await subscribe(alice, "/alice", SECRETS.alice)).id;
    bobSubscription = (await subscribe(bobModern, "/bob", SECRETS.bob)).id;
    expect(aliceSubscription).not.toBe(bobSubscription);
    const challenges = receiver.requests.filter((received) => received.body.includes('"verification"'));
    expect(challenges.map((received) => received.headers["x-mcp-subscription-id"])).toEqual(
      expect.arrayContaining([aliceSubscription, bobSubscription]),
    );
    for (const challenge of challenges) {
      expect(String(challenge.headers["webhook-id"])).toMatch(/^msg_verification_/);
      expect(challenge.headers["webhook-signature"]).toMatch(/^v1,/);
    }
  });

  it("completed, failed and cancelled jobs each reach their owner's subscriber once, with the job view", async () => {
    const completed = await callForJob(alice, "start_slow_api", { query: "q", delaySeconds: 0 });
    const failed = await callForJob(alice, "start_failing_api", { query: "q", delaySeconds: 0 });
    const hung = await callForJob(alice, "start_hung_api", { query: "q" });
    await callForJob(alice, "cancel_job", { jobId: hung.jobId });
    const bobs = await callForJob(bob, "start_slow_api", { query: "b", delaySeconds: 0 });

    const expected = { [completed.jobId]: "completed", [failed.jobId]: "failed", [hung.jobId]: "cancelled" };
    const received = await arrived(
      () => eventsAt("/alice", SECRETS.alice),
      (events) => Object.keys(expected).every((jobId) => events.some((event) => event.data.jobId === jobId)),
    );
    const bobReceived = await eventFor("/bob", SECRETS.bob, bobs.jobId);

    for (const event of received) {
      expect(event).toMatchObject({ name: "job.finished", subscriptionId: aliceSubscription });
      expect(event.data.status).toBe(expected[event.data.jobId]);
    }
    expect(bobReceived[0]).toMatchObject({
      name: "job.finished",
      subscriptionId: bobSubscription,
      data: { jobId: bobs.jobId, status: "completed", type: "slow_api" },
    });
    // Neither saw the other's jobs.
    expect(eventsAt("/bob", SECRETS.bob).map((event) => event.data.jobId)).not.toContain(completed.jobId);
    expect(received.map((event) => event.data.jobId)).not.toContain(bobs.jobId);

    // A later job of alice's is the barrier: once it arrived, each earlier event had come exactly once.
    const later = await callForJob(alice, "start_slow_api", { query: "later", delaySeconds: 0 });
    await eventFor("/alice", SECRETS.alice, later.jobId);
    const ids = eventsAt("/alice", SECRETS.alice).map((event) => event.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(4);
  });

  it("a jobId filter narrows the subscription to that job", async () => {
    const watched = await callForJob(alice, "start_hung_api", { query: "watched" });
    await subscribe(alice, "/alice-filtered", SECRETS.aliceFiltered, { jobId: watched.jobId });
    const other = await callForJob(alice, "start_slow_api", { query: "other", delaySeconds: 0 });
    // The unfiltered subscription hears of the other job: its release went by without the filtered one.
    await eventFor("/alice", SECRETS.alice, other.jobId);
    await callForJob(alice, "cancel_job", { jobId: watched.jobId });

    const filtered = await eventFor("/alice-filtered", SECRETS.aliceFiltered, watched.jobId);
    expect(filtered[0]?.data.status).toBe("cancelled");
    expect(eventsAt("/alice-filtered", SECRETS.aliceFiltered).map((event) => event.data.jobId)).toEqual([
      watched.jobId,
    ]);
  });

  it("after unsubscribe nothing arrives: a later job reaches a new subscription but not the old one", async () => {
    const result = await request(bobModern, "events/unsubscribe", {
      name: "job.finished",
      arguments: {},
      delivery: { mode: "webhook", url: `${receiver.origin}/bob?mcp_event_subscription=bob` },
    });
    expect(result).toMatchObject({});
    await subscribe(bob, "/bob-later", SECRETS.bobLater);
    const before = eventsAt("/bob", SECRETS.bob).length;

    const job = await callForJob(bob, "start_slow_api", { query: "after", delaySeconds: 0 });
    await eventFor("/bob-later", SECRETS.bobLater, job.jobId);
    expect(eventsAt("/bob", SECRETS.bob)).toHaveLength(before);
  });

  it("a receiver answering 410 Gone ends its subscription", async () => {
    const { id } = await subscribe(bob, "/gone", SECRETS.spare);
    const store = new DynamoSubscriptionStore({
      client: stack.clients.dynamo,
      tableName: stack.resources.subscriptionTableName,
    });
    const job = await callForJob(bob, "start_slow_api", { query: "gone", delaySeconds: 0 });
    await eventFor("/bob-later", SECRETS.bobLater, job.jobId);
    const principal = `${API_KEY_PRINCIPAL_PREFIX}bob`;
    await arrived(
      () =>
        receiver.requests.filter(
          (received) => received.target.startsWith("/gone") && !received.body.includes('"verification"'),
        ).length,
      (count) => count === 1,
    );
    const gone = await eventually(
      () => store.get(principal, id),
      (value) => value === undefined,
    );
    expect(gone).toBeUndefined();
  });
});

describe("refused subscriptions store nothing", () => {
  it("a receiver that echoes the wrong challenge gets -32015 and no subscription (both doors)", async () => {
    for (const client of [alice, bobModern]) {
      const before = await subscriptionItems();
      const error = await refusal(client, "events/subscribe", subscribeParams("/wrong-echo", SECRETS.spare));
      expect(error.code).toBe(-32015);
      expect(error.data).toEqual({ reason: "challenge_failed" });
      expect(await subscriptionItems()).toBe(before);
    }
  });

  it("private, metadata and credentialed URLs are refused before any request leaves, with no row", async () => {
    const cases: Array<[string, number]> = [
      ["https://10.0.0.1/hook", -32015],
      ["https://169.254.169.254/latest/meta-data", -32015],
      ["https://[::ffff:192.168.1.1]/hook", -32015],
      ["https://user:pass@hooks.example.com/hook", -32602],
      ["http://hooks.example.com/hook", -32602],
      ["ftp://hooks.example.com/hook", -32602],
    ];
    const before = await subscriptionItems();
    const sentBefore = receiver.requests.length;
    for (const [url, code] of cases) {
      const params = {
        ...subscribeParams("/x", SECRETS.spare),
        delivery: { mode: "webhook", url, secret: SECRETS.spare },
      };
      const error = await refusal(alice, "events/subscribe", params);
      expect(error.code, url).toBe(code);
      if (code === -32015) expect(error.data).toEqual({ reason: "refused" });
      expect(error.message).not.toContain("pass");
    }
    expect(await subscriptionItems()).toBe(before);
    expect(receiver.requests.length).toBe(sentBefore);
  });

  it("bad params, an unknown event and a wrong mode get their own codes", async () => {
    const before = await subscriptionItems();
    const base = subscribeParams("/alice-bad", SECRETS.spare);
    const short = `whsec_${Buffer.alloc(16, 7).toString("base64")}`;
    const long = `whsec_${Buffer.alloc(65, 7).toString("base64")}`;
    const expectations: Array<[Record<string, unknown>, number]> = [
      [{ ...base, name: "job.started" }, -32011],
      [{ ...base, delivery: { mode: "push" } }, -32602],
      [{ ...base, delivery: { ...(base.delivery as object), mode: "poll" } }, -32014],
      [{ ...base, delivery: { ...(base.delivery as object), secret: short } }, -32602],
      [{ ...base, delivery: { ...(base.delivery as object), secret: long } }, -32602],
      [{ ...base, delivery: { ...(base.delivery as object), secret: "not-a-secret" } }, -32602],
      [{ ...base, arguments: { jobId: "not-a-uuid" } }, -32602],
      [{ ...base, arguments: { colour: "red" } }, -32602],
    ];
    for (const [params, code] of expectations) {
      const error = await refusal(bobModern, "events/subscribe", params);
      expect(error.code, JSON.stringify(params)).toBe(code);
    }
    expect(await subscriptionItems()).toBe(before);
  });

  it("past the per-caller limit a new subscription is refused with -32013; a refresh still passes", async () => {
    // alice holds /alice and /alice-filtered; fill her up to the limit.
    for (let held = 2; held < LIMIT; held += 1) await subscribe(alice, `/alice-extra-${held}`, SECRETS.spare);
    const before = await subscriptionItems();
    const error = await refusal(
      alice,
      "events/subscribe",
      subscribeParams("/alice-one-too-many", SECRETS.spare),
    );
    expect(error.code).toBe(-32013);
    expect(error.message).toContain(String(LIMIT));
    expect(await subscriptionItems()).toBe(before);

    const refreshed = await subscribe(alice, "/alice", SECRETS.spare);
    expect(refreshed.id).toMatch(/^sub_/);
    expect(await subscriptionItems()).toBe(before);
  });
});

describe("secrets", () => {
  it("no subscription secret appears in any log line or any answer", async () => {
    const consoleLines: string[] = [];
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        consoleLines.push(args.map(String).join(" "));
      }),
    );
    try {
      await subscribe(alice, "/alice", SECRETS.alice);
      await refusal(alice, "events/subscribe", subscribeParams("/wrong-echo", SECRETS.alice));
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(logLines.some((line) => line.includes("Event subscription"))).toBe(true);
    expect(answers.length).toBeGreaterThan(10);
    const everything = [...logLines, ...consoleLines, ...answers].join("\n");
    for (const secret of Object.values(SECRETS)) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(secret.slice("whsec_".length));
    }
  });
});
