import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { beforeAll, describe, expect, it, vi } from "vitest";
import * as z from "zod";
import { composeWorker } from "../../lambdas/shared/app/worker.js";
import { JobStateConflictError } from "../../lambdas/shared/domain/errors.js";
import { type JobRow, toJobView } from "../../lambdas/shared/domain/job.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import type { Clock, JobStore } from "../../lambdas/shared/domain/ports.js";
import { failingApi } from "../../lambdas/shared/jobs/failing-api.js";
import { flakyApi } from "../../lambdas/shared/jobs/flaky-api.js";
import { hungApi } from "../../lambdas/shared/jobs/hung-api.js";
import { defineJobType, type JobType } from "../../lambdas/shared/jobs/job-type.js";
import { slowApi } from "../../lambdas/shared/jobs/slow-api.js";
import { ROW_WAIT_WINDOW_MS } from "../../lambdas/shared/worker/process-delivery.js";
import { createSqsDeadLetterHandler } from "../../lambdas/shared/worker/sqs-handlers.js";
import type { WorkerSettings } from "../../lambdas/shared/worker/worker-deps.js";
import { countItems, type LocalAws, useLocalAws } from "../support/local-aws.js";
import {
  counted,
  enqueue,
  epochSeconds,
  expectRedelivered,
  lambdaContext,
  newJob,
  rawItem,
  receiveRecord,
  storeFor,
  syntheticRecord,
  TestClock,
  workerConfig,
} from "../support/worker-kit.js";

const eventually = { timeout: 10_000, interval: 50 };

/** Retries come back after 1 to 2 s: long enough to see that the message stayed away meanwhile. */
const retrySettings: Partial<WorkerSettings> = { retryBaseSeconds: 2, retryMaxSeconds: 2 };

let aws: LocalAws;

beforeAll(async () => {
  aws = await useLocalAws();
});

interface Worker {
  readonly store: JobStore;
  deliver(records: SQSRecord[], remainingMs?: number): Promise<SQSBatchResponse>;
  /** Creates the job row as the start use case does. */
  start(type: string, input: unknown, fields?: { expiresAt?: number; maxAttempts?: number }): Promise<JobRow>;
}

function worker(
  types: readonly JobType[],
  options: { settings?: Partial<WorkerSettings>; clock?: Clock; on?: LocalAws } = {},
): Worker {
  const on = options.on ?? aws;
  const { handler } = composeWorker({
    config: workerConfig(on, options.settings),
    clients: on,
    log: silentLog,
    jobTypes: types,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  // The worker holds only its own port; the tests read and seed rows through the whole store.
  const store = storeFor(on, options.clock);
  return {
    store,
    deliver: (records, remainingMs = 30_000) => handler({ Records: records }, lambdaContext(remainingMs)),
    async start(type, input, fields = {}) {
      const job = newJob({ type, input, ...fields });
      return (await store.create(job)).job;
    },
  };
}

function body(job: Pick<JobRow, "id" | "type">): string {
  return JSON.stringify({ jobId: job.id, type: job.type });
}

/** A job type for the tests: waits until its run is aborted, and keeps the signal it was given. */
function waitsForAbort(name: string, timeoutMs = 60_000): JobType & { signals: AbortSignal[] } {
  const signals: AbortSignal[] = [];
  const type = defineJobType({
    name,
    title: name,
    description: "Waits until its run is aborted.",
    input: z.object({}),
    timeoutMs,
    maxAttempts: 3,
    pollAfterSeconds: 1,
    async run(_input, context) {
      signals.push(context.signal);
      await context.progress({ current: 1 });
      await new Promise<never>((_, reject) => {
        context.signal.addEventListener("abort", () => reject(context.signal.reason), { once: true });
      });
    },
  });
  return Object.assign(type, { signals });
}

describe("slow_api", () => {
  it("goes queued → running → completed; the result is read back by a consistent get", async () => {
    const queue = await useLocalAws();
    const slow = counted(slowApi);
    const { store, deliver, start } = worker([slow], { on: queue });
    const job = await start("slow_api", { query: "weather", delaySeconds: 1 });
    expect((await store.get(job.id))?.status).toBe("queued");
    await enqueue(queue, { jobId: job.id, type: job.type });
    const record = await receiveRecord(queue);

    const delivery = deliver([record]);
    const running = await vi.waitFor(async () => {
      const row = await store.get(job.id);
      expect(row).toMatchObject({ status: "running", progress: { current: 0 } });
      return row;
    }, eventually);
    expect(running).toMatchObject({ attempt: 1, progress: { current: 0, total: 1 } });

    expect(await delivery).toEqual({ batchItemFailures: [] });
    const done = await store.get(job.id);
    expect(done).toMatchObject({
      status: "completed",
      attempt: 1,
      progress: { current: 1, total: 1 },
      resultJson: JSON.stringify({ answer: "Slow result for: weather" }),
    });
    expect(done).not.toHaveProperty("error");
    expect(done).not.toHaveProperty("leaseExpiresAt");
    expect(toJobView(done as JobRow).result).toEqual({ answer: "Slow result for: weather" });
    expect(await rawItem(queue, job.id)).not.toHaveProperty("activeOwner");
    expect(slow.runs).toEqual([{ jobId: job.id, attempt: 1 }]);
  });

  it("completes with no delay and stays readable", async () => {
    const { store, deliver, start } = worker([slowApi]);
    const job = await start("slow_api", { query: "now", delaySeconds: 0 });
    expect(await deliver([syntheticRecord(body(job))])).toEqual({ batchItemFailures: [] });
    expect(await store.get(job.id)).toMatchObject({ status: "completed", progress: { current: 0 } });
  });
});

describe("failing_api", () => {
  it("fails at once, not retryable, after exactly one run", async () => {
    const failing = counted(failingApi);
    const { store, deliver, start } = worker([failing]);
    const job = await start("failing_api", { query: "q", delaySeconds: 0 });

    expect(await deliver([syntheticRecord(body(job))])).toEqual({ batchItemFailures: [] });
    expect(await store.get(job.id)).toMatchObject({
      status: "failed",
      attempt: 1,
      error: {
        code: "external_api_failed_dependency",
        message: "424 Failed Dependency: external service unavailable",
        retryable: false,
      },
    });
    expect(failing.runs).toEqual([{ jobId: job.id, attempt: 1 }]);

    // A redelivery of the acknowledged message runs nothing more.
    expect(await deliver([syntheticRecord(body(job), 2)])).toEqual({ batchItemFailures: [] });
    expect(failing.runs).toHaveLength(1);
  });
});

describe("hung_api", () => {
  it("times out at remaining time minus the margin, is retried, and ends failed: never left running", async () => {
    const queue = await useLocalAws();
    const hung = counted(hungApi);
    const { store, deliver, start } = worker([hung], { on: queue });
    const job = await start("hung_api", { query: "q" });
    await enqueue(queue, { jobId: job.id, type: job.type });

    for (const attempt of [1, 2, 3]) {
      const record = await receiveRecord(queue);
      expect(record.attributes.ApproximateReceiveCount).toBe(String(attempt));
      const started = Date.now();
      // Deadline = min(10 s type timeout, 700 ms remaining − 200 ms margin) = 500 ms.
      const response = await deliver([record], 700);
      const tookMs = Date.now() - started;
      expect(tookMs).toBeGreaterThanOrEqual(450);
      expect(tookMs).toBeLessThan(2_000);

      const row = await store.get(job.id);
      if (attempt < 3) {
        expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
        expect(row).toMatchObject({
          status: "running",
          attempt,
          leaseExpiresAt: 0,
          lastError: { code: "timeout", retryable: true },
        });
      } else {
        expect(response).toEqual({ batchItemFailures: [] });
        expect(row).toMatchObject({
          status: "failed",
          attempt: 3,
          error: {
            code: "timeout",
            retryable: true,
            message: expect.stringMatching(/Gave up after 3 attempts/),
          },
        });
        expect(row).not.toHaveProperty("lastError");
        expect(row).not.toHaveProperty("leaseExpiresAt");
      }
    }
    expect(hung.runs.map((run) => run.attempt)).toEqual([1, 2, 3]);
  });

  it("times out at the job type's own timeout when that comes first; the retry comes back after its backoff", async () => {
    const queue = await useLocalAws();
    const quick = waitsForAbort("quick_timeout", 300);
    // Backoff of attempt 1: between 1 and 2 s.
    const { store, deliver, start } = worker([quick], { on: queue, settings: retrySettings });
    const job = await start("quick_timeout", {});
    await enqueue(queue, { jobId: job.id, type: job.type });
    const record = await receiveRecord(queue);
    expect(await deliver([record], 30_000)).toEqual({
      batchItemFailures: [{ itemIdentifier: record.messageId }],
    });
    const retriedAt = Date.now();
    expect(quick.signals[0]?.aborted).toBe(true);
    expect(quick.signals[0]?.reason).toMatchObject({ message: "timeout" });
    expect(await store.get(job.id)).toMatchObject({ status: "running", lastError: { code: "timeout" } });
    await expectRedelivered(queue, record, retriedAt, { atLeastSeconds: 1, withinSeconds: 10 });
  });

  it("records a timeout without running when less time remains than the margin; the retry comes back", async () => {
    const queue = await useLocalAws();
    const hung = counted(hungApi);
    const { store, deliver, start } = worker([hung], { on: queue, settings: retrySettings });
    const job = await start("hung_api", { query: "q" });
    await enqueue(queue, { jobId: job.id, type: job.type });
    const record = await receiveRecord(queue);
    expect(await deliver([record], 150)).toEqual({
      batchItemFailures: [{ itemIdentifier: record.messageId }],
    });
    const retriedAt = Date.now();
    expect(hung.runs).toEqual([]);
    expect(await store.get(job.id)).toMatchObject({
      attempt: 1,
      lastError: { code: "timeout", retryable: true },
    });
    await expectRedelivered(queue, record, retriedAt, { atLeastSeconds: 1, withinSeconds: 10 });
  });
});

describe("duplicate and concurrent deliveries", () => {
  it("a duplicate delivery of a completed job runs nothing and leaves the row unchanged", async () => {
    const slow = counted(slowApi);
    const { deliver, start } = worker([slow]);
    const job = await start("slow_api", { query: "q", delaySeconds: 0 });
    await deliver([syntheticRecord(body(job))]);
    const before = await rawItem(aws, job.id);
    expect(before).toMatchObject({ status: "completed" });

    await sleep(20); // a write now would carry a later updatedAt
    expect(await deliver([syntheticRecord(body(job), 2)])).toEqual({ batchItemFailures: [] });
    expect(await rawItem(aws, job.id)).toEqual(before);
    expect(slow.runs).toHaveLength(1);
  });

  it("two concurrent deliveries of one queued job run it exactly once", async () => {
    const queue = await useLocalAws();
    const slow = counted(slowApi);
    const { store, deliver, start } = worker([slow], { on: queue });
    const job = await start("slow_api", { query: "q", delaySeconds: 1 });
    await enqueue(queue, { jobId: job.id, type: job.type });
    const record = await receiveRecord(queue);

    const responses = await Promise.all([deliver([record]), deliver([record])]);

    expect(slow.runs).toEqual([{ jobId: job.id, attempt: 1 }]);
    // The loser found the job held by a live lease and asked SQS to look again later.
    expect(responses.map((response) => response.batchItemFailures.length).sort()).toEqual([0, 1]);
    expect(await store.get(job.id)).toMatchObject({ status: "completed", attempt: 1 });
  });

  it("a stale run whose lease was taken over cannot overwrite the winner's outcome", async () => {
    const clock = new TestClock();
    let openGate = (): void => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const gated = counted(
      defineJobType({
        name: "gated",
        title: "gated",
        description: "The first run waits for the test and ignores its signal.",
        input: z.object({}),
        timeoutMs: 60_000,
        maxAttempts: 3,
        pollAfterSeconds: 1,
        async run(_input, context) {
          if (context.attempt === 1) await gate;
          return { from: context.attempt };
        },
      }),
    );
    // No cancel checks (nor lease renewals) during the test, so the stale run only learns at its final write.
    const { store, deliver, start } = worker([gated], {
      clock,
      settings: { cancelCheckMs: 60_000, leaseMs: 5_000 },
    });
    const job = await start("gated", {});

    const stale = deliver([syntheticRecord(body(job))], 5_000);
    await vi.waitFor(() => expect(gated.runs).toHaveLength(1), eventually);
    clock.advance(10_000); // the first run's lease (5 s) has lapsed
    expect(await deliver([syntheticRecord(body(job), 2)])).toEqual({ batchItemFailures: [] });
    const winner = await store.get(job.id);
    expect(winner).toMatchObject({ status: "completed", attempt: 2, resultJson: '{"from":2}' });

    openGate();
    expect(await stale).toEqual({ batchItemFailures: [] });
    expect(await store.get(job.id)).toEqual(winner);
    expect(gated.runs.map((run) => run.attempt)).toEqual([1, 2]);
  });
});

describe("cancel while running", () => {
  it("ends the job cancelled, aborts the run's signal, and the late result write loses", async () => {
    const waiting = waitsForAbort("waits_for_cancel");
    const { store, deliver, start } = worker([waiting]);
    const job = await start("waits_for_cancel", {});

    const delivery = deliver([syntheticRecord(body(job))]);
    await vi.waitFor(
      async () => expect((await store.get(job.id))?.progress).toEqual({ current: 1 }),
      eventually,
    );
    const cancelled = await store.cancel(job.id, job.owner);
    expect(cancelled).toMatchObject({ status: "cancelled", attempt: 1 });

    expect(await delivery).toEqual({ batchItemFailures: [] });
    const signal = waiting.signals[0];
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toMatchObject({ message: "cancelled" });

    const before = await rawItem(aws, job.id);
    await expect(store.complete(job.id, 1, '"late"')).rejects.toThrow(JobStateConflictError);
    await expect(store.fail(job.id, 1, { code: "x", message: "late", retryable: true })).rejects.toThrow(
      JobStateConflictError,
    );
    expect(await store.progress(job.id, 1, { current: 2 })).toBe(false);
    expect(await rawItem(aws, job.id)).toEqual(before);
    expect(before).toMatchObject({ status: "cancelled" });
    expect(before).not.toHaveProperty("resultJson");
  });

  it("a result that arrives after the cancel loses its write", async () => {
    let store: JobStore | undefined;
    const finisher = counted(
      defineJobType({
        name: "cancelled_mid_call",
        title: "cancelled mid call",
        description: "Its caller cancels while the call is in flight; the call answers anyway.",
        input: z.object({}),
        timeoutMs: 60_000,
        maxAttempts: 3,
        pollAfterSeconds: 1,
        async run(_input, context) {
          const row = await store?.get(context.jobId);
          await store?.cancel(context.jobId, row?.owner ?? "");
          return { answer: "too late" };
        },
      }),
    );
    const w = worker([finisher]);
    store = w.store;
    const job = await w.start("cancelled_mid_call", {});

    expect(await w.deliver([syntheticRecord(body(job))])).toEqual({ batchItemFailures: [] });
    const row = await w.store.get(job.id);
    expect(row).toMatchObject({ status: "cancelled", error: { code: "cancelled" } });
    expect(row).not.toHaveProperty("resultJson");
    expect(finisher.runs).toHaveLength(1);
  });
});

describe("deliveries that run nothing", () => {
  it("acknowledges a message for an unknown job once it is older than the row wait, and creates no row", async () => {
    const slow = counted(slowApi);
    const { deliver } = worker([slow]);
    const items = await countItems(aws.dynamo, aws.resources.tableName);
    const sentAtMs = Date.now() - ROW_WAIT_WINDOW_MS - 1_000;
    const record = syntheticRecord(JSON.stringify({ jobId: randomUUID(), type: "slow_api" }), 4, sentAtMs);
    expect(await deliver([record])).toEqual({ batchItemFailures: [] });
    expect(slow.runs).toEqual([]);
    expect(await countItems(aws.dynamo, aws.resources.tableName)).toBe(items);
  });

  it("acknowledges a message for an expired job still in the table, and leaves it as it was", async () => {
    const now = Date.now();
    const slow = counted(slowApi);
    const { start } = worker([slow]);
    const job = await start(
      "slow_api",
      { query: "q", delaySeconds: 0 },
      { expiresAt: epochSeconds(now) + 3600 },
    );
    const before = await rawItem(aws, job.id);

    const late = worker([slow], { clock: new TestClock(now + 3601_000) });
    expect(await late.store.get(job.id)).toBeUndefined();
    expect(await late.deliver([syntheticRecord(body(job))])).toEqual({ batchItemFailures: [] });
    expect(slow.runs).toEqual([]);
    expect(await rawItem(aws, job.id)).toEqual(before);
  });

  it("fails an open job whose type this worker no longer serves", async () => {
    const { store, deliver, start } = worker([slowApi]);
    const job = await start("retired_api", { query: "q" });
    expect(await deliver([syntheticRecord(body(job))])).toEqual({ batchItemFailures: [] });
    expect(await store.get(job.id)).toMatchObject({
      status: "failed",
      error: { code: "unknown_job_type", retryable: false },
    });
  });
});

describe("malformed messages", () => {
  it("are reported one by one in batchItemFailures, without blocking the good record, and create no row", async () => {
    const slow = counted(slowApi);
    const { store, deliver, start } = worker([slow]);
    const good = await start("slow_api", { query: "q", delaySeconds: 0 });
    const items = await countItems(aws.dynamo, aws.resources.tableName);

    const bad = [
      syntheticRecord("not json {"),
      syntheticRecord(JSON.stringify({ jobId: randomUUID() })),
      syntheticRecord(JSON.stringify({ jobId: "job-42", type: "slow_api" })),
    ];
    const response = await deliver([...bad, syntheticRecord(body(good))]);

    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(
      bad.map((record) => record.messageId).sort(),
    );
    expect(await store.get(good.id)).toMatchObject({ status: "completed" });
    expect(slow.runs).toEqual([{ jobId: good.id, attempt: 1 }]);
    expect(await countItems(aws.dynamo, aws.resources.tableName)).toBe(items);
  });
});

describe("outcomes the worker checks", () => {
  it("fails a job whose result is above the inline bound with result_too_large", async () => {
    const big = defineJobType({
      name: "big_result",
      title: "big result",
      description: "Answers with more bytes than a row may hold inline.",
      input: z.object({}),
      timeoutMs: 60_000,
      maxAttempts: 3,
      pollAfterSeconds: 1,
      run: async () => "x".repeat(2_000),
    });
    const { store, deliver, start } = worker([big], { settings: { resultMaxBytes: 1_000 } });
    const job = await start("big_result", {});

    expect(await deliver([syntheticRecord(body(job))])).toEqual({ batchItemFailures: [] });
    const row = await store.get(job.id);
    expect(row).toMatchObject({ status: "failed", error: { code: "result_too_large", retryable: false } });
    expect(row?.error?.message).toContain("1000 bytes");
    expect(row).not.toHaveProperty("resultJson");
  });

  it("keeps the highest progress a run reported", async () => {
    const wobbly = defineJobType({
      name: "wobbly_progress",
      title: "wobbly progress",
      description: "Reports progress out of order.",
      input: z.object({}),
      timeoutMs: 60_000,
      maxAttempts: 3,
      pollAfterSeconds: 1,
      async run(_input, context) {
        await context.progress({ current: 5, total: 10 });
        await context.progress({ current: 3, total: 10 });
        return "ok";
      },
    });
    const { store, deliver, start } = worker([wobbly]);
    const job = await start("wobbly_progress", {});
    expect(await deliver([syntheticRecord(body(job))])).toEqual({ batchItemFailures: [] });
    expect(await store.get(job.id)).toMatchObject({
      status: "completed",
      progress: { current: 5, total: 10 },
    });
  });

  it("drops progress that does not fit the schema, so the row stays readable", async () => {
    const careless = defineJobType({
      name: "careless_progress",
      title: "careless progress",
      description: "Reports progress the row schema refuses.",
      input: z.object({}),
      timeoutMs: 60_000,
      maxAttempts: 3,
      pollAfterSeconds: 1,
      async run(_input, context) {
        await context.progress({ current: 1, total: 2 });
        await context.progress({ current: 2, total: 0 });
        await context.progress({ current: 2, message: "x".repeat(501) });
        return "ok";
      },
    });
    const { store, deliver, start } = worker([careless]);
    const job = await start("careless_progress", {});
    expect(await deliver([syntheticRecord(body(job))])).toEqual({ batchItemFailures: [] });
    expect(await store.get(job.id)).toMatchObject({
      status: "completed",
      progress: { current: 1, total: 2 },
    });
  });

  it("fails a job when its message has used all its receives, even with attempts left", async () => {
    const flaky = counted(flakyApi);
    const { store, deliver, start } = worker([flaky], { settings: { maxReceiveCount: 5 } });
    const job = await start("flaky_api", { query: "q", delaySeconds: 0, failTimes: 3 }, { maxAttempts: 5 });

    expect(await deliver([syntheticRecord(body(job), 5)])).toEqual({ batchItemFailures: [] });
    expect(await store.get(job.id)).toMatchObject({
      status: "failed",
      attempt: 1,
      error: { code: "external_api_unavailable", retryable: true },
    });
    expect(flaky.runs).toHaveLength(1);
  });
});

describe("dead-letter handler", () => {
  function deadLetters(store: JobStore) {
    const handler = createSqsDeadLetterHandler({ store, log: silentLog });
    return (records: SQSRecord[]) => handler({ Records: records }, lambdaContext());
  }

  it("fails a job that is still queued or running", async () => {
    const { store, start } = worker([slowApi]);
    const queued = await start("slow_api", { query: "q" });
    const running = await start("slow_api", { query: "q" });
    await store.claim(running.id, 60_000);

    const response = await deadLetters(store)([
      syntheticRecord(body(queued), 5),
      syntheticRecord(body(running), 5),
    ]);

    expect(response).toEqual({ batchItemFailures: [] });
    for (const job of [queued, running]) {
      expect(await store.get(job.id)).toMatchObject({
        status: "failed",
        error: { code: "delivery_exhausted", retryable: true, message: expect.stringContaining("5 times") },
      });
      expect(await rawItem(aws, job.id)).not.toHaveProperty("activeOwner");
    }
  });

  it("leaves a completed job unchanged, and drops unknown and malformed dead letters", async () => {
    const { store, deliver, start } = worker([slowApi]);
    const job = await start("slow_api", { query: "q", delaySeconds: 0 });
    await deliver([syntheticRecord(body(job))]);
    const before = await rawItem(aws, job.id);
    expect(before).toMatchObject({ status: "completed" });
    const items = await countItems(aws.dynamo, aws.resources.tableName);

    const response = await deadLetters(store)([
      syntheticRecord(body(job), 5),
      syntheticRecord(JSON.stringify({ jobId: randomUUID(), type: "slow_api" }), 5),
      syntheticRecord("garbage", 5),
    ]);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await rawItem(aws, job.id)).toEqual(before);
    expect(await countItems(aws.dynamo, aws.resources.tableName)).toBe(items);
  });
});

describe("a job type that throws unexpectedly", () => {
  it("fails the run with internal_error, retryable, without its text; retried after the backoff; failed at the end", async () => {
    const queue = await useLocalAws();
    const throwing = counted(
      defineJobType({
        name: "throws_unexpectedly",
        title: "throws",
        description: "Throws an error that is no ExternalApiError.",
        input: z.object({}),
        timeoutMs: 10_000,
        maxAttempts: 2,
        pollAfterSeconds: 1,
        async run() {
          throw new TypeError("Cannot read properties of undefined (reading 'secret-internal-detail')");
        },
      }),
    );
    const { store, deliver, start } = worker([throwing], { on: queue, settings: retrySettings });
    const job = await start("throws_unexpectedly", {}, { maxAttempts: 2 });
    await enqueue(queue, { jobId: job.id, type: job.type });

    const first = await receiveRecord(queue);
    expect(await deliver([first])).toEqual({ batchItemFailures: [{ itemIdentifier: first.messageId }] });
    const retriedAt = Date.now();
    const retrying = await store.get(job.id);
    expect(retrying).toMatchObject({
      status: "running",
      attempt: 1,
      leaseExpiresAt: 0,
      lastError: { code: "internal_error", message: "The job failed unexpectedly.", retryable: true },
    });
    expect(JSON.stringify(await rawItem(queue, job.id))).not.toContain("secret-internal-detail");

    const second = await expectRedelivered(queue, first, retriedAt, { atLeastSeconds: 1, withinSeconds: 10 });
    expect(await deliver([second])).toEqual({ batchItemFailures: [] });
    expect(await store.get(job.id)).toMatchObject({
      status: "failed",
      attempt: 2,
      error: {
        code: "internal_error",
        retryable: true,
        message: "The job failed unexpectedly. Gave up after 2 attempts.",
      },
    });
    expect(throwing.runs.map((run) => run.attempt)).toEqual([1, 2]);
  });
});

describe("a run whose job was taken over", () => {
  it("is aborted by its watcher, writes nothing, and acknowledges its message", async () => {
    const clock = new TestClock();
    const signals: AbortSignal[] = [];
    const type = counted(
      defineJobType({
        name: "taken_over",
        title: "taken over",
        description: "The first run waits for its signal; later runs answer at once.",
        input: z.object({}),
        timeoutMs: 60_000,
        maxAttempts: 3,
        pollAfterSeconds: 1,
        async run(_input, context) {
          if (context.attempt > 1) return { from: context.attempt };
          signals.push(context.signal);
          return new Promise<never>((_, reject) => {
            context.signal.addEventListener("abort", () => reject(context.signal.reason), { once: true });
          });
        },
      }),
    );
    const { store, deliver, start } = worker([type], {
      clock,
      settings: { cancelCheckMs: 100, leaseMs: 5_000 },
    });
    const job = await start("taken_over", {});

    const stale = deliver([syntheticRecord(body(job))], 5_000);
    await vi.waitFor(() => expect(signals).toHaveLength(1), eventually);
    clock.advance(10_000); // the first run's lease (5 s) has lapsed: another delivery takes the job
    expect(await deliver([syntheticRecord(body(job), 2)])).toEqual({ batchItemFailures: [] });
    const winner = await store.get(job.id);
    expect(winner).toMatchObject({ status: "completed", attempt: 2, resultJson: '{"from":2}' });

    // The first run learns through its watcher (its lease ran out, or the takeover), long before
    // its own deadline, and stops without writing.
    expect(await stale).toEqual({ batchItemFailures: [] });
    expect(["taken_over", "lease_lost"]).toContain((signals[0]?.reason as Error | undefined)?.message);
    expect(await store.get(job.id)).toEqual(winner);
    expect(type.runs.map((run) => run.attempt)).toEqual([1, 2]);
  });
});
