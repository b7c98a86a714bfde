import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { composeWorker } from "../../lambdas/shared/app/worker.js";
import { ExternalApiError } from "../../lambdas/shared/domain/errors.js";
import type { JobMessage, JobRow } from "../../lambdas/shared/domain/job.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import type { Clock, JobQueue, RetryScheduler } from "../../lambdas/shared/domain/ports.js";
import { createBatchApi } from "../../lambdas/shared/jobs/batch-api.js";
import {
  type CheckOutcome,
  defineJobType,
  type JobState,
  type SubmitCheckJobType,
} from "../../lambdas/shared/jobs/job-type.js";
import { LOST_CHECK_GRACE_MS } from "../../lambdas/shared/worker/submit.js";
import { type LocalAws, useLocalAws } from "../support/local-aws.js";
import {
  lambdaContext,
  newJob,
  rawItem,
  storeFor,
  syntheticRecord,
  TestClock,
  workerConfig,
} from "../support/worker-kit.js";

let aws: LocalAws;

beforeAll(async () => {
  aws = await useLocalAws();
});

/** A submit/check job type whose external job is done after `checksNeeded` checks, counted in its state. */
interface Calls {
  submits: number;
  checks: Array<{ jobId: string; attempt: number; state: JobState }>;
  cancels: JobState[];
}

function external(
  name: string,
  options: {
    checksNeeded?: number;
    maxDurationSeconds?: number;
    /** Thrown by the check with this number (1-based, counting calls), once. */
    failCheck?: { call: number; error: Error };
    check?: (state: JobState) => CheckOutcome | undefined;
  } = {},
): SubmitCheckJobType & { calls: Calls } {
  const calls: Calls = { submits: 0, checks: [], cancels: [] };
  const type = defineJobType({
    name,
    title: name,
    description: "An external service with its own job handle.",
    input: z.object({ query: z.string() }),
    timeoutMs: 10_000,
    maxAttempts: 3,
    pollAfterSeconds: 5,
    maxDurationSeconds: options.maxDurationSeconds ?? 3_600,
    async submit(input, context) {
      calls.submits++;
      return {
        state: { externalId: `ext-${context.jobId}`, query: input.query, checks: 0 },
        checkAfterSeconds: 2,
      };
    },
    async check(state, context) {
      calls.checks.push({ jobId: context.jobId, attempt: context.attempt, state });
      if (options.failCheck?.call === calls.checks.length) throw options.failCheck.error;
      const custom = options.check?.(state);
      if (custom) return custom;
      const checks = Number(state.checks) + 1;
      if (checks >= (options.checksNeeded ?? 2)) return { done: { answer: `done: ${String(state.query)}` } };
      return {
        pending: {
          state: { ...state, checks },
          progress: { current: checks, total: options.checksNeeded ?? 2 },
          estimatedCompletion: "2030-01-01T00:00:00.000Z",
          checkAfterSeconds: 7,
        },
      };
    },
    async cancel(state) {
      calls.cancels.push(state);
    },
  });
  return Object.assign(type, { calls });
}

interface Sent {
  readonly message: JobMessage;
  readonly delaySeconds: number | undefined;
}

/** The real worker handler on the emulators; the edge's sends and retries are recorded, not sent. */
function worker(types: readonly SubmitCheckJobType[], options: { clock?: Clock; failSends?: boolean } = {}) {
  const sent: Sent[] = [];
  const retries: number[] = [];
  const recorded: RetryScheduler & JobQueue = {
    async retryAfter(_receiptHandle, delaySeconds) {
      retries.push(delaySeconds);
    },
    async send(message, sendOptions) {
      if (options.failSends) throw new Error("SendMessage failed (injected)");
      sent.push({ message, delaySeconds: sendOptions?.delaySeconds });
    },
  };
  const { handler } = composeWorker({
    config: workerConfig(aws),
    clients: aws,
    log: silentLog,
    jobTypes: types,
    ...(options.clock ? { clock: options.clock } : {}),
    wrap: { retries: () => recorded },
  });
  // The worker holds only its own port; the tests read and seed rows through the whole store.
  const store = storeFor(aws, options.clock);
  return {
    store,
    sent,
    retries,
    deliver: (records: SQSRecord[]): Promise<SQSBatchResponse> =>
      handler({ Records: records }, lambdaContext()),
    async start(type: string, input: unknown = { query: "q" }, maxAttempts = 3): Promise<JobRow> {
      return (await store.create(newJob({ type, input, maxAttempts }))).job;
    },
  };
}

function record(message: JobMessage, receiveCount = 1): SQSRecord {
  return syntheticRecord(JSON.stringify(message), receiveCount);
}

/** Due now: the tests deliver checks at once instead of waiting for the delay. */
function dueNow(message: JobMessage): JobMessage {
  return { ...message, dueAt: 0 };
}

function lastSent(sent: Sent[]): JobMessage {
  const last = sent.at(-1);
  if (!last) throw new Error("nothing was sent");
  return dueNow(last.message);
}

describe("submit, then check back later", () => {
  it("submits once, checks until done, and completes with the result; each check is a delayed message", async () => {
    const type = external("ext_happy", { checksNeeded: 3 });
    const w = worker([type]);
    const job = await w.start("ext_happy", { query: "report" });

    expect(await w.deliver([record({ jobId: job.id, type: job.type })])).toEqual({ batchItemFailures: [] });
    const submitted = await w.store.get(job.id);
    expect(submitted).toMatchObject({ status: "running", attempt: 1, checkSeq: 1, leaseExpiresAt: 0 });
    expect(JSON.parse(submitted?.stateJson ?? "{}")).toMatchObject({ externalId: `ext-${job.id}` });
    expect(submitted?.deadlineAt).toBeGreaterThan(Date.now() + 3_500_000);
    expect(w.sent).toEqual([
      {
        message: { jobId: job.id, type: job.type, check: 1, dueAt: submitted?.nextCheckAt },
        delaySeconds: 2,
      },
    ]);

    await w.deliver([record(lastSent(w.sent))]);
    const pending = await w.store.get(job.id);
    expect(pending).toMatchObject({
      status: "running",
      checkSeq: 2,
      progress: { current: 1, total: 3 },
      estimatedCompletion: "2030-01-01T00:00:00.000Z",
    });
    expect(JSON.parse(pending?.stateJson ?? "{}")).toMatchObject({ checks: 1 });
    expect(w.sent.at(-1)).toMatchObject({ message: { check: 2 }, delaySeconds: 7 });

    await w.deliver([record(lastSent(w.sent))]);
    await w.deliver([record(lastSent(w.sent))]);
    const done = await w.store.get(job.id);
    expect(done).toMatchObject({ status: "completed", attempt: 1, resultJson: '{"answer":"done: report"}' });
    expect(done).not.toHaveProperty("nextCheckAt");
    expect(done).not.toHaveProperty("leaseExpiresAt");
    expect(type.calls).toMatchObject({ submits: 1, cancels: [] });
    expect(type.calls.checks).toHaveLength(3);
    expect(w.sent).toHaveLength(3);
  });

  it("a submit that answers at once completes the job through the same result path, with no check", async () => {
    const instant = defineJobType({
      name: "ext_instant",
      title: "instant",
      description: "Done at submit.",
      input: z.object({ query: z.string() }),
      timeoutMs: 10_000,
      maxAttempts: 3,
      pollAfterSeconds: 5,
      maxDurationSeconds: 60,
      submit: async () => ({ result: "x".repeat(200_000) }),
      check: async () => ({ done: null }),
    });
    const w = worker([instant]);
    const job = await w.start("ext_instant");
    await w.deliver([record({ jobId: job.id, type: job.type })]);
    // The run path's rules apply: a result this large goes to the result store, by reference.
    expect(await w.store.get(job.id)).toMatchObject({
      status: "completed",
      resultRef: { bytes: 200_002 },
    });
    expect(w.sent).toEqual([]);
  });

  it("long waits chain: a check message not yet due is passed on unchanged, without touching the row", async () => {
    const type = external("ext_chain");
    const w = worker([type]);
    const job = await w.start("ext_chain");
    await w.deliver([record({ jobId: job.id, type: job.type })]);
    const before = await rawItem(aws, job.id);
    const early = { jobId: job.id, type: job.type, check: 1, dueAt: Date.now() + 3_600_000 };

    expect(await w.deliver([record(early)])).toEqual({ batchItemFailures: [] });
    expect(w.sent.at(-1)).toEqual({ message: early, delaySeconds: 900 });
    expect(await rawItem(aws, job.id)).toEqual(before);
    expect(type.calls.checks).toEqual([]);
  });
});

describe("duplicate, stale and out-of-order check messages change nothing", () => {
  it("a duplicate of the submit message submits nothing more, and is kept until check 1 is overdue", async () => {
    const type = external("ext_dup_start");
    const w = worker([type]);
    const job = await w.start("ext_dup_start");
    const start = record({ jobId: job.id, type: job.type });
    await w.deliver([start]);
    const before = await rawItem(aws, job.id);

    await sleep(20);
    // Not deleted: had the first delivery's send of check 1 failed, this message must bring it back.
    const duplicate = record({ jobId: job.id, type: job.type });
    expect(await w.deliver([duplicate])).toEqual({
      batchItemFailures: [{ itemIdentifier: duplicate.messageId }],
    });
    expect(w.retries).toHaveLength(1);
    expect(w.retries[0]).toBeGreaterThan(LOST_CHECK_GRACE_MS / 1000);
    expect(type.calls.submits).toBe(1);
    expect(await rawItem(aws, job.id)).toEqual(before);
    expect(w.sent).toHaveLength(1);
  });

  it("a check delivered twice, one after the other or at once, is checked once; exactly one next check is sent", async () => {
    const type = external("ext_dup_check", { checksNeeded: 5 });
    const w = worker([type]);
    const job = await w.start("ext_dup_check");
    await w.deliver([record({ jobId: job.id, type: job.type })]);
    const check1 = lastSent(w.sent);

    // Two deliveries of check 1 at once: one holds the check, the other finds it held or already
    // recorded, and puts the message back rather than delete it from under the one that holds it.
    const responses = await Promise.all([w.deliver([record(check1)]), w.deliver([record(check1)])]);
    expect(responses.map((response) => response.batchItemFailures.length).sort()).toEqual([0, 1]);
    expect(type.calls.checks).toHaveLength(1);
    expect(w.sent.map((sent) => sent.message.check)).toEqual([1, 2]);
    const after = await rawItem(aws, job.id);
    expect(after).toMatchObject({ checkSeq: 2, attempt: 1, progress: { current: 1 } });

    // Later duplicates of check 1 change nothing either.
    await sleep(20);
    await w.deliver([record(check1)]);
    expect(type.calls.checks).toHaveLength(1);
    expect(await rawItem(aws, job.id)).toEqual(after);
    expect(w.sent).toHaveLength(2);
  });

  it("an out-of-order check (from the future) and a stale one leave the row and the state as they were", async () => {
    const type = external("ext_order", { checksNeeded: 5 });
    const w = worker([type]);
    const job = await w.start("ext_order");
    await w.deliver([record({ jobId: job.id, type: job.type })]);
    await w.deliver([record(lastSent(w.sent))]);
    await w.deliver([record(lastSent(w.sent))]);
    const before = await rawItem(aws, job.id);
    expect(before).toMatchObject({ checkSeq: 3 });
    const checks = type.calls.checks.length;

    await sleep(20);
    for (const check of [1, 2, 4, 9]) {
      const delivery = record({ jobId: job.id, type: job.type, check, dueAt: 0 });
      // Check 2 is the one whose next check (3) is recorded: it is kept until check 3 is overdue.
      const kept = check === 2 ? [{ itemIdentifier: delivery.messageId }] : [];
      expect(await w.deliver([delivery])).toEqual({ batchItemFailures: kept });
    }
    expect(type.calls.checks).toHaveLength(checks);
    expect(await rawItem(aws, job.id)).toEqual(before);
    expect(w.sent).toHaveLength(3);

    // The right check still moves the job on, from the stored state.
    await w.deliver([record(lastSent(w.sent))]);
    expect(type.calls.checks.at(-1)?.state).toMatchObject({ checks: 2 });
  });

  it("a check whose next-check send failed is sent again once it is overdue, and only then", async () => {
    const type = external("ext_lost_send", { checksNeeded: 5 });
    const failing = worker([type], { failSends: true });
    const job = await failing.start("ext_lost_send");
    const start = { jobId: job.id, type: job.type };
    // The submit is recorded, but the edge could not send check 1: the record fails.
    const response = await failing.deliver([record(start)]);
    expect(response.batchItemFailures).toHaveLength(1);
    const submitted = await failing.store.get(job.id);
    expect(submitted).toMatchObject({ checkSeq: 1 });

    // Back before check 1 is overdue: it may yet be claimed, so the message waits (not deleted).
    const w = worker([type]);
    await w.deliver([record(start, 2)]);
    expect(w.sent).toEqual([]);
    expect(w.retries).toHaveLength(1);
    // Back once check 1 is overdue and nobody claimed it: its message was lost, so it is sent again.
    const overdue = worker([type], {
      clock: new TestClock((submitted?.nextCheckAt ?? 0) + LOST_CHECK_GRACE_MS + 1),
    });
    await overdue.deliver([record(start, 3)]);
    expect(overdue.sent.map((sent) => sent.message.check)).toEqual([1]);
    expect(type.calls.submits).toBe(1);
  });
});

describe("failures while checking", () => {
  it("a transient check failure is retried with backoff and keeps the state; attempts count the failure", async () => {
    const type = external("ext_transient", {
      checksNeeded: 2,
      failCheck: { call: 2, error: new ExternalApiError("503 from the status endpoint", true) },
    });
    const w = worker([type]);
    const job = await w.start("ext_transient");
    await w.deliver([record({ jobId: job.id, type: job.type })]);
    await w.deliver([record(lastSent(w.sent))]);
    const check2 = lastSent(w.sent);
    const stateBefore = (await w.store.get(job.id))?.stateJson;

    const failedDelivery = record(check2);
    expect(await w.deliver([failedDelivery])).toEqual({
      batchItemFailures: [{ itemIdentifier: failedDelivery.messageId }],
    });
    expect(w.retries).toHaveLength(1);
    const retrying = await w.store.get(job.id);
    expect(retrying).toMatchObject({
      status: "running",
      attempt: 2,
      checkSeq: 2,
      leaseExpiresAt: 0,
      lastError: { code: "external_api_unavailable", retryable: true },
    });
    expect(retrying?.stateJson).toBe(stateBefore);

    // SQS delivers the same message again.
    await w.deliver([record(check2, 2)]);
    const done = await w.store.get(job.id);
    expect(done).toMatchObject({ status: "completed", attempt: 2, resultJson: '{"answer":"done: q"}' });
    expect(done).not.toHaveProperty("lastError");
    expect(type.calls.checks.map((check) => check.attempt)).toEqual([1, 1, 2]);
    expect(type.calls.checks[2]?.state).toEqual(type.calls.checks[1]?.state);
    expect(w.sent).toHaveLength(2);
  });

  it("a check that keeps failing ends the job failed after its attempts, and cancels the external work", async () => {
    const type = external("ext_keeps_failing", {
      check: () => {
        throw new ExternalApiError("503", true);
      },
    });
    const w = worker([type]);
    const job = await w.start("ext_keeps_failing", { query: "q" }, 2);
    await w.deliver([record({ jobId: job.id, type: job.type })]);
    const check1 = lastSent(w.sent);
    await w.deliver([record(check1)]);
    await w.deliver([record(check1, 2)]);
    expect(await w.store.get(job.id)).toMatchObject({
      status: "failed",
      attempt: 2,
      error: { code: "external_api_unavailable", message: expect.stringMatching(/Gave up after 2 attempts/) },
    });
    expect(type.calls.cancels).toHaveLength(1);
  });

  it("a check that reports the external job failed ends the job with that error, not retried", async () => {
    const type = external("ext_failed", {
      check: () => ({ failed: { code: "batch_failed", message: "The batch failed.", retryable: false } }),
    });
    const w = worker([type]);
    const job = await w.start("ext_failed");
    await w.deliver([record({ jobId: job.id, type: job.type })]);
    await w.deliver([record(lastSent(w.sent))]);
    expect(await w.store.get(job.id)).toMatchObject({
      status: "failed",
      attempt: 1,
      error: { code: "batch_failed" },
    });
    expect(w.sent).toHaveLength(1);
  });

  it("a state past the bound fails the job with state_too_large and cancels the external work", async () => {
    const type = external("ext_big_state", {
      check: (state) => ({
        pending: { state: { ...state, blob: "x".repeat(70_000) }, checkAfterSeconds: 1 },
      }),
    });
    const w = worker([type]);
    const job = await w.start("ext_big_state");
    await w.deliver([record({ jobId: job.id, type: job.type })]);
    await w.deliver([record(lastSent(w.sent))]);
    const row = await w.store.get(job.id);
    expect(row).toMatchObject({ status: "failed", error: { code: "state_too_large", retryable: false } });
    expect(row?.error?.message).toMatch(/65536 bytes/);
    expect(row?.stateJson).not.toContain("xxxx");
    expect(type.calls.cancels).toHaveLength(1);
  });
});

describe("cancel and deadline", () => {
  it("cancel_job between checks: the next check calls cancel(state) once and schedules nothing", async () => {
    const type = external("ext_cancel", { checksNeeded: 5 });
    const w = worker([type]);
    const job = await w.start("ext_cancel");
    await w.deliver([record({ jobId: job.id, type: job.type })]);
    const check1 = lastSent(w.sent);
    expect(await w.store.cancel(job.id, job.owner)).toMatchObject({ status: "cancelled" });

    // The next check and two duplicates of it, one at the same time.
    await Promise.all([w.deliver([record(check1)]), w.deliver([record(check1)])]);
    await w.deliver([record(check1, 2)]);
    expect(type.calls.cancels).toEqual([{ externalId: `ext-${job.id}`, query: "q", checks: 0 }]);
    expect(type.calls.checks).toEqual([]);
    expect(w.sent).toHaveLength(1);
    const row = await rawItem(aws, job.id);
    expect(row).toMatchObject({ status: "cancelled", error: { code: "cancelled" } });
    expect(row).toHaveProperty("cancelCalledAt");
    expect(row).not.toHaveProperty("nextCheckAt");
  });

  it("past maxDurationSeconds the job fails with deadline_exceeded and cancel(state) is called once", async () => {
    const clock = new TestClock();
    const type = external("ext_deadline", { checksNeeded: 100, maxDurationSeconds: 30 });
    const w = worker([type], { clock });
    const job = await w.start("ext_deadline");
    await w.deliver([record({ jobId: job.id, type: job.type })]);
    await w.deliver([record(lastSent(w.sent))]);
    // A check asked for 7 s; the next one is never scheduled past the deadline.
    clock.advance(25_000);
    await w.deliver([record(lastSent(w.sent))]);
    expect(w.sent.at(-1)?.delaySeconds).toBeLessThanOrEqual(6);
    clock.advance(10_000);
    const last = lastSent(w.sent);
    await w.deliver([record(last)]);
    await w.deliver([record(last, 2)]);

    const row = await w.store.get(job.id);
    expect(row).toMatchObject({
      status: "failed",
      error: { code: "deadline_exceeded", retryable: false, message: expect.stringMatching(/30 s/) },
    });
    expect(type.calls.cancels).toHaveLength(1);
    expect(type.calls.checks).toHaveLength(2);
    expect(w.sent).toHaveLength(3);
  });

  it("a check message for an unknown job does nothing and creates nothing", async () => {
    const type = external("ext_unknown");
    const w = worker([type]);
    expect(
      await w.deliver([record({ jobId: randomUUID(), type: "ext_unknown", check: 1, dueAt: 0 })]),
    ).toEqual({ batchItemFailures: [] });
    expect(type.calls.checks).toEqual([]);
    expect(w.sent).toEqual([]);
  });
});

describe("batch_api", () => {
  it("derives its progress from the stored submit time alone, so any worker process can check it", async () => {
    const first = worker([createBatchApi({ checkSeconds: 1 })]);
    const job = await first.start("batch_api", { query: "weather", durationSeconds: 2 });
    await first.deliver([record({ jobId: job.id, type: job.type })]);
    expect(first.sent.at(-1)?.delaySeconds).toBe(1);

    // A new worker (new job type instance, new process as far as memory goes) takes over.
    const second = worker([createBatchApi({ checkSeconds: 1 })]);
    await second.deliver([record(lastSent(first.sent))]);
    const midway = await second.store.get(job.id);
    expect(midway).toMatchObject({ status: "running", progress: { total: 100 } });
    expect(midway?.estimatedCompletion).toBeDefined();

    await sleep(2_100);
    const third = worker([createBatchApi({ checkSeconds: 1 })]);
    await third.deliver([record(lastSent(second.sent))]);
    expect(await third.store.get(job.id)).toMatchObject({
      status: "completed",
      resultJson: JSON.stringify({ answer: "Batch result for: weather" }),
    });
  });
});
