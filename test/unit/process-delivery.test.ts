import { describe, expect, it } from "vitest";
import { z } from "zod";
import { MemoryJobStore } from "../../lambdas/shared/adapters/memory-job-store.js";
import { ExternalApiError } from "../../lambdas/shared/domain/errors.js";
import type { JobRow } from "../../lambdas/shared/domain/job.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import type { RetryScheduler } from "../../lambdas/shared/domain/ports.js";
import { defineJobType, type JobType } from "../../lambdas/shared/jobs/job-type.js";
import { createJobTypeRegistry } from "../../lambdas/shared/jobs/registry.js";
import { type DeliveryOutcome, processDelivery } from "../../lambdas/shared/worker/process-delivery.js";
import { newJob, TestClock, testSettings } from "../support/worker-kit.js";

// The worker core's decisions on the in-memory store, with a retry scheduler that only records:
// no queue and no emulator. The SQS edge and the real table are in test/integration/worker*.test.ts.

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

function workerWith(types: JobType[]): {
  store: MemoryJobStore;
  clock: TestClock;
  retries: Array<{ receiptHandle: string; delaySeconds: number }>;
  start(type: string, fields?: { expiresAt?: number }): Promise<JobRow>;
  deliver(job: JobRow, receiveCount?: number): Promise<DeliveryOutcome>;
} {
  const clock = new TestClock();
  const store = new MemoryJobStore({ clock });
  const retries: Array<{ receiptHandle: string; delaySeconds: number }> = [];
  const scheduler: RetryScheduler = {
    async retryAfter(receiptHandle, delaySeconds) {
      retries.push({ receiptHandle, delaySeconds });
    },
  };
  const deps = {
    store,
    retries: scheduler,
    registry: createJobTypeRegistry(types),
    settings: testSettings({ retryBaseSeconds: 1, retryMaxSeconds: 60 }),
    clock,
    log: silentLog,
  };
  return {
    store,
    clock,
    retries,
    async start(type, fields = {}) {
      return (await store.create(newJob({ type, input: { query: "q" }, ...fields }))).job;
    },
    deliver: (job, receiveCount = 1) =>
      processDelivery(deps, {
        body: JSON.stringify({ jobId: job.id, type: job.type }),
        receiptHandle: `receipt-${receiveCount}`,
        receiveCount,
        remainingTimeMs: () => 30_000,
      }),
  };
}

describe("processDelivery", () => {
  it("runs a job to completion and records its result and progress", async () => {
    const worker = workerWith([scripted("ok", [{ answer: 42 }])]);
    const job = await worker.start("ok");
    expect(await worker.deliver(job)).toBe("done");
    expect(await worker.store.get(job.id)).toMatchObject({
      status: "completed",
      attempt: 1,
      resultJson: '{"answer":42}',
      progress: { current: 0 },
    });
    expect(worker.retries).toEqual([]);
  });

  it("releases a transient failure for a retry with backoff, and completes on the next delivery", async () => {
    const worker = workerWith([scripted("flaky", [new ExternalApiError("503", true), "second time"])]);
    const job = await worker.start("flaky");

    expect(await worker.deliver(job, 1)).toBe("retry");
    expect(worker.retries).toHaveLength(1);
    expect(worker.retries[0]?.receiptHandle).toBe("receipt-1");
    expect(worker.retries[0]?.delaySeconds).toBeGreaterThan(0);
    expect(await worker.store.get(job.id)).toMatchObject({
      status: "running",
      attempt: 1,
      leaseExpiresAt: 0,
      lastError: { code: "external_api_unavailable", retryable: true },
    });

    expect(await worker.deliver(job, 2)).toBe("done");
    const done = await worker.store.get(job.id);
    expect(done).toMatchObject({ status: "completed", attempt: 2, resultJson: '"second time"' });
    expect(done).not.toHaveProperty("lastError");
  });

  it("fails a job at once on a permanent failure", async () => {
    const worker = workerWith([scripted("broken", [new ExternalApiError("bad request", false)])]);
    const job = await worker.start("broken");
    expect(await worker.deliver(job)).toBe("done");
    expect(await worker.store.get(job.id)).toMatchObject({
      status: "failed",
      error: { code: "external_api_error", message: "bad request", retryable: false },
    });
    expect(worker.retries).toEqual([]);
  });

  it("gives up after the job type's attempts", async () => {
    const failures = [1, 2, 3].map(() => new ExternalApiError("503", true));
    const worker = workerWith([scripted("down", failures)]);
    const job = await worker.start("down");
    expect(await worker.deliver(job, 1)).toBe("retry");
    expect(await worker.deliver(job, 2)).toBe("retry");
    expect(await worker.deliver(job, 3)).toBe("done");
    expect(await worker.store.get(job.id)).toMatchObject({
      status: "failed",
      attempt: 3,
      error: { code: "external_api_unavailable", message: "503 Gave up after 3 attempts." },
    });
  });

  it("fails a job whose type this worker does not know", async () => {
    const worker = workerWith([scripted("known", ["x"])]);
    const job = await worker.start("retired");
    expect(await worker.deliver(job)).toBe("done");
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
    expect(await worker.deliver(job)).toBe("retry");
    expect(worker.retries).toEqual([{ receiptHandle: "receipt-1", delaySeconds: 21 }]);
    expect(await worker.store.get(job.id)).toMatchObject({ status: "running", attempt: 1 });
  });

  it("drops a duplicate delivery of an ended job and a delivery of an expired one", async () => {
    const worker = workerWith([scripted("once", ["first", "second"])]);
    const job = await worker.start("once");
    expect(await worker.deliver(job)).toBe("done");
    const ended = await worker.store.get(job.id);
    expect(await worker.deliver(job)).toBe("done");
    expect(await worker.store.get(job.id)).toEqual(ended);

    const expiring = await worker.start("once", { expiresAt: Math.floor(worker.clock.now() / 1000) + 60 });
    worker.clock.advance(61_000);
    expect(await worker.deliver(expiring)).toBe("done");
    worker.clock.advance(-61_000);
    expect(await worker.store.get(expiring.id)).toMatchObject({ status: "queued", attempt: 0 });
    expect(worker.retries).toEqual([]);
  });
});
