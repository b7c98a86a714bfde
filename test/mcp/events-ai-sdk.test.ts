import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateWebhookSecret } from "../../lambdas/shared/adapters/standard-webhooks.js";
import type { LocalStack } from "../../local/local-stack.js";
import { callForJob, connectClient, startTestStack } from "../support/mcp-stack.js";

/**
 * The Vercel AI SDK (`@ai-sdk/mcp`: `experimental_events` and `experimental_createMCPEventWebhook`)
 * against the local stack: its own client subscribes, its own receiver answers the challenge and
 * verifies every delivery. It runs in a child process that this file starts and stops. The package
 * declares Node >= 22, but what is used here runs on the Node 20 of these machines, so the child
 * runs on the same Node as the tests.
 */
const KEYS = { alice: "alice-key-ai-sdk-5c7e9a1b3d", bob: "bob-key-ai-sdk-2f4a6c8e0b1d" } as const;
type Caller = keyof typeof KEYS;
const SCRIPT = fileURLToPath(new URL("../support/ai-sdk-events-client.mjs", import.meta.url));

let stack: LocalStack;
let alice: Client;
let bob: Client;
let child: ChildProcessWithoutNullStreams;
const pending = new Map<number, (reply: Reply) => void>();
let nextId = 1;

interface Reply {
  readonly id?: number;
  readonly ok: boolean;
  readonly result?: Record<string, unknown>;
  readonly error?: string;
}

interface Received {
  readonly caller: Caller;
  readonly subscriptionId: string;
  readonly event: { eventId: string; name: string; data: { jobId: string; status: string } };
}

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      AUTH_MODE: "api-key",
      API_KEYS: `alice:${KEYS.alice},bob:${KEYS.bob}`,
      CALLBACK_ALLOW_LOOPBACK: "true",
      WEBHOOK_SECRET: generateWebhookSecret(),
      WEBHOOK_RETRY_DELAYS_SECONDS: "1",
      WEBHOOK_MAX_ATTEMPTS: "10",
      WEBHOOK_TIMEOUT_MS: "2000",
    },
  });
  alice = await connectClient(stack.mcpUrl, { authorization: `Bearer ${KEYS.alice}` });
  bob = await connectClient(stack.mcpUrl, { authorization: `Bearer ${KEYS.bob}` });
  // alice's client opens with server/discover (the 2026-07-28 door), bob's with initialize (2025-11-25).
  child = spawn(
    process.execPath,
    [SCRIPT, stack.mcpUrl, `alice=${KEYS.alice}`, `bob=${KEYS.bob}=initialize`],
    {
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the AI SDK client exited with ${code}`)));
    let buffered = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const reply = JSON.parse(buffered.slice(0, newline)) as Reply & { ready?: boolean };
        buffered = buffered.slice(newline + 1);
        if (reply.ready) resolve();
        else if (reply.id !== undefined) pending.get(reply.id)?.(reply);
        newline = buffered.indexOf("\n");
      }
    });
  });
  await ready;
});

afterAll(async () => {
  if (child !== undefined && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  await alice?.close();
  await bob?.close();
  await stack?.stop();
});

/** One command to the AI SDK process; its answer (or its error text). */
function send(command: Record<string, unknown>): Promise<Reply> {
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    child.stdin.write(`${JSON.stringify({ ...command, id })}\n`);
  });
}

async function ok(command: Record<string, unknown>): Promise<Record<string, unknown>> {
  const reply = await send(command);
  expect(reply.error, JSON.stringify(command)).toBeUndefined();
  return reply.result ?? {};
}

async function received(): Promise<Received[]> {
  return (await ok({ op: "received" })).received as Received[];
}

async function receivedUntil(done: (all: Received[]) => boolean, timeoutMs = 60_000): Promise<Received[]> {
  const until = Date.now() + timeoutMs;
  let all = await received();
  while (!done(all) && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    all = await received();
  }
  expect(done(all), "the AI SDK receiver did not get the awaited events in time").toBe(true);
  return all;
}

const has = (all: Received[], subscriptionId: string, jobId: string): boolean =>
  all.some((item) => item.subscriptionId === subscriptionId && item.event.data.jobId === jobId);

describe("the AI SDK's events client and webhook receiver", () => {
  const subscriptions: Record<string, string> = {};

  it("events/list offers job.finished, and both callers subscribe through the challenge", async () => {
    const listed = await ok({ op: "list", caller: "alice" });
    expect(listed.events).toEqual([expect.objectContaining({ name: "job.finished", delivery: ["webhook"] })]);
    for (const caller of ["alice", "bob"] as const) {
      const result = await ok({ op: "subscribe", caller });
      expect(result).toMatchObject({ id: expect.stringMatching(/^sub_/), cursor: null, truncated: false });
      subscriptions[caller] = String(result.id);
    }
  });

  it("each caller receives signed events for its own finished jobs only, with the right status, once each", async () => {
    const completed = await callForJob(alice, "start_slow_api", { query: "q", delaySeconds: 0 });
    const failed = await callForJob(alice, "start_failing_api", { query: "q", delaySeconds: 0 });
    const hung = await callForJob(alice, "start_hung_api", { query: "q" });
    await callForJob(alice, "cancel_job", { jobId: hung.jobId });
    const bobs = await callForJob(bob, "start_slow_api", { query: "b", delaySeconds: 0 });
    const expected: Record<string, string> = {
      [completed.jobId]: "completed",
      [failed.jobId]: "failed",
      [hung.jobId]: "cancelled",
    };
    const aliceSub = subscriptions.alice as string;
    const bobSub = subscriptions.bob as string;
    await receivedUntil(
      (all) =>
        Object.keys(expected).every((jobId) => has(all, aliceSub, jobId)) && has(all, bobSub, bobs.jobId),
    );
    // A later job is the barrier for "once each".
    const later = await callForJob(alice, "start_slow_api", { query: "later", delaySeconds: 0 });
    const all = await receivedUntil((items) => has(items, aliceSub, later.jobId));

    const alices = all.filter((item) => item.caller === "alice");
    const bobsEvents = all.filter((item) => item.caller === "bob");
    for (const item of alices) {
      expect(item.subscriptionId).toBe(aliceSub);
      expect(item.event.name).toBe("job.finished");
      const status = expected[item.event.data.jobId];
      if (status !== undefined) expect(item.event.data.status).toBe(status);
    }
    expect(alices.map((item) => item.event.data.jobId).sort()).toEqual(
      [...Object.keys(expected), later.jobId].sort(),
    );
    expect(bobsEvents.map((item) => item.event.data.jobId)).toEqual([bobs.jobId]);
    expect(bobsEvents[0]?.subscriptionId).toBe(bobSub);
    const ids = all.map((item) => `${item.subscriptionId}:${item.event.eventId}`);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("a jobId filter narrows a subscription to that job", async () => {
    const watched = await callForJob(alice, "start_hung_api", { query: "watched" });
    const filtered = String(
      (await ok({ op: "subscribe", caller: "alice", arguments: { jobId: watched.jobId } })).id,
    );
    const other = await callForJob(alice, "start_slow_api", { query: "other", delaySeconds: 0 });
    await receivedUntil((all) => has(all, subscriptions.alice as string, other.jobId));
    await callForJob(alice, "cancel_job", { jobId: watched.jobId });
    const all = await receivedUntil((items) => has(items, filtered, watched.jobId));
    const toFiltered = all.filter((item) => item.subscriptionId === filtered);
    expect(toFiltered.map((item) => [item.event.data.jobId, item.event.data.status])).toEqual([
      [watched.jobId, "cancelled"],
    ]);
  });

  it("after unsubscribe nothing arrives: a later job reaches a new subscription, not the old one", async () => {
    await ok({ op: "unsubscribe", caller: "bob", subscriptionId: subscriptions.bob });
    const renewed = String((await ok({ op: "subscribe", caller: "bob" })).id);
    expect(renewed).not.toBe(subscriptions.bob);
    const job = await callForJob(bob, "start_slow_api", { query: "after", delaySeconds: 0 });
    const all = await receivedUntil((items) => has(items, renewed, job.jobId));
    expect(has(all, subscriptions.bob as string, job.jobId)).toBe(false);
  });
});
