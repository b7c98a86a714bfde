import { describe, expect, it, vi } from "vitest";
import * as z from "zod";
import { MemoryJobStore } from "../../lambdas/shared/adapters/memory-job-store.js";
import { ExternalApiError } from "../../lambdas/shared/domain/errors.js";
import type { JobRow } from "../../lambdas/shared/domain/job.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import type { NewJob } from "../../lambdas/shared/domain/ports.js";
import { defineJobType, type JobType } from "../../lambdas/shared/jobs/job-type.js";
import { createJobTypeRegistry } from "../../lambdas/shared/jobs/registry.js";
import type { WorkerDecision } from "../../lambdas/shared/worker/decision.js";
import {
  JUST_SENT_MS,
  JUST_SENT_PAUSES_MS,
  processDelivery,
  ROW_WAIT_WINDOW_MS,
  rowWaitDelaySeconds,
} from "../../lambdas/shared/worker/process-delivery.js";
import { type Delivery, MalformedMessageError } from "../../lambdas/shared/worker/worker-deps.js";
import { newJob, TestClock, testSettings } from "../support/worker-kit.js";

// The worker core's decisions on the in-memory store: it returns them as values, so no queue and
// no emulator. The SQS edge and the real table are in test/integration/worker*.test.ts.

/** Answers from a script: a value to return, or an error to throw, one per run. */
function scripted(name: string, script: Array<unknown | Error>): JobType {
  let run = 0;
  return defineJobType({
    name,
    title: name,
    description: "Answers from a script.",
    input: z.object({ query: z.string() }),
    timeoutMs: 10_000,
    maxAttempts: 3,
    pollAfterSeconds: 1,
    async run(_input, context) {
      await context.progress({ current: run });
      const next = script[run++];
      if (next instanceof Error) throw next;
      return next;
    },
  });
}

const done: WorkerDecision = { kind: "done" };
/** A done decision carrying the row its delivery ended the job with: what the store now holds. */
const endedWith = (row: JobRow | undefined): WorkerDecision => ({
  kind: "done",
  ...(row ? { ended: row } : {}),
});

function workerWith(types: JobType[]): {
  store: MemoryJobStore;
  clock: TestClock;
  start(type: string, fields?: { expiresAt?: number }): Promise<JobRow>;
  deliver(job: JobRow, receiveCount?: number): Promise<WorkerDecision>;
  deliverRaw(delivery: Delivery): Promise<WorkerDecision>;
} {
  const clock = new TestClock();
  const store = new MemoryJobStore({ clock });
  const deps = {
    store,
    registry: createJobTypeRegistry(types),
    settings: testSettings({ retryBaseSeconds: 1, retryMaxSeconds: 60 }),
    clock,
    log: silentLog,
  };
  return {
    store,
    clock,
    async start(type, fields = {}) {
      return (await store.create(newJob({ type, input: { query: "q" }, ...fields }))).job;
    },
    deliverRaw: (delivery) => processDelivery(deps, delivery),
    deliver: (job, receiveCount = 1) =>
      processDelivery(deps, {
        body: JSON.stringify({ jobId: job.id, type: job.type }),
        receiveCount,
        remainingTimeMs: () => 30_000,
      }),
  };
}

describe("processDelivery", () => {
  it("runs a job to completion and records its result and progress", async () => {
    const worker = workerWith([scripted("ok", [{ answer: 42 }])]);
    const job = await worker.start("ok");
    expect(await worker.deliver(job)).toEqual(endedWith(await worker.store.get(job.id)));
    expect(await worker.store.get(job.id)).toMatchObject({
      status: "completed",
      attempt: 1,
      resultJson: '{"answer":42}',
      progress: { current: 0 },
    });
  });

  it("releases a transient failure for a retry with backoff, and completes on the next delivery", async () => {
    const worker = workerWith([scripted("flaky", [new ExternalApiError("503", true), "second time"])]);
    const job = await worker.start("flaky");

    const decision = await worker.deliver(job, 1);
    expect(decision).toMatchObject({ kind: "retryAfter" });
    expect(decision.kind === "retryAfter" && decision.seconds).toBeGreaterThan(0);
    expect(await worker.store.get(job.id)).toMatchObject({
      status: "running",
      attempt: 1,
      leaseExpiresAt: 0,
      lastError: { code: "external_api_unavailable", retryable: true },
    });

    expect(await worker.deliver(job, 2)).toEqual(endedWith(await worker.store.get(job.id)));
    const completed = await worker.store.get(job.id);
    expect(completed).toMatchObject({ status: "completed", attempt: 2, resultJson: '"second time"' });
    expect(completed).not.toHaveProperty("lastError");
  });

  it("fails a job at once on a permanent failure", async () => {
    const worker = workerWith([scripted("broken", [new ExternalApiError("bad request", false)])]);
    const job = await worker.start("broken");
    expect(await worker.deliver(job)).toEqual(endedWith(await worker.store.get(job.id)));
    expect(await worker.store.get(job.id)).toMatchObject({
      status: "failed",
      error: { code: "external_api_error", message: "bad request", retryable: false },
    });
  });

  it("gives up after the job type's attempts", async () => {
    const failures = [1, 2, 3].map(() => new ExternalApiError("503", true));
    const worker = workerWith([scripted("down", failures)]);
    const job = await worker.start("down");
    expect(await worker.deliver(job, 1)).toMatchObject({ kind: "retryAfter" });
    expect(await worker.deliver(job, 2)).toMatchObject({ kind: "retryAfter" });
    expect(await worker.deliver(job, 3)).toEqual(endedWith(await worker.store.get(job.id)));
    expect(await worker.store.get(job.id)).toMatchObject({
      status: "failed",
      attempt: 3,
      error: { code: "external_api_unavailable", message: "503 Gave up after 3 attempts." },
    });
  });

  it("fails a job whose type this worker does not know", async () => {
    const worker = workerWith([scripted("known", ["x"])]);
    const job = await worker.start("retired");
    expect(await worker.deliver(job)).toEqual(done);
    expect(await worker.store.get(job.id)).toMatchObject({
      status: "failed",
      attempt: 0,
      error: { code: "unknown_job_type", retryable: false },
    });
  });

  it("looks again after the lease when another run holds the job", async () => {
    const worker = workerWith([scripted("held", ["x"])]);
    const job = await worker.start("held");
    await worker.store.claim(job.id, 20_000);
    expect(await worker.deliver(job)).toEqual({ kind: "retryAfter", seconds: 21 });
    expect(await worker.store.get(job.id)).toMatchObject({ status: "running", attempt: 1 });
  });

  it("drops a duplicate delivery of an ended job and a delivery of an expired one", async () => {
    const worker = workerWith([scripted("once", ["first", "second"])]);
    const job = await worker.start("once");
    expect(await worker.deliver(job)).toEqual(endedWith(await worker.store.get(job.id)));
    const ended = await worker.store.get(job.id);
    expect(await worker.deliver(job)).toEqual(done);
    expect(await worker.store.get(job.id)).toEqual(ended);

    const expiring = await worker.start("once", { expiresAt: Math.floor(worker.clock.now() / 1000) + 60 });
    worker.clock.advance(61_000);
    expect(await worker.deliver(expiring)).toEqual(done);
    worker.clock.advance(-61_000);
    expect(await worker.store.get(expiring.id)).toMatchObject({ status: "queued", attempt: 0 });
  });
});

describe("processDelivery: the run's edges", () => {
  function deliverWith(worker: ReturnType<typeof workerWith>, job: JobRow, fields: Partial<Delivery> = {}) {
    return worker.deliverRaw({
      body: JSON.stringify({ jobId: job.id, type: job.type }),
      receiveCount: 1,
      remainingTimeMs: () => 30_000,
      ...fields,
    });
  }

  it("an unexpected throw is internal_error, retryable, with a fixed message; the last attempt fails the job", async () => {
    const worker = workerWith([
      scripted("throws", [new TypeError("x is undefined"), new TypeError("again")]),
    ]);
    const job = await worker.start("throws");
    expect(await worker.deliver(job, 1)).toMatchObject({ kind: "retryAfter" });
    expect(await worker.store.get(job.id)).toMatchObject({
      status: "running",
      lastError: { code: "internal_error", message: "The job failed unexpectedly.", retryable: true },
    });
    // The message's receives are used up (maxReceiveCount 5): this is its last chance.
    expect(await worker.deliver(job, 5)).toEqual(endedWith(await worker.store.get(job.id)));
    expect(await worker.store.get(job.id)).toMatchObject({
      status: "failed",
      attempt: 2,
      error: { code: "internal_error", message: "The job failed unexpectedly. Gave up after 2 attempts." },
    });
  });

  it("a run whose job is taken over mid-run is aborted and writes nothing", async () => {
    const signals: AbortSignal[] = [];
    const waits = defineJobType({
      name: "waits",
      title: "waits",
      description: "Waits for its signal.",
      input: z.object({ query: z.string() }),
      timeoutMs: 10_000,
      maxAttempts: 3,
      pollAfterSeconds: 1,
      run: (_input, context) =>
        new Promise((_, reject) => {
          signals.push(context.signal);
          context.signal.addEventListener("abort", () => reject(context.signal.reason), { once: true });
        }),
    });
    const worker = workerWith([waits]);
    const job = await worker.start("waits");
    const run = worker.deliver(job);
    await vi.waitFor(() => expect(signals).toHaveLength(1));
    worker.clock.advance(60_000);
    const taker = await worker.store.claim(job.id, 60_000);
    expect(taker).toMatchObject({ claimed: true, job: { attempt: 2 } });
    expect(await run).toEqual(done);
    // The lease it held has lapsed (that is what let the other claim in): the run sees its lease run
    // out or the takeover, whichever its watcher meets first, and stops either way.
    expect(signals[0]?.reason).toMatchObject({ name: "RunAbort" });
    expect(["taken_over", "lease_lost"]).toContain(
      (signals[0]?.reason as { reason?: string } | undefined)?.reason,
    );
    expect(await worker.store.get(job.id)).toMatchObject({ status: "running", attempt: 2 });
  });

  it("a first delivery sent just now that finds no row looks again within the invocation, and runs the job once its row lands", async () => {
    const worker = workerWith([scripted("late", ["x"])]);
    const job = newJob({ type: "late", input: { query: "q" } });
    const claims = vi.spyOn(worker.store, "claim");
    const landed = new Promise<void>((resolve) =>
      setTimeout(() => void worker.store.create(job).then(() => resolve()), 60),
    );
    const decision = await deliverWith(worker, { id: job.id, type: job.type } as JobRow, {
      sentAtMs: worker.clock.now() - 5,
    });
    await landed;
    expect(decision).toEqual(endedWith(await worker.store.get(job.id)));
    expect(await worker.store.get(job.id)).toMatchObject({ status: "completed", attempt: 1 });
    // The first look found no row; a later one within the invocation claimed it.
    expect(claims.mock.calls.length).toBeGreaterThan(1);
    expect(claims.mock.calls.length).toBeLessThanOrEqual(JUST_SENT_PAUSES_MS.length + 1);
  });

  it("a first delivery sent just now whose row does not come within the short looks is handed back", async () => {
    const worker = workerWith([scripted("late", ["x"])]);
    const ghost = { id: "00000000-0000-4000-8000-0000000000ab", type: "late" } as JobRow;
    const claims = vi.spyOn(worker.store, "claim");
    const started = performance.now();
    const decision = await deliverWith(worker, ghost, { sentAtMs: worker.clock.now() - 5 });
    expect(decision).toEqual({ kind: "retryAfter", seconds: 1 });
    expect(claims).toHaveBeenCalledTimes(JUST_SENT_PAUSES_MS.length + 1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(
      JUST_SENT_PAUSES_MS.reduce((sum, pause) => sum + pause, 0) - 5,
    );
    // Older than JUST_SENT_MS, or seen before: one look, then handed back at once.
    claims.mockClear();
    await deliverWith(worker, ghost, { sentAtMs: worker.clock.now() - JUST_SENT_MS });
    await deliverWith(worker, ghost, { sentAtMs: worker.clock.now() - 5, receiveCount: 2 });
    expect(claims).toHaveBeenCalledTimes(2);
  });

  it("a message that arrives before its row waits for it, and is dropped after the row wait", async () => {
    const worker = workerWith([scripted("late", ["x"])]);
    const ghost = { id: "00000000-0000-4000-8000-0000000000aa", type: "late" } as JobRow;
    const now = worker.clock.now();
    expect(await deliverWith(worker, ghost, { sentAtMs: now - 1_000 })).toEqual({
      kind: "retryAfter",
      seconds: 1,
    });
    expect(await deliverWith(worker, ghost, { sentAtMs: now - 1_000, receiveCount: 2 })).toEqual({
      kind: "retryAfter",
      seconds: 5,
    });
    expect(await deliverWith(worker, ghost, { sentAtMs: now - ROW_WAIT_WINDOW_MS })).toEqual(done);
    expect(await deliverWith(worker, ghost)).toEqual(done);
    expect(rowWaitDelaySeconds(3)).toBe(20);
    expect(rowWaitDelaySeconds(4)).toBe(60);
  });

  it("a stored input that no longer fits the type fails the job invalid_input, not retried", async () => {
    const worker = workerWith([scripted("strict", ["x"])]);
    const { job } = await worker.store.create(newJob({ type: "strict", input: { other: 1 } }));
    expect(await worker.deliver(job)).toEqual(endedWith(await worker.store.get(job.id)));
    expect(await worker.store.get(job.id)).toMatchObject({
      status: "failed",
      error: { code: "invalid_input", retryable: false },
    });
  });

  it("no time left past the margin: a timeout is recorded without running", async () => {
    const types = scripted("never", ["x"]);
    const worker = workerWith([types]);
    const job = await worker.start("never");
    expect(await deliverWith(worker, job, { remainingTimeMs: () => 200 })).toMatchObject({
      kind: "retryAfter",
    });
    expect(await worker.store.get(job.id)).toMatchObject({
      attempt: 1,
      lastError: {
        code: "timeout",
        message: "The external call did not answer within 0 s.",
        retryable: true,
      },
    });
  });

  it("a run is cut at the job type's timeout, and the error names it", async () => {
    const hangs = defineJobType({
      name: "hangs",
      title: "hangs",
      description: "Never answers and ignores its signal.",
      input: z.object({ query: z.string() }),
      timeoutMs: 1_000,
      maxAttempts: 3,
      pollAfterSeconds: 1,
      run: () => new Promise(() => {}),
    });
    const worker = workerWith([hangs]);
    const job = await worker.start("hangs");
    expect(await worker.deliver(job)).toMatchObject({ kind: "retryAfter" });
    expect(await worker.store.get(job.id)).toMatchObject({
      lastError: { code: "timeout", message: "The external call did not answer within 1 s." },
    });
  });

  it("malformed progress is dropped, not stored; the run still completes", async () => {
    const bad = defineJobType({
      name: "bad_progress",
      title: "bad progress",
      description: "Reports progress the row cannot hold.",
      input: z.object({ query: z.string() }),
      timeoutMs: 10_000,
      maxAttempts: 3,
      pollAfterSeconds: 1,
      async run(_input, context) {
        await context.progress({ current: -1 } as never);
        await context.progress({ current: 2, total: 4 });
        return "ok";
      },
    });
    const worker = workerWith([bad]);
    const job = await worker.start("bad_progress");
    expect(await worker.deliver(job)).toEqual(endedWith(await worker.store.get(job.id)));
    expect(await worker.store.get(job.id)).toMatchObject({
      status: "completed",
      progress: { current: 2, total: 4 },
    });
  });

  it("a check message for a type with no checks is dropped", async () => {
    const worker = workerWith([scripted("plain", ["x"])]);
    const job = await worker.start("plain");
    expect(
      await worker.deliverRaw({
        body: JSON.stringify({ jobId: job.id, type: job.type, check: 1, dueAt: 0 }),
        receiveCount: 1,
        remainingTimeMs: () => 30_000,
      }),
    ).toEqual(done);
    expect(await worker.store.get(job.id)).toMatchObject({ status: "queued", attempt: 0 });
  });

  it("malformed bodies are refused with a named error", async () => {
    const worker = workerWith([scripted("any", ["x"])]);
    for (const body of ["not json {", JSON.stringify({ jobId: "job-42", type: "any" })]) {
      const error = await worker
        .deliverRaw({ body, receiveCount: 1, remainingTimeMs: () => 30_000 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MalformedMessageError);
      expect((error as Error).name).toBe("MalformedMessageError");
      expect((error as Error).message).toMatch(/^Malformed job message: /);
    }
  });
});

describe("processDelivery: leases and cancels", () => {
  it("claims for the worker's lease, not the job type's whole timeout", async () => {
    let leaseLeftMs = 0;
    let worker: ReturnType<typeof workerWith> | undefined;
    const peeks = defineJobType({
      name: "peeks",
      title: "peeks",
      description: "Reads its own lease.",
      input: z.object({ query: z.string() }),
      timeoutMs: 10_000,
      maxAttempts: 3,
      pollAfterSeconds: 1,
      async run(_input, context) {
        const row = await worker?.store.get(context.jobId);
        leaseLeftMs = (row?.leaseExpiresAt ?? 0) - (worker?.clock.now() ?? 0);
        return "ok";
      },
    });
    worker = workerWith([peeks]);
    await worker.deliver(await worker.start("peeks"));
    // The worker's lease (WORKER_LEASE_MS, 30 s in the test settings), renewed while the run lasts;
    // not the job type's whole timeout, so a claim no live run holds lapses soon.
    expect(leaseLeftMs).toBeGreaterThan(29_000);
    expect(leaseLeftMs).toBeLessThanOrEqual(30_000);
  });

  it("a job held by another run with a fresh message waits for the lease, not for the row", async () => {
    const worker = workerWith([scripted("held", ["x"])]);
    const job = await worker.start("held");
    await worker.store.claim(job.id, 20_000);
    const decision = await worker.deliverRaw({
      body: JSON.stringify({ jobId: job.id, type: job.type }),
      receiveCount: 1,
      remainingTimeMs: () => 30_000,
      sentAtMs: worker.clock.now(),
    });
    expect(decision).toEqual({ kind: "retryAfter", seconds: 21 });
  });

  it("cancel_job while running aborts the run with cancelled and writes nothing more", async () => {
    const signals: AbortSignal[] = [];
    const waits = defineJobType({
      name: "waits_cancel",
      title: "waits",
      description: "Waits for its signal.",
      input: z.object({ query: z.string() }),
      timeoutMs: 10_000,
      maxAttempts: 3,
      pollAfterSeconds: 1,
      run: (_input, context) =>
        new Promise((_, reject) => {
          signals.push(context.signal);
          context.signal.addEventListener("abort", () => reject(context.signal.reason), { once: true });
        }),
    });
    const worker = workerWith([waits]);
    const job = await worker.start("waits_cancel");
    const run = worker.deliver(job);
    await vi.waitFor(() => expect(signals).toHaveLength(1));
    await worker.store.cancel(job.id, job.owner);
    expect(await run).toEqual(done);
    expect(signals[0]?.reason).toMatchObject({ name: "RunAbort", reason: "cancelled" });
    expect(await worker.store.get(job.id)).toMatchObject({ status: "cancelled", attempt: 1 });
  });

  it("a transient failure after the job was cancelled mid-call schedules no retry", async () => {
    let worker: ReturnType<typeof workerWith> | undefined;
    const cancelsItself = defineJobType({
      name: "cancelled_then_fails",
      title: "cancelled then fails",
      description: "Its caller cancels during the call; the call then fails transiently.",
      input: z.object({ query: z.string() }),
      timeoutMs: 10_000,
      maxAttempts: 3,
      pollAfterSeconds: 1,
      async run(_input, context) {
        const row = await worker?.store.get(context.jobId);
        await worker?.store.cancel(context.jobId, row?.owner ?? "");
        throw new ExternalApiError("503", true);
      },
    });
    worker = workerWith([cancelsItself]);
    const job = await worker.start("cancelled_then_fails");
    expect(await worker.deliver(job)).toEqual(done);
    expect(await worker.store.get(job.id)).toMatchObject({ status: "cancelled" });
  });
});

describe("a start message that carries its job (the row write may never have landed)", () => {
  const deliveryOf = (
    job: NewJob,
    receiveCount: number,
    message: Record<string, unknown> = {},
  ): Delivery => ({
    body: JSON.stringify({ jobId: job.id, type: job.type, job, ...message }),
    receiveCount,
    remainingTimeMs: () => 30_000,
    sentAtMs: Date.now(),
  });

  it("a first look with no row looks again; the second writes the row from the message and runs it", async () => {
    const worker = workerWith([scripted("ok", [{ answer: 1 }])]);
    const job = newJob({ type: "ok", input: { query: "q" } });
    expect(await worker.deliverRaw(deliveryOf(job, 1))).toEqual({ kind: "retryAfter", seconds: 1 });
    expect(await worker.store.get(job.id)).toBeUndefined();
    const decision = await worker.deliverRaw(deliveryOf(job, 2));
    const row = await worker.store.get(job.id);
    expect(row).toMatchObject({ id: job.id, owner: job.owner, status: "completed", attempt: 1 });
    expect(decision).toEqual(endedWith(row));
  });

  it("a message whose job names another id brings nothing to life", async () => {
    const worker = workerWith([scripted("ok", [{ answer: 1 }])]);
    const job = newJob({ type: "ok", input: { query: "q" } });
    const other = { ...job, id: crypto.randomUUID() };
    expect(await worker.deliverRaw(deliveryOf(job, 2, { job: other }))).toEqual({
      kind: "retryAfter",
      seconds: 5,
    });
    expect(await worker.store.get(job.id)).toBeUndefined();
    expect(await worker.store.get(other.id)).toBeUndefined();
  });

  it("a job whose row exists is claimed as it is, not written again", async () => {
    const worker = workerWith([scripted("ok", [{ answer: 1 }])]);
    const job = newJob({ type: "ok", input: { query: "q" } });
    await worker.store.create(job);
    await worker.store.cancel(job.id, job.owner);
    expect(await worker.deliverRaw(deliveryOf(job, 2))).toEqual({ kind: "done" });
    expect(await worker.store.get(job.id)).toMatchObject({ status: "cancelled", attempt: 0 });
  });
});

describe("a claim that took effect late (after a stall)", () => {
  /** The store, but claims answer with a lease that has only `leftMs` left, as a late claim does. */
  function lateClaims(worker: ReturnType<typeof workerWith>, leftMs: number) {
    const renewals: number[] = [];
    const store = worker.store;
    const claim = store.claim.bind(store);
    store.claim = async (id, leaseMs, token) => {
      const outcome = await claim(id, leaseMs, token);
      return outcome.claimed
        ? { ...outcome, job: { ...outcome.job, leaseExpiresAt: worker.clock.now() + leftMs } }
        : outcome;
    };
    const renew = store.renewLease.bind(store);
    store.renewLease = async (id, fence, leaseMs) => {
      renewals.push(leaseMs);
      return renew(id, fence, leaseMs);
    };
    return renewals;
  }

  it("renews its lease before the run when less than half of it is left", async () => {
    const worker = workerWith([scripted("ok", [{ answer: 1 }])]);
    const renewals = lateClaims(worker, 1_000);
    const job = await worker.start("ok");
    expect(await worker.deliver(job)).toMatchObject({ kind: "done", ended: { status: "completed" } });
    expect(renewals).toEqual([testSettings().leaseMs]);
  });

  it("does not renew a lease with more than half left", async () => {
    const worker = workerWith([scripted("ok", [{ answer: 1 }])]);
    const renewals = lateClaims(worker, testSettings().leaseMs / 2 + 1_000);
    const job = await worker.start("ok");
    expect(await worker.deliver(job)).toMatchObject({ kind: "done", ended: { status: "completed" } });
    expect(renewals).toEqual([]);
  });

  it("runs nothing when the renewal finds the job moved on", async () => {
    const ran: string[] = [];
    const type = defineJobType({
      name: "watched",
      title: "watched",
      description: "Records its runs.",
      input: z.object({ query: z.string() }),
      timeoutMs: 10_000,
      maxAttempts: 3,
      pollAfterSeconds: 1,
      async run(_input, context) {
        ran.push(context.jobId);
        return "ran";
      },
    });
    const worker = workerWith([type]);
    lateClaims(worker, 1_000);
    worker.store.renewLease = async () => ({ claimed: false, job: undefined });
    const job = await worker.start("watched");
    expect(await worker.deliver(job)).toEqual({ kind: "done" });
    expect(ran).toEqual([]);
  });
});
