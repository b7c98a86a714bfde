import { describe, expect, it } from "vitest";
import * as z from "zod";
import { MemoryJobStore } from "../../lambdas/shared/adapters/memory-job-store.js";
import { ExternalApiError, JobStateConflictError } from "../../lambdas/shared/domain/errors.js";
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
  type SubmitOutcome,
} from "../../lambdas/shared/jobs/job-type.js";
import { createJobTypeRegistry } from "../../lambdas/shared/jobs/registry.js";
import type { WorkerDecision } from "../../lambdas/shared/worker/decision.js";
import { processDelivery } from "../../lambdas/shared/worker/process-delivery.js";
import { LOST_CHECK_GRACE_MS } from "../../lambdas/shared/worker/submit.js";
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
    maxDurationSeconds?: number;
    submit?: () => Promise<SubmitOutcome>;
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
    maxDurationSeconds: options.maxDurationSeconds ?? 3_600,
    async submit(input, context) {
      calls.submits.push({ jobId: context.jobId, attempt: context.attempt });
      if (options.submit) return options.submit();
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

function workerWith(
  type: SubmitCheckJobType,
  wrap: (store: MemoryJobStore) => JobRunStore = (s) => s,
  remainingMs = 30_000,
) {
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
    processDelivery(deps, {
      body: JSON.stringify(message),
      receiveCount,
      remainingTimeMs: () => remainingMs,
    });
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

/** A done decision carrying the row its delivery ended the job with (the edge releases from it). */
function endedDone(jobId: string): unknown {
  return {
    kind: "done",
    ended: expect.objectContaining({ id: jobId, status: expect.stringMatching(/^(completed|failed)$/) }),
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
    expect(await w.deliver({ ...(next.kind === "checkAfter" ? next.message : check1), dueAt: 0 })).toEqual(
      endedDone(job.id),
    );
    expect(await w.store.get(job.id)).toMatchObject({
      status: "completed",
      resultJson: '{"answer":"ready"}',
    });
    expect(type.calls.checks.at(-1)).toEqual({ externalId: `ext-${job.id}`, query: "q", seen: 1 });
  });
});

describe("a check whose delivery died after claiming it", () => {
  it("its redelivery waits out the dead run's lease, then runs the check: the chain of checks goes on", async () => {
    const type = external();
    const w = workerWith(type);
    const job = await w.start();
    const check1 = await w.submitted(job);
    // The first delivery of check 1 claimed it and its invocation died before it recorded anything.
    expect(await w.store.claimCheck(job.id, 1, 55_000)).toMatchObject({ claimed: true });
    // SQS redelivers the message while that claim's lease still runs: it must come back, not be dropped.
    const early = await w.deliver(check1, 2);
    expect(early).toEqual({ kind: "retryAfter", seconds: 56 });
    expect(type.calls.checks).toEqual([]);
    // So must a first delivery (a duplicate of the message the claim's delivery holds): deleting it
    // would leave that delivery nothing to come back through if it dies.
    expect(await w.deliver(check1, 1)).toEqual({ kind: "retryAfter", seconds: 56 });
    w.clock.advance(56_000);
    expect(await w.deliver(check1, 3)).toEqual(endedDone(job.id));
    expect(type.calls.checks).toHaveLength(1);
    expect(await w.store.get(job.id)).toMatchObject({ status: "completed", resultJson: '{"answer":"q"}' });
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

describe("what a submit or a check answers", () => {
  const transient = new ExternalApiError("503 from the status API", true);

  it("a submit that answers a result completes the job at once and asks for no check", async () => {
    const type = external({ submit: async () => ({ result: { answer: "now" } }) });
    const w = workerWith(type);
    const job = await w.start();
    expect(await w.deliver({ jobId: job.id, type: job.type })).toEqual(endedDone(job.id));
    expect(await w.store.get(job.id)).toMatchObject({ status: "completed", resultJson: '{"answer":"now"}' });
  });

  it.each([
    ["an array", [1, 2], "invalid_state", /not a JSON object/],
    [
      "a state past 64 KiB",
      { blob: "x".repeat(70_000) },
      "state_too_large",
      /70\d{3} bytes of JSON; states are limited to 65536 bytes/,
    ],
  ])(
    "a submit whose state is %s fails the job and asks the service to stop",
    async (_name, state, code, message) => {
      const type = external({ submit: async () => ({ state: state as JobState }) });
      const w = workerWith(type);
      const job = await w.start();
      expect(await w.deliver({ jobId: job.id, type: job.type })).toEqual(endedDone(job.id));
      const row = await w.store.get(job.id);
      expect(row).toMatchObject({ status: "failed", error: { code, retryable: false } });
      expect(row?.error?.message).toMatch(message);
      expect(row?.stateJson).toBeUndefined();
      expect(type.calls.cancels.map((call) => call.state)).toEqual([state]);
    },
  );

  it("a check that reports the external work failed ends the job with that error", async () => {
    const failed = { code: "batch_failed", message: "The batch failed.", retryable: true };
    const type = external({ check: async () => ({ failed }) });
    const w = workerWith(type);
    const job = await w.start();
    expect(await w.deliver(await w.submitted(job))).toEqual(endedDone(job.id));
    expect(await w.store.get(job.id)).toMatchObject({ status: "failed", error: failed });
    expect(type.calls.cancels).toEqual([]);
  });

  it("a pending check: a larger state is stored, progress only moves forward, a bad ETA is dropped", async () => {
    let n = 0;
    const type = external({
      check: async (state) => {
        n += 1;
        if (n === 1)
          return {
            pending: {
              state: { ...state, step: 1 },
              progress: { current: 5 },
              estimatedCompletion: "2030-01-01T00:00:00Z",
              checkAfterSeconds: 3,
            },
          };
        return { pending: { progress: { current: 2 }, estimatedCompletion: "soon", checkAfterSeconds: 0 } };
      },
    });
    const w = workerWith(type);
    const job = await w.start();
    const second = await w.deliver(await w.submitted(job));
    expect(second).toMatchObject({ kind: "checkAfter", seconds: 3, message: { check: 2 } });
    const afterFirst = await w.store.get(job.id);
    expect(afterFirst).toMatchObject({
      checkSeq: 2,
      progress: { current: 5 },
      estimatedCompletion: "2030-01-01T00:00:00Z",
    });
    expect(JSON.parse(afterFirst?.stateJson ?? "")).toMatchObject({ step: 1 });

    const third = await w.deliver({ jobId: job.id, type: job.type, check: 2, dueAt: 0 });
    // checkAfterSeconds 0 falls back to the type's pollAfterSeconds (5).
    expect(third).toMatchObject({ kind: "checkAfter", seconds: 5, message: { check: 3 } });
    const afterSecond = await w.store.get(job.id);
    expect(afterSecond).toMatchObject({
      checkSeq: 3,
      progress: { current: 5 },
      estimatedCompletion: "2030-01-01T00:00:00Z",
    });
    expect(afterSecond?.stateJson).toBe(afterFirst?.stateJson);
  });

  it("a pending check whose new state is too large fails the job and cancels with that newest state", async () => {
    const type = external({
      check: async () => ({ pending: { state: { blob: "y".repeat(70_000) }, checkAfterSeconds: 1 } }),
    });
    const w = workerWith(type);
    const job = await w.start();
    expect(await w.deliver(await w.submitted(job))).toEqual(endedDone(job.id));
    expect(await w.store.get(job.id)).toMatchObject({ status: "failed", error: { code: "state_too_large" } });
    expect(type.calls.cancels.map((call) => Object.keys(call.state))).toEqual([["blob"]]);
  });

  it("a transient check failure is retried on the same check, attempt + 1; a permanent one fails and cancels", async () => {
    let n = 0;
    const type = external({
      check: async () => {
        n += 1;
        if (n === 1) throw transient;
        throw new ExternalApiError("404 unknown batch", false, "batch_not_found");
      },
    });
    const w = workerWith(type);
    const job = await w.start();
    const check1 = await w.submitted(job);
    const retry = await w.deliver(check1);
    expect(retry.kind).toBe("retryAfter");
    expect(await w.store.get(job.id)).toMatchObject({
      status: "running",
      attempt: 2,
      checkSeq: 1,
      lastError: { code: "external_api_unavailable" },
    });
    expect(await w.deliver(check1, 2)).toEqual(endedDone(job.id));
    expect(await w.store.get(job.id)).toMatchObject({
      status: "failed",
      attempt: 2,
      error: { code: "batch_not_found" },
    });
    expect(type.calls.cancels).toHaveLength(1);
  });

  it("past maxDurationSeconds the next check fails the job deadline_exceeded, cancels once, and never waits past it", async () => {
    const type = external({
      maxDurationSeconds: 30,
      check: async () => ({ pending: { checkAfterSeconds: 600 } }),
    });
    const w = workerWith(type);
    const job = await w.start();
    const check1 = await w.submitted(job);
    w.clock.advance(20_000);
    // A check asking for 600 s is scheduled at the deadline instead (10 s away).
    expect(await w.deliver(check1)).toMatchObject({ kind: "checkAfter", seconds: 10 });
    w.clock.advance(10_000);
    expect(await w.deliver({ jobId: job.id, type: job.type, check: 2, dueAt: 0 })).toEqual(endedDone(job.id));
    const row = await w.store.get(job.id);
    expect(row).toMatchObject({ status: "failed", error: { code: "deadline_exceeded", retryable: false } });
    expect(row?.error?.message).toContain("(30 s after its submit)");
    expect(type.calls.cancels).toHaveLength(1);
    expect(type.calls.checks).toHaveLength(1);
  });

  it("a stored state that no longer reads fails the job invalid_state without calling the type", async () => {
    const type = external();
    const w = workerWith(type);
    const job = await w.start();
    await w.store.claim(job.id, 1_000);
    await w.store.recordSubmit(job.id, 1, {
      stateJson: "[1]",
      nextCheckAt: w.clock.now(),
      deadlineAt: w.clock.now() + 60_000,
    });
    expect(await w.deliver({ jobId: job.id, type: job.type, check: 1, dueAt: 0 })).toEqual(endedDone(job.id));
    expect(await w.store.get(job.id)).toMatchObject({
      status: "failed",
      error: { code: "invalid_state", message: "The job's stored state is missing or unreadable." },
    });
    expect(type.calls.checks).toEqual([]);
  });

  it("a check with no time left records a timeout without calling the type", async () => {
    const type = external();
    const w = workerWith(type, (store) => store, 100);
    const job = await w.start();
    // The submit itself has no time either: it is retried.
    expect(await w.deliver({ jobId: job.id, type: job.type })).toMatchObject({ kind: "retryAfter" });
    expect(await w.store.get(job.id)).toMatchObject({ lastError: { code: "timeout" } });
    expect(type.calls.submits).toEqual([]);
  });
});

describe("duplicate and redelivered check messages", () => {
  it("a check whose next check is recorded waits until that check is overdue, then sends it again only if nobody claimed it", async () => {
    const type = external({ check: async () => ({ pending: { checkAfterSeconds: 4 } }) });
    const w = workerWith(type);
    const job = await w.start();
    const check1 = await w.submitted(job);
    // The start message again, once check 1 is recorded: it waits until check 1 is overdue.
    const submittedRow = await w.store.get(job.id);
    const check1Overdue = (submittedRow?.nextCheckAt ?? 0) + LOST_CHECK_GRACE_MS - w.clock.now();
    expect(await w.deliver({ jobId: job.id, type: job.type })).toEqual({
      kind: "retryAfter",
      seconds: Math.ceil(check1Overdue / 1000),
    });
    await w.deliver(check1);
    const row = await w.store.get(job.id);
    expect(row).toMatchObject({ checkSeq: 2 });
    // The start message is stale now (check 1 was claimed): dropped.
    expect(await w.deliver({ jobId: job.id, type: job.type }, 2)).toEqual({ kind: "done" });
    // First delivery or redelivery alike: the next check may yet be claimed, so come back once it is
    // overdue (4 s + the grace), rather than delete a message the recording delivery may need.
    const overdueSeconds = 4 + LOST_CHECK_GRACE_MS / 1000;
    expect(await w.deliver(check1)).toEqual({ kind: "retryAfter", seconds: overdueSeconds });
    expect(await w.deliver(check1, 2)).toEqual({ kind: "retryAfter", seconds: overdueSeconds });
    // Overdue and unclaimed: its message was lost; it is sent again, due at once.
    w.clock.advance(overdueSeconds * 1000);
    expect(await w.deliver(check1, 3)).toEqual({
      kind: "checkAfter",
      seconds: 0,
      message: { jobId: job.id, type: job.type, check: 2, dueAt: row?.nextCheckAt },
    });
    // Once check 2 has been claimed and recorded, the old messages are stale: dropped.
    await w.deliver({ jobId: job.id, type: job.type, check: 2, dueAt: 0 });
    expect(await w.store.get(job.id)).toMatchObject({ checkSeq: 3 });
    w.clock.advance(overdueSeconds * 1000);
    expect(await w.deliver(check1, 4)).toEqual({ kind: "done" });
    expect(await w.deliver({ jobId: job.id, type: job.type }, 3)).toEqual({ kind: "done" });
    expect(type.calls.checks).toHaveLength(2);
    expect(type.calls.submits).toHaveLength(1);
  });

  it("a check message for an unknown or expired job, or an ended one, does nothing", async () => {
    const type = external();
    const w = workerWith(type);
    expect(
      await w.deliver({ jobId: "00000000-0000-4000-8000-000000000000", type: "ext", check: 1, dueAt: 0 }),
    ).toEqual({
      kind: "done",
    });
    const job = await w.start();
    const check1 = await w.submitted(job);
    await w.deliver(check1);
    expect(await w.store.get(job.id)).toMatchObject({ status: "completed" });
    expect(await w.deliver(check1, 2)).toEqual({ kind: "done" });
    expect(type.calls.checks).toHaveLength(1);
    expect(type.calls.cancels).toEqual([]);
  });
});

describe("submit/check edges", () => {
  it("a check message due within a second is checked now; one due later is passed on", async () => {
    const type = external();
    const w = workerWith(type);
    const job = await w.start();
    const check1 = await w.submitted(job);
    const later = { ...check1, dueAt: w.clock.now() + 1_001 };
    expect(await w.deliver(later)).toEqual({ kind: "checkAfter", seconds: 2, message: later });
    expect(type.calls.checks).toEqual([]);
    expect(await w.deliver({ ...check1, dueAt: w.clock.now() + 1_000 })).toEqual(endedDone(job.id));
    expect(type.calls.checks).toHaveLength(1);
  });

  it("a check with no time left records a timeout without calling the type", async () => {
    const type = external();
    const job = await (async () => {
      const w = workerWith(type);
      const started = await w.start();
      return { w, check1: await w.submitted(started), started };
    })();
    const short = workerWith(type, (store) => store, 100);
    // The same store: hand the submitted row over.
    await short.store.create(newJob({ id: job.started.id, type: "ext", input: { query: "q" } }));
    await short.store.claim(job.started.id, 1_000);
    await short.store.recordSubmit(job.started.id, 1, {
      stateJson: "{}",
      nextCheckAt: short.clock.now(),
      deadlineAt: short.clock.now() + 60_000,
    });
    expect(await short.deliver(job.check1)).toMatchObject({ kind: "retryAfter" });
    expect(await short.store.get(job.started.id)).toMatchObject({
      lastError: { code: "timeout", message: "The external call did not answer within 0 s." },
    });
    expect(type.calls.checks).toEqual([]);
  });

  it("a check's result too large for the row fails the job result_too_large and stops the external work", async () => {
    const type = external({ check: async () => ({ done: "x".repeat(20_000) }) });
    const w = workerWith(type);
    const job = await w.start();
    expect(await w.deliver(await w.submitted(job))).toEqual(endedDone(job.id));
    expect(await w.store.get(job.id)).toMatchObject({
      status: "failed",
      error: { code: "result_too_large" },
    });
    expect(type.calls.cancels).toHaveLength(1);
  });

  it("a check that ends after the job was cancelled: the result is dropped and cancel(state) is called", async () => {
    let store: MemoryJobStore | undefined;
    const type = external({
      check: async (_state, context) => {
        const row = await store?.get(context.jobId);
        await store?.cancel(context.jobId, row?.owner ?? "");
        return { done: "too late" };
      },
    });
    const w = workerWith(type);
    store = w.store;
    const job = await w.start();
    expect(await w.deliver(await w.submitted(job))).toEqual({ kind: "done" });
    expect(await w.store.get(job.id)).toMatchObject({ status: "cancelled" });
    expect(type.calls.cancels).toHaveLength(1);
  });

  it.each([
    ["recordSubmit", "the submit"],
    ["recordCheck", "a pending check"],
    ["retryCheck", "a retried check"],
  ] as const)("a %s that loses to a cancel calls cancel(state) once (%s)", async (write, _what) => {
    let n = 0;
    const type = external({
      check: async () => {
        n += 1;
        if (write === "retryCheck") throw new ExternalApiError("503", true);
        return { pending: { checkAfterSeconds: 1 } };
      },
    });
    const w = workerWith(type, (store) =>
      Object.assign(Object.create(store) as MemoryJobStore, {
        [write]: async (id: string, ...rest: unknown[]) => {
          const row = await store.get(id);
          await store.cancel(id, row?.owner ?? "");
          return (store[write] as (...args: unknown[]) => Promise<unknown>).call(store, id, ...rest);
        },
      }),
    );
    const job = await w.start();
    if (write === "recordSubmit") {
      expect(await w.deliver({ jobId: job.id, type: job.type })).toEqual({ kind: "done" });
    } else {
      const check1 = await w.submitted(job);
      expect(await w.deliver(check1)).toEqual({ kind: "done" });
      expect(n).toBe(1);
    }
    expect(await w.store.get(job.id)).toMatchObject({ status: "cancelled" });
    expect(type.calls.cancels).toHaveLength(1);
  });

  it("a write lost to a takeover (not a cancel) calls no cancel(state)", async () => {
    const type = external({ check: async () => ({ pending: { checkAfterSeconds: 1 } }) });
    const w = workerWith(type, (store) =>
      Object.assign(Object.create(store) as MemoryJobStore, {
        recordCheck: () => Promise.reject(new JobStateConflictError("x", "record check 1")),
      }),
    );
    const job = await w.start();
    expect(await w.deliver(await w.submitted(job))).toEqual({ kind: "done" });
    expect(type.calls.cancels).toEqual([]);
  });

  it("a redelivered check while another delivery holds it comes back after that lease; of an expired job, it is dropped", async () => {
    const type = external({ check: async () => ({ pending: { checkAfterSeconds: 4 } }) });
    const w = workerWith(type);
    const job = await w.start();
    const check1 = await w.submitted(job);
    await w.store.claimCheck(job.id, 1, 60_000);
    expect(await w.deliver(check1, 2)).toEqual({ kind: "retryAfter", seconds: 61 });
    expect(type.calls.checks).toEqual([]);
    w.clock.advance(2 * 3_600_000);
    expect(await w.deliver(check1, 3)).toEqual({ kind: "done" });
    expect(type.calls.checks).toEqual([]);
  });

  it("a type without cancel(): a cancelled job's check ends quietly and marks nothing", async () => {
    const { cancel: _cancel, ...withoutCancel } = external();
    const w = workerWith(withoutCancel as SubmitCheckJobType);
    const job = await w.start();
    const check1 = await w.submitted(job);
    await w.store.cancel(job.id, job.owner);
    expect(await w.deliver(check1)).toEqual({ kind: "done" });
    expect((await w.store.get(job.id))?.cancelCalledAt).toBeUndefined();
  });

  it("a check failing on its last attempt says it gave up", async () => {
    const type = external({
      check: async () => {
        throw new ExternalApiError("503", true);
      },
    });
    const w = workerWith(type);
    const job = await w.start();
    const check1 = await w.submitted(job);
    expect(await w.deliver(check1, 5)).toEqual(endedDone(job.id));
    expect(await w.store.get(job.id)).toMatchObject({
      status: "failed",
      error: {
        code: "external_api_unavailable",
        message: expect.stringMatching(/Gave up after 1 attempts\.$/),
      },
    });
  });

  it("the deadline stays a minute inside the job's TTL", async () => {
    const type = external({ maxDurationSeconds: 86_400 });
    const w = workerWith(type);
    const expiresAt = Math.floor(w.clock.now() / 1000) + 600;
    const { job } = await w.store.create(newJob({ type: "ext", input: { query: "q" }, expiresAt }));
    await w.submitted(job);
    expect((await w.store.get(job.id))?.deadlineAt).toBe(expiresAt * 1000 - 60_000);
  });
});

describe("a write whose first try took effect, then answered a lost condition (a patient retry)", () => {
  /** The store, but `write` applies and then answers as the retry of a landed try does. */
  const landedThenConflict =
    (write: "recordSubmit" | "recordCheck" | "retryCheck") =>
    (store: MemoryJobStore): JobRunStore =>
      Object.assign(Object.create(store) as MemoryJobStore, {
        [write]: async (id: string, ...rest: unknown[]) => {
          await (store[write] as (...args: unknown[]) => Promise<unknown>).call(store, id, ...rest);
          throw new JobStateConflictError(id, write);
        },
      });

  it("a submit record that landed goes on to check 1, as if it had answered", async () => {
    const type = external();
    const w = workerWith(type, landedThenConflict("recordSubmit"));
    const job = await w.start();
    const decision = await w.deliver({ jobId: job.id, type: job.type });
    expect(decision).toMatchObject({ kind: "checkAfter", message: { jobId: job.id, check: 1 } });
    expect(await w.store.get(job.id)).toMatchObject({ status: "running", checkSeq: 1 });
  });

  it("a pending check record that landed goes on to the next check, its state and progress kept", async () => {
    const type = external({
      check: async () => ({
        pending: { checkAfterSeconds: 3, state: { externalId: "e-2" }, progress: { current: 5, total: 10 } },
      }),
    });
    const w = workerWith(type, landedThenConflict("recordCheck"));
    const job = await w.start();
    const decision = await w.deliver(await w.submitted(job));
    expect(decision).toMatchObject({ kind: "checkAfter", seconds: 3, message: { jobId: job.id, check: 2 } });
    const row = await w.store.get(job.id);
    expect(row).toMatchObject({ status: "running", checkSeq: 2, progress: { current: 5, total: 10 } });
    expect(JSON.parse(row?.stateJson ?? "")).toEqual({ externalId: "e-2" });
    expect(type.calls.cancels).toEqual([]);
  });

  it("a check released for a retry that landed is retried, attempt + 1", async () => {
    const type = external({
      check: async () => {
        throw new ExternalApiError("503", true);
      },
    });
    const w = workerWith(type, landedThenConflict("retryCheck"));
    const job = await w.start();
    const decision = await w.deliver(await w.submitted(job));
    expect(decision).toMatchObject({ kind: "retryAfter" });
    expect(await w.store.get(job.id)).toMatchObject({
      status: "running",
      checkSeq: 1,
      attempt: 2,
      leaseExpiresAt: 0,
    });
  });

  it("a pending check whose estimatedCompletion is no ISO time keeps the check going without it", async () => {
    const type = external({
      check: async () => ({ pending: { checkAfterSeconds: 2, estimatedCompletion: "tomorrow" } }),
    });
    const w = workerWith(type);
    const job = await w.start();
    expect(await w.deliver(await w.submitted(job))).toMatchObject({
      kind: "checkAfter",
      message: { check: 2 },
    });
    expect((await w.store.get(job.id))?.estimatedCompletion).toBeUndefined();
    const zoned = external({
      check: async () => ({
        pending: { checkAfterSeconds: 2, estimatedCompletion: "2030-01-01T10:00:00+02:00" },
      }),
    });
    const z2 = workerWith(zoned);
    const job2 = await z2.start();
    await z2.deliver(await z2.submitted(job2));
    expect((await z2.store.get(job2.id))?.estimatedCompletion).toBe("2030-01-01T10:00:00+02:00");
  });
});
