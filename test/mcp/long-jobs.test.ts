import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { LocalStack, WorkerInvocation } from "../../local/local-stack.js";
import { callForJob, callTool, connectClient, startTestStack } from "../support/mcp-stack.js";
import { expectNothingCreated, quiescent } from "../support/nothing-created.js";
import { rawItem } from "../support/worker-kit.js";

/** The local worker's function timeout: a batch_api job of 4 × this outlives several invocations. */
const WORKER_TIMEOUT_SECONDS = 4;
/** Checks this far apart keep the test honest on a loaded machine, where one check may take 0.3 s. */
const CHECK_SECONDS = 3;

let stack: LocalStack;
let client: Client;
const invocations: WorkerInvocation[] = [];

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      WORKER_TIMEOUT_SECONDS: String(WORKER_TIMEOUT_SECONDS),
      BATCH_API_CHECK_SECONDS: String(CHECK_SECONDS),
    },
    onWorkerInvocation: (invocation) => invocations.push(invocation),
  });
  client = await connectClient(stack.mcpUrl);
});

afterAll(async () => {
  await client?.close();
  await stack?.stop();
});

/** The worker invocations that handled a message of this job. */
function invocationsOf(jobId: string): WorkerInvocation[] {
  return invocations.filter((invocation) => invocation.bodies.some((body) => body.includes(jobId)));
}

const aws = (): Parameters<typeof rawItem>[0] => ({
  dynamo: stack.clients.dynamo,
  sqs: stack.clients.sqs,
  s3: stack.clients.s3,
  resources: stack.resources,
  endpoints: stack.endpoints,
});

describe("batch_api: a job that outlives the worker's timeout", () => {
  it("completes after 4 × the worker timeout, each worker invocation short", async () => {
    const durationSeconds = 4 * WORKER_TIMEOUT_SECONDS;
    const started = await callForJob(client, "start_batch_api", {
      query: "quarterly report",
      durationSeconds,
    });
    expect(started).toMatchObject({ status: "queued", type: "batch_api" });

    // Mid-way: progress, an estimated completion and a poll hint that follows the next check.
    const midway = await vi.waitFor(
      async () => {
        const job = await callForJob(client, "get_job", { jobId: started.jobId });
        expect(job.progress?.current).toBeGreaterThan(0);
        return job;
      },
      { timeout: 20_000, interval: 200 },
    );
    // The submit happened before this read: the ETA is the submit time plus the duration.
    const readAt = Date.now();
    expect(midway).toMatchObject({ status: "running", attempt: 1, progress: { total: 100 } });
    expect(midway.progress?.message).toMatch(/% done/);
    const eta = Date.parse(midway.estimatedCompletion ?? "");
    expect(eta).toBeGreaterThan(Date.parse(midway.createdAt) + (durationSeconds - 2) * 1000);
    expect(eta).toBeLessThanOrEqual(readAt + durationSeconds * 1000 + 1_000);
    expect(midway.pollAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(midway.pollAfterSeconds).toBeLessThanOrEqual(CHECK_SECONDS + 2);
    expect(JSON.stringify(midway)).not.toContain("submittedAt");
    expect(JSON.stringify(midway)).not.toContain("batch-");

    const deadline = Date.now() + (durationSeconds + 30) * 1000;
    let job = midway;
    while (job.status !== "completed" && job.status !== "failed" && Date.now() < deadline) {
      job = await callForJob(client, "get_job", { jobId: started.jobId, waitSeconds: 10 });
    }
    expect(job).toMatchObject({
      status: "completed",
      attempt: 1,
      result: { answer: "Batch result for: quarterly report" },
    });
    expect(job).not.toHaveProperty("pollAfterSeconds");
    expect(job).not.toHaveProperty("estimatedCompletion");
    const tookMs = Date.parse(job.finishedAt ?? "") - Date.parse(job.createdAt);
    expect(tookMs).toBeGreaterThanOrEqual(durationSeconds * 1000);

    const mine = invocationsOf(started.jobId);
    const workerMs = mine.reduce((sum, invocation) => sum + invocation.durationMs, 0);
    console.log(
      `batch_api of ${durationSeconds} s (worker timeout ${WORKER_TIMEOUT_SECONDS} s, checks every ${CHECK_SECONDS} s): ` +
        `${mine.length} worker invocations, ${workerMs.toFixed(0)} ms of worker time in all ` +
        `(${((100 * workerMs) / (durationSeconds * 1000)).toFixed(1)} % of the job's duration)`,
    );
    // Submit plus at least one check per check interval, each a short invocation.
    expect(mine.length).toBeGreaterThanOrEqual(durationSeconds / (CHECK_SECONDS + 1));
    // No invocation waited for the batch: each ended before the worker's timeout would have cut it.
    // How little worker time the whole job takes is measured by the bench, not asserted here.
    for (const invocation of mine) expect(invocation.durationMs).toBeLessThan(WORKER_TIMEOUT_SECONDS * 1000);
    expect(await rawItem(aws(), started.jobId)).not.toHaveProperty("nextCheckAt");
  });

  it("cancel_job mid-way ends it cancelled; the next check calls cancel once and no check runs after", async () => {
    const started = await callForJob(client, "start_batch_api", { query: "cancel me", durationSeconds: 60 });
    await vi.waitFor(
      async () => {
        const job = await callForJob(client, "get_job", { jobId: started.jobId });
        expect(job.progress?.current).toBeGreaterThan(0);
      },
      { timeout: 20_000, interval: 200 },
    );
    const cancelled = await callForJob(client, "cancel_job", { jobId: started.jobId });
    expect(cancelled).toMatchObject({ status: "cancelled", error: { code: "cancelled" } });
    expect(cancelled).not.toHaveProperty("pollAfterSeconds");
    // The check due next when the job was cancelled; no later one may ever run.
    const dueCheck = Number((await rawItem(aws(), started.jobId))?.checkSeq);
    expect(dueCheck).toBeGreaterThan(0);
    const invocationsAtCancel = invocationsOf(started.jobId).length;

    // The next check finds the job cancelled and asks the batch service to stop, once.
    const marked = await vi.waitFor(
      async () => {
        const item = await rawItem(aws(), started.jobId);
        expect(item).toHaveProperty("cancelCalledAt");
        return item;
      },
      { timeout: 20_000, interval: 200 },
    );
    // Once no message is left on the queues, nothing can run for this job again: what ran after
    // the cancel is final. Only the check that was due (and any duplicate of it) ran.
    await quiescent(stack);
    const checksAfterCancel = invocationsOf(started.jobId)
      .slice(invocationsAtCancel)
      .flatMap((invocation) => invocation.bodies)
      .map((body) => JSON.parse(body) as { jobId: string; check?: number })
      .filter((message) => message.jobId === started.jobId)
      .map((message) => message.check);
    expect(checksAfterCancel.length).toBeGreaterThan(0);
    expect(checksAfterCancel.every((check) => check !== undefined && check <= dueCheck)).toBe(true);
    expect(await rawItem(aws(), started.jobId)).toEqual(marked);
    expect(await callForJob(client, "get_job", { jobId: started.jobId })).toMatchObject({
      status: "cancelled",
    });
  });

  it("refuses a duration out of range with a tool error, creating nothing", async () => {
    for (const durationSeconds of [0, 86_401, 1.5]) {
      const answer = await expectNothingCreated(stack, () =>
        callTool(client, "start_batch_api", { query: "q", durationSeconds }),
      );
      expect(answer.isError).toBe(true);
      expect(answer.text).toMatch(/durationSeconds/);
    }
  });
});
