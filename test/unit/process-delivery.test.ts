import { describe, expect, it } from "vitest";
import { z } from "zod";
import { MemoryJobStore } from "../../lambdas/shared/adapters/memory-job-store.js";
import { ExternalApiError } from "../../lambdas/shared/domain/errors.js";
import type { JobRow } from "../../lambdas/shared/domain/job.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import { defineJobType, type JobType } from "../../lambdas/shared/jobs/job-type.js";
import { createJobTypeRegistry } from "../../lambdas/shared/jobs/registry.js";
import type { WorkerDecision } from "../../lambdas/shared/worker/decision.js";
import { processDelivery } from "../../lambdas/shared/worker/process-delivery.js";
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

function workerWith(types: JobType[]): {
  store: MemoryJobStore;
  clock: TestClock;
  start(type: string, fields?: { expiresAt?: number }): Promise<JobRow>;
  deliver(job: JobRow, receiveCount?: number): Promise<WorkerDecision>;
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
    expect(await worker.deliver(job)).toEqual(done);
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

    expect(await worker.deliver(job, 2)).toEqual(done);
    const completed = await worker.store.get(job.id);
    expect(completed).toMatchObject({ status: "completed", attempt: 2, resultJson: '"second time"' });
    expect(completed).not.toHaveProperty("lastError");
  });

  it("fails a job at once on a permanent failure", async () => {
    const worker = workerWith([scripted("broken", [new ExternalApiError("bad request", false)])]);
    const job = await worker.start("broken");
    expect(await worker.deliver(job)).toEqual(done);
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
    expect(await worker.deliver(job, 3)).toEqual(done);
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
    expect(await worker.deliver(job)).toEqual(done);
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
