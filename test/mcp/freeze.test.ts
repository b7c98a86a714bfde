import { setTimeout as sleep } from "node:timers/promises";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callForJob, callTool, connectClient, type JobAnswer } from "../../cli/mcp-client.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import { type Emulators, startEmulators } from "../../local/emulators.js";
import { type LocalStack, startLocalStack } from "../../local/local-stack.js";
import { FAST_WORKER_ENV } from "../support/mcp-stack.js";

/** Longer than any tool call's budget, as in the issue that found the stranded jobs. */
const FREEZE_MS = 40_000;
/** What a tool call may take while the store is frozen: well inside the function's 29 s. */
const ANSWER_BUDGET_MS = 20_000;

// Its own emulator pair: freezing the shared DynamoDB Local would stall every other test file.
let emulators: Emulators;
let stack: LocalStack;
let client: Client;
let frozen = false;
const resume = (): void => {
  if (!frozen) return;
  frozen = false;
  process.kill(emulators.dynamoPid, "SIGCONT");
};

beforeAll(async () => {
  emulators = await startEmulators();
  process.on("exit", resume);
  stack = await startLocalStack({
    port: 0,
    prefix: "freeze",
    log: silentLog,
    endpoints: emulators,
    env: FAST_WORKER_ENV,
    // A short lease, so a run whose outcome write was lost is taken over within the test, and a
    // visibility timeout that fits it (as deployed, six worker timeouts would be 2 minutes).
    workerTimeoutMs: 20_000,
    // The deployed budget of each function: this test is what proves it.
    callPolicy: "deployed",
    queue: { visibilityTimeoutSeconds: 30 },
  });
  client = await connectClient(stack.mcpUrl);
});

afterAll(async () => {
  resume();
  process.off("exit", resume);
  await client?.close();
  await stack?.stop();
  await emulators?.stop();
});

async function timed<T>(call: () => Promise<T>): Promise<{ answer: T; ms: number }> {
  const started = Date.now();
  const answer = await call();
  return { answer, ms: Date.now() - started };
}

async function untilEnded(jobId: string, withinMs: number): Promise<JobAnswer> {
  const until = Date.now() + withinMs;
  for (;;) {
    const answer = await callTool(client, "get_job", { jobId, waitSeconds: 5 });
    const job = answer.structured as JobAnswer | undefined;
    if (!answer.isError && job && ["completed", "failed", "cancelled"].includes(job.status)) return job;
    if (Date.now() > until) throw new Error(`job ${jobId} did not end: ${answer.text}`);
    await sleep(250);
  }
}

describe("DynamoDB Local frozen for longer than a tool call's budget", () => {
  it("start_* and get_job answer a retryable error in time, and after it resumes nothing is lost", async () => {
    const running = await callForJob(client, "start_slow_api", { query: "in flight", delaySeconds: 2 });
    let status = running.status;
    for (let i = 0; i < 300 && status !== "running"; i++) {
      await sleep(100);
      status = (await callForJob(client, "get_job", { jobId: running.jobId })).status;
    }
    expect(status).toBe("running");

    const frozenAt = Date.now();
    process.kill(emulators.dynamoPid, "SIGSTOP");
    frozen = true;
    try {
      const start = await timed(() =>
        callTool(client, "start_slow_api", { query: "frozen", delaySeconds: 0, idempotencyKey: "frozen-1" }),
      );
      const get = await timed(() => callTool(client, "get_job", { jobId: running.jobId }));
      console.info(`While frozen: start_slow_api answered in ${start.ms} ms, get_job in ${get.ms} ms`);
      expect(start.answer.isError).toBe(true);
      expect(start.answer.text).toMatch(/Try again/);
      expect(start.ms).toBeLessThan(ANSWER_BUDGET_MS);
      expect(get.answer.isError).toBe(true);
      expect(get.answer.text).toMatch(/Try again/);
      expect(get.ms).toBeLessThan(ANSWER_BUDGET_MS);
      await sleep(Math.max(0, frozenAt + FREEZE_MS - Date.now()));
    } finally {
      resume();
    }
    const resumedAt = Date.now();

    // The run whose outcome write fell into the freeze: its message came back soon, not after the
    // queue's visibility timeout, and the job completes.
    const finished = await untilEnded(running.jobId, 90_000);
    expect(finished).toMatchObject({ status: "completed", result: { answer: "Slow result for: in flight" } });

    // The start retried with its key gets one job, which runs.
    const retried = await callForJob(client, "start_slow_api", {
      query: "frozen",
      delaySeconds: 0,
      idempotencyKey: "frozen-1",
    });
    expect((await untilEnded(retried.jobId, 60_000)).status).toBe("completed");

    // No job is left queued without a message: every job this caller has ends.
    const listed = await callTool(client, "list_jobs", { limit: 100 });
    const jobs = (listed.structured?.jobs ?? []) as JobAnswer[];
    for (const job of jobs) expect((await untilEnded(job.jobId, 60_000)).status).toBe("completed");
    expect(jobs.length).toBeGreaterThanOrEqual(2);
    console.info(
      `After ${FREEZE_MS / 1000} s frozen: the in-flight job completed ${Math.round((Date.now() - resumedAt) / 1000)} s after the resume; ${jobs.length} jobs, all completed`,
    );
  }, 240_000);
});
