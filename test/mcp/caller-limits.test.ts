import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobQueue } from "../../lambdas/shared/domain/ports.js";
import type { LocalStack, LocalStackOptions } from "../../local/local-stack.js";
import { countItems } from "../support/local-aws.js";
import { callForJob, callTool, connectClient, startTestStack } from "../support/mcp-stack.js";
import { TestClock } from "../support/worker-kit.js";

const ALICE_KEY = "alice-key-limits-0123456789";
const BOB_KEY = "bob-key-limits-0123456789ab";
const API_KEYS = `alice:${ALICE_KEY},bob:${BOB_KEY}`;

interface LimitedStack {
  readonly stack: LocalStack;
  readonly alice: Client;
  readonly bob: Client;
  /** Messages sent to the job queue so far. */
  sends(): number;
}

async function startLimitedStack(
  env: Record<string, string>,
  options: Partial<LocalStackOptions> = {},
): Promise<LimitedStack> {
  let sends = 0;
  const stack = await startTestStack({
    ...options,
    env: { AUTH_MODE: "api-key", API_KEYS, ...env },
    wrap: {
      mcp: {
        queue: (queue): JobQueue => ({
          send: async (message) => {
            sends++;
            await queue.send(message);
          },
        }),
      },
    },
  });
  return {
    stack,
    alice: await connectClient(stack.mcpUrl, { authorization: `Bearer ${ALICE_KEY}` }),
    bob: await connectClient(stack.mcpUrl, { authorization: `Bearer ${BOB_KEY}` }),
    sends: () => sends,
  };
}

async function stopLimitedStack(limited: LimitedStack | undefined): Promise<void> {
  // A running job holds its worker until it ends: cancel what is still open so the stack stops at once.
  for (const client of [limited?.alice, limited?.bob]) {
    if (!client) continue;
    for (const status of ["queued", "running"]) {
      const page = (await callTool(client, "list_jobs", { status, limit: 100 })).structured as {
        jobs: { jobId: string }[];
      };
      for (const job of page.jobs) await callTool(client, "cancel_job", { jobId: job.jobId });
    }
  }
  await limited?.alice.close();
  await limited?.bob.close();
  await limited?.stack.stop();
}

/** Calls a start that must be refused, and checks that it created no row and sent no message. */
async function refusedStart(limited: LimitedStack, client: Client): Promise<string> {
  const { stack } = limited;
  const rows = await countItems(stack.clients.dynamo, stack.resources.tableName);
  const sends = limited.sends();
  const answer = await callTool(client, "start_slow_api", { query: "one too many", delaySeconds: 0 });
  expect(answer.isError).toBe(true);
  expect(answer.structured).toBeUndefined();
  expect(await countItems(stack.clients.dynamo, stack.resources.tableName)).toBe(rows);
  expect(limited.sends()).toBe(sends);
  return answer.text;
}

describe("CALLER_MAX_ACTIVE_JOBS", () => {
  let limited: LimitedStack;
  beforeAll(async () => {
    limited = await startLimitedStack({ CALLER_MAX_ACTIVE_JOBS: "2" });
  });
  afterAll(() => stopLimitedStack(limited));

  it("refuses a third open job with a clear error, leaves other callers alone, and frees up on cancel", async () => {
    const { alice, bob } = limited;
    const first = await callForJob(alice, "start_slow_api", { query: "long 1", delaySeconds: 60 });
    await callForJob(alice, "start_slow_api", { query: "long 2", delaySeconds: 60 });

    expect(await refusedStart(limited, alice)).toBe(
      "Too many active jobs: you have 2 queued or running (the limit is 2). Wait for one to end (get_job) or cancel one (cancel_job), then start again.",
    );
    expect((await callForJob(bob, "start_slow_api", { query: "bob", delaySeconds: 60 })).status).toBe(
      "queued",
    );

    await callForJob(alice, "cancel_job", { jobId: first.jobId });
    expect((await callForJob(alice, "start_slow_api", { query: "long 3", delaySeconds: 0 })).status).toBe(
      "queued",
    );
  });
});

describe("CALLER_MAX_STARTS_PER_MINUTE", () => {
  let limited: LimitedStack;
  beforeAll(async () => {
    // The clock starts a second into a minute, so the four starts below fall into the same minute.
    const minuteStart = Math.floor(Date.now() / 60_000) * 60_000;
    limited = await startLimitedStack(
      { CALLER_MAX_STARTS_PER_MINUTE: "3" },
      { clock: new TestClock(minuteStart + 1_000) },
    );
  });
  afterAll(() => stopLimitedStack(limited));

  it("refuses the fourth start in a minute with a clear error, and leaves other callers alone", async () => {
    const { alice, bob } = limited;
    for (let i = 0; i < 3; i++)
      await callForJob(alice, "start_slow_api", { query: `quick ${i}`, delaySeconds: 0 });

    expect(await refusedStart(limited, alice)).toBe(
      "Too many starts: the limit is 3 per minute. Try again in a minute.",
    );
    expect((await callForJob(bob, "start_slow_api", { query: "bob", delaySeconds: 0 })).status).toBe(
      "queued",
    );
  });
});
