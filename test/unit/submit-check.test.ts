import { describe, expect, it } from "vitest";
import { z } from "zod";
import { MemoryJobStore } from "../../lambdas/shared/adapters/memory-job-store.js";
import type { JobMessage, JobRow } from "../../lambdas/shared/domain/job.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import type { JobRunStore } from "../../lambdas/shared/domain/ports.js";
import { createBatchApi } from "../../lambdas/shared/jobs/batch-api.js";
import {
  type CheckOutcome,
  defineJobType,
  type JobState,
  type RunContext,
  type SubmitCheckJobType,
} from "../../lambdas/shared/jobs/job-type.js";
import { createJobTypeRegistry } from "../../lambdas/shared/jobs/registry.js";
import type { WorkerDecision } from "../../lambdas/shared/worker/decision.js";
import { processDelivery } from "../../lambdas/shared/worker/process-delivery.js";
import { FrozenClock, newJob, testSettings } from "../support/worker-kit.js";

// The worker core's submit/check decisions on the in-memory store, for the edges that are hard to
// reach on the emulators: a check in flight when the job is cancelled, a cancel(state) that throws
// or hangs, and a submit whose record was lost. test/integration/submit-check*.test.ts has the
// same shape on the real table and queue.

interface Calls {
  submits: Array<{ jobId: string; attempt: number }>;
  checks: JobState[];
  cancels: Array<{ state: JobState; signal: AbortSignal }>;
}

function external(
  options: {
    timeoutMs?: number;
    check?: (state: JobState, context: RunContext) => Promise<CheckOutcome>;
    cancel?: (state: JobState, context: RunContext) => Promise<void>;
  } = {},
): SubmitCheckJobType & { calls: Calls } {
  const calls: Calls = { submits: [], checks: [], cancels: [] };
  const type = defineJobType({
    name: "ext",
    title: "ext",
    description: "An external service with its own job handle.",
    input: z.object({ query: z.string() }),
    timeoutMs: options.timeoutMs ?? 10_000,
    maxAttempts: 3,
    pollAfterSeconds: 5,
    maxDurationSeconds: 3_600,
    async submit(input, context) {
      calls.submits.push({ jobId: context.jobId, attempt: context.attempt });
      return { state: { externalId: `ext-${context.jobId}`, query: input.query }, checkAfterSeconds: 2 };
    },
    async check(state, context) {
      calls.checks.push(state);
      return options.check ? options.check(state, context) : { done: { answer: state.query } };
    },
    async cancel(state, context) {
      calls.cancels.push({ state, signal: context.signal });
      await options.cancel?.(state, context);
    },
  });
  return Object.assign(type, { calls });
}

function workerWith(type: SubmitCheckJobType, wrap: (store: MemoryJobStore) => JobRunStore = (s) => s) {
  const clock = new FrozenClock(Date.now());
  const store = new MemoryJobStore({ clock });
  const deps = {
    store: wrap(store),
    registry: createJobTypeRegistry([type]),
    settings: testSettings({ cancelCheckMs: 20 }),
    clock,
    log: silentLog,
  };
  const deliver = (message: JobMessage, receiveCount = 1): Promise<WorkerDecision> =>
    processDelivery(deps, { body: JSON.stringify(message), receiveCount, remainingTimeMs: () => 30_000 });
  return {
    store,
    clock,
    deliver,
    async start(): Promise<JobRow> {
      return (await store.create(newJob({ type: type.name, input: { query: "q" } }))).job;
    },
    /** Delivers the start message and answers the check message it asks for, due now. */
    async submitted(job: JobRow): Promise<JobMessage> {
      const decision = await deliver({ jobId: job.id, type: job.type });
      if (decision.kind !== "checkAfter") throw new Error(`expected a check, got ${decision.kind}`);
      return { ...decision.message, dueAt: 0 };
    },
  };
}

describe("submit, then checks as delayed messages", () => {
  it("a submit stores the state and asks for check 1 after the requested delay", async () => {
    const type = external();
    const w = workerWith(type);
    const job = await w.start();
    const decision = await w.deliver({ jobId: job.id, type: job.type });
    const row = await w.store.get(job.id);
    expect(row).toMatchObject({ status: "running", attempt: 1, checkSeq: 1, leaseExpiresAt: 0 });
    expect(JSON.parse(row?.stateJson ?? "")).toEqual({ externalId: `ext-${job.id}`, query: "q" });
    expect(decision).toEqual({
      kind: "checkAfter",
      seconds: 2,
      message: { jobId: job.id, type: job.type, check: 1, dueAt: w.clock.now() + 2_000 },
    });
    expect(row?.nextCheckAt).toBe(w.clock.now() + 2_000);
  });

  it("a check message not yet due is passed on with the time left, and the row is not touched", async () => {
    const type = external();
    const w = workerWith(type);
    const job = await w.start();
    await w.submitted(job);
    const before = await w.store.get(job.id);
    const early = { jobId: job.id, type: job.type, check: 1, dueAt: w.clock.now() + 3_600_000 };
    expect(await w.deliver(early)).toEqual({ kind: "checkAfter", seconds: 3_600, message: early });
    expect(await w.store.get(job.id)).toEqual(before);
    expect(type.calls.checks).toEqual([]);
  });

  it("a pending check records progress and asks for the next check; a done check completes the job", async () => {
    let checks = 0;
    const type = external({
      check: async (state) =>
        ++checks < 2
          ? {
              pending: {
                state: { ...state, seen: checks },
                progress: { current: checks },
                checkAfterSeconds: 7,
              },
            }
          : { done: { answer: "ready" } },
    });
    const w = workerWith(type);
    const job = await w.start();
    const check1 = await w.submitted(job);
    const next = await w.deliver(check1);
    expect(next).toEqual({
      kind: "checkAfter",
      seconds: 7,
      message: { jobId: job.id, type: job.type, check: 2, dueAt: w.clock.now() + 7_000 },
    });
    expect(await w.store.get(job.id)).toMatchObject({ checkSeq: 2, progress: { current: 1 } });
    expect(await w.deliver({ ...(next.kind === "checkAfter" ? next.message : check1), dueAt: 0 })).toEqual({
      kind: "done",
    });
    expect(await w.store.get(job.id)).toMatchObject({
      status: "completed",
      resultJson: '{"answer":"ready"}',
    });
    expect(type.calls.checks.at(-1)).toEqual({ externalId: `ext-${job.id}`, query: "q", seen: 1 });
  });
});

describe("cancel and the external work", () => {
  it("cancel_job while a check is in flight: the check is aborted, cancel(state) is called once, nothing more is scheduled", async () => {
    let inFlight = (): void => {};
    const started = new Promise<void>((resolve) => {
      inFlight = resolve;
    });
    const type = external({
      check: (_state, context) =>
        new Promise<never>((_, reject) => {
          inFlight();
          context.signal.addEventListener("abort", () => reject(context.signal.reason), { once: true });
        }),
    });
    const w = workerWith(type);
    const job = await w.start();
    const check1 = await w.submitted(job);

    const delivery = w.deliver(check1);
    await started;
    expect(await w.store.cancel(job.id, job.owner)).toMatchObject({ status: "cancelled" });
    expect(await delivery).toEqual({ kind: "done" });

    expect(type.calls.cancels.map((call) => call.state)).toEqual([
      { externalId: `ext-${job.id}`, query: "q" },
    ]);
    const row = await w.store.get(job.id);
    expect(row).toMatchObject({ status: "cancelled", error: { code: "cancelled" } });
    expect(row?.cancelCalledAt).toBeDefined();
    // A redelivery of the same check calls nothing again.
    expect(await w.deliver(check1, 2)).toEqual({ kind: "done" });
    expect(type.calls.cancels).toHaveLength(1);
    expect(type.calls.checks).toHaveLength(1);
  });

  it("a cancel(state) that throws is logged, not retried: the delivery ends and the job stays cancelled", async () => {
    const type = external({
      cancel: async () => {
        throw new Error("DELETE /jobs/ext-1 answered 500");
      },
    });
    const w = workerWith(type);
    const job = await w.start();
    const check1 = await w.submitted(job);
    await w.store.cancel(job.id, job.owner);

    expect(await w.deliver(check1)).toEqual({ kind: "done" });
    expect(await w.deliver(check1, 2)).toEqual({ kind: "done" });
    expect(type.calls.cancels).toHaveLength(1);
    expect(type.calls.checks).toEqual([]);
    expect(await w.store.get(job.id)).toMatchObject({
      status: "cancelled",
      cancelCalledAt: expect.any(String),
    });
  });

  it("a cancel(state) that hangs and ignores its signal is cut off at the job type's timeout", async () => {
    const type = external({ timeoutMs: 200, cancel: () => new Promise<never>(() => {}) });
    const w = workerWith(type);
    const job = await w.start();
    const check1 = await w.submitted(job);
    await w.store.cancel(job.id, job.owner);

    expect(await w.deliver(check1)).toEqual({ kind: "done" });
    const [call] = type.calls.cancels;
    expect(call?.signal.aborted).toBe(true);
    expect(call?.signal.reason).toMatchObject({ name: "TimeoutError" });
    expect(await w.store.get(job.id)).toMatchObject({ status: "cancelled" });
  });
});

describe("a submit whose record was lost", () => {
  /** A store whose next recordSubmit fails as a throttled or timed-out write would. */
  function losingRecordSubmit(losses: { left: number }) {
    return (store: MemoryJobStore): JobRunStore =>
      Object.assign(Object.create(store) as MemoryJobStore, {
        recordSubmit: (...args: Parameters<MemoryJobStore["recordSubmit"]>) => {
          if (losses.left-- > 0) return Promise.reject(new Error("ProvisionedThroughputExceeded (injected)"));
          return store.recordSubmit(...args);
        },
      });
  }

  it("is submitted again once the lease lapses, with the same jobId as its idempotency key", async () => {
    const type = external();
    const w = workerWith(type, losingRecordSubmit({ left: 1 }));
    const job = await w.start();
    // The error reaches the SQS edge, which brings the message back soon (comeBackSoon).
    await expect(w.deliver({ jobId: job.id, type: job.type })).rejects.toThrow(/Throughput/);
    expect(await w.store.get(job.id)).toMatchObject({ status: "running", attempt: 1 });
    expect((await w.store.get(job.id))?.checkSeq).toBeUndefined();

    // While the lease holds, a redelivery submits nothing.
    expect(await w.deliver({ jobId: job.id, type: job.type }, 2)).toMatchObject({ kind: "retryAfter" });
    expect(type.calls.submits).toHaveLength(1);

    w.clock.advance(60_000);
    expect(await w.deliver({ jobId: job.id, type: job.type }, 3)).toMatchObject({ kind: "checkAfter" });
    // The worker cannot tell a lost record from a submit that never happened: it submits again,
    // under the same jobId, which is what a job type must send as the external idempotency key.
    expect(type.calls.submits).toEqual([
      { jobId: job.id, attempt: 1 },
      { jobId: job.id, attempt: 2 },
    ]);
    expect(await w.store.get(job.id)).toMatchObject({ status: "running", attempt: 2, checkSeq: 1 });
  });

  it("batch_api names its batch by the jobId, so the second submit names the same batch", async () => {
    const batch = createBatchApi({ checkSeconds: 1 });
    const states: JobState[] = [];
    const recorded: SubmitCheckJobType = {
      ...batch,
      async submit(input, context) {
        const outcome = await batch.submit(input as Parameters<typeof batch.submit>[0], context);
        if ("state" in outcome) states.push(outcome.state);
        return outcome;
      },
    };
    const w = workerWith(recorded, losingRecordSubmit({ left: 1 }));
    const job = (
      await w.store.create(newJob({ type: "batch_api", input: { query: "q", durationSeconds: 5 } }))
    ).job;
    await expect(w.deliver({ jobId: job.id, type: job.type })).rejects.toThrow(/Throughput/);
    w.clock.advance(60_000);
    await w.deliver({ jobId: job.id, type: job.type }, 2);
    expect(states.map((state) => state.batchId)).toEqual([`batch-${job.id}`, `batch-${job.id}`]);
    expect(JSON.parse((await w.store.get(job.id))?.stateJson ?? "")).toMatchObject({
      batchId: `batch-${job.id}`,
    });
  });
});
