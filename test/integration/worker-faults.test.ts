import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { composeWorker } from "../../lambdas/shared/app/worker.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import type { JobQueue, JobStore, RetryScheduler } from "../../lambdas/shared/domain/ports.js";
import { slowApi } from "../../lambdas/shared/jobs/slow-api.js";
import { rowWaitDelaySeconds } from "../../lambdas/shared/worker/process-delivery.js";
import { UNRECORDED_RETRY_SECONDS } from "../../lambdas/shared/worker/sqs-handlers.js";
import type { WorkerSettings } from "../../lambdas/shared/worker/worker-deps.js";
import { type LocalAws, useLocalAws } from "../support/local-aws.js";
import {
  counted,
  lambdaContext,
  newJob,
  storeFor,
  syntheticRecord,
  workerConfig,
} from "../support/worker-kit.js";

let aws: LocalAws;

beforeAll(async () => {
  aws = await useLocalAws();
});

/** The real worker handler on the test's table, with its retry delays recorded. */
function worker(
  wrapStore: (store: JobStore) => JobStore = (store) => store,
  settings: Partial<WorkerSettings> = {},
) {
  const slow = counted(slowApi);
  const delays: number[] = [];
  const { handler } = composeWorker({
    config: workerConfig(aws, settings),
    clients: aws,
    log: silentLog,
    jobTypes: [slow],
    wrap: {
      store: wrapStore,
      retries: (queue): RetryScheduler & JobQueue => ({
        async retryAfter(_receiptHandle, delaySeconds) {
          delays.push(delaySeconds);
        },
        send: (message, options) => queue.send(message, options),
      }),
    },
  });
  // The worker holds its own store; the tests read and seed rows through another on the same table.
  const store = storeFor(aws);
  return { slow, store, delays, handler };
}

describe("a message that arrives before its row (the start sends first)", () => {
  it("is looked at again shortly, and runs once its row is there", async () => {
    const { slow, store, delays, handler } = worker();
    const job = newJob({ input: { query: "late row", delaySeconds: 0 } });
    const record = syntheticRecord(JSON.stringify({ jobId: job.id, type: "slow_api" }));

    const first = await handler({ Records: [record] }, lambdaContext());
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(delays).toEqual([rowWaitDelaySeconds(1)]);
    expect(slow.runs).toEqual([]);

    await store.create(job);
    const again = syntheticRecord(record.body, 2, Number(record.attributes.SentTimestamp));
    expect(await handler({ Records: [again] }, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(await store.get(job.id)).toMatchObject({ status: "completed" });
    expect(slow.runs).toHaveLength(1);
  });

  it("when the start's write never lands, the message brings the job to life at its second look, and it runs once", async () => {
    const { slow, store, delays, handler } = worker();
    const job = newJob({ input: { query: "never landed", delaySeconds: 0 }, idempotencyKey: "lost-write" });
    const body = JSON.stringify({ jobId: job.id, type: "slow_api", job });
    const sentAt = Date.now();

    const first = await handler({ Records: [syntheticRecord(body, 1, sentAt)] }, lambdaContext());
    expect(first.batchItemFailures).toHaveLength(1);
    expect(delays).toEqual([rowWaitDelaySeconds(1)]);
    expect(await store.get(job.id)).toBeUndefined();

    const second = await handler({ Records: [syntheticRecord(body, 2, sentAt)] }, lambdaContext());
    expect(second).toEqual({ batchItemFailures: [] });
    expect(await store.get(job.id)).toMatchObject({ status: "completed", attempt: 1, owner: job.owner });
    expect((await store.findByIdempotencyKey(job.owner, "lost-write"))?.id).toBe(job.id);
    expect(slow.runs).toEqual([{ jobId: job.id, attempt: 1 }]);
  });

  it("looks again less and less often while the row is missing", () => {
    const delays = [1, 2, 3, 4, 5].map(rowWaitDelaySeconds);
    expect(delays).toEqual([...delays].sort((a, b) => a - b));
    expect(delays[0]).toBeLessThanOrEqual(1);
  });
});

describe("a delivery whose outcome cannot be recorded", () => {
  it("is reported in batchItemFailures and comes back soon, not after the visibility timeout", async () => {
    const storeDown = new Error("store timed out");
    const { store, delays, handler } = worker((real) => ({
      ...bind(real),
      complete: () => Promise.reject(storeDown),
    }));
    const job = newJob({ input: { query: "unrecorded", delaySeconds: 0 } });
    await store.create(job);
    const record = syntheticRecord(JSON.stringify({ jobId: job.id, type: "slow_api" }));

    const response = await handler({ Records: [record] }, lambdaContext());
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(delays).toEqual([UNRECORDED_RETRY_SECONDS]);
    expect(UNRECORDED_RETRY_SECONDS).toBeLessThanOrEqual(30);
    expect(await store.get(job.id)).toMatchObject({ status: "running" });
  });

  it("leaves a malformed message to the queue's own redelivery", async () => {
    const { delays, handler } = worker();
    const record = syntheticRecord(JSON.stringify({ jobId: randomUUID() }));
    const response = await handler({ Records: [record] }, lambdaContext());
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(delays).toEqual([]);
  });
});

/**
 * A claim whose write reaches the table but whose answer never reaches the worker: what a store
 * that stalls past the client's timeout and then applies the queued write does.
 */
function claimLandsButTimesOut(real: JobStore, times = 1): JobStore {
  let left = times;
  return {
    ...bind(real),
    async claim(id, leaseMs, token) {
      const outcome = await real.claim(id, leaseMs, token);
      if (left-- > 0) throw Object.assign(new Error("claim timed out"), { name: "TimeoutError" });
      return outcome;
    },
  };
}

describe("a claim that takes effect after its client timed out (a ghost lease)", () => {
  it("the delivery that made it knows its own claim when it tries again, and runs the job once", async () => {
    const { slow, store, delays, handler } = worker((real) => claimLandsButTimesOut(real), {
      storePatienceMs: 10_000,
    });
    const job = newJob({ input: { query: "ghost", delaySeconds: 0 } });
    await store.create(job);
    const record = syntheticRecord(JSON.stringify({ jobId: job.id, type: "slow_api" }));

    expect(await handler({ Records: [record] }, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(delays).toEqual([]);
    expect(await store.get(job.id)).toMatchObject({ status: "completed", attempt: 1 });
    expect(slow.runs).toEqual([{ jobId: job.id, attempt: 1 }]);
  });

  it("a later delivery takes an orphaned lease over once its short lease lapses, not after the job type's timeout", async () => {
    const leaseMs = 2_000;
    const { slow, store, delays, handler } = worker((real) => claimLandsButTimesOut(real), {
      storePatienceMs: 0,
      leaseMs,
    });
    const job = newJob({ input: { query: "orphan", delaySeconds: 0 } });
    await store.create(job);
    const body = JSON.stringify({ jobId: job.id, type: "slow_api" });

    // The claim took effect, but this delivery gave up on it: nothing ran, the job reads running.
    const first = syntheticRecord(body);
    expect((await handler({ Records: [first] }, lambdaContext())).batchItemFailures).toHaveLength(1);
    expect(await store.get(job.id)).toMatchObject({ status: "running", attempt: 1 });
    expect(slow.runs).toEqual([]);

    // The next delivery sees a lease no live run holds: it looks again once that short lease lapses.
    const second = syntheticRecord(body, 2);
    expect((await handler({ Records: [second] }, lambdaContext())).batchItemFailures).toHaveLength(1);
    const wait = delays.at(-1) ?? Number.POSITIVE_INFINITY;
    expect(wait).toBeLessThanOrEqual(leaseMs / 1000 + 1);
    expect(wait).toBeLessThan(slowApi.timeoutMs / 1000);

    await sleep(wait * 1000);
    const third = syntheticRecord(body, 3);
    expect(await handler({ Records: [third] }, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(await store.get(job.id)).toMatchObject({ status: "completed", attempt: 2 });
    expect(slow.runs).toEqual([{ jobId: job.id, attempt: 2 }]);
  });
});

describe("a progress write the store does not answer", () => {
  it("does not fail the run: the job completes with one run", async () => {
    const { slow, store, handler } = worker((real) => ({
      ...bind(real),
      progress: () => Promise.reject(new Error("store timed out")),
    }));
    const job = newJob({ input: { query: "progress lost", delaySeconds: 1 } });
    await store.create(job);
    const record = syntheticRecord(JSON.stringify({ jobId: job.id, type: "slow_api" }));

    expect(await handler({ Records: [record] }, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(await store.get(job.id)).toMatchObject({ status: "completed", attempt: 1 });
    expect(slow.runs).toHaveLength(1);
  });
});

describe("the lease of a live run", () => {
  it("is renewed while the run works, so no other delivery takes the job over", async () => {
    const leaseMs = 1_000;
    const { slow, store, delays, handler } = worker(undefined, { leaseMs, cancelCheckMs: 100 });
    const job = newJob({ input: { query: "long", delaySeconds: 3 } });
    await store.create(job);
    const body = JSON.stringify({ jobId: job.id, type: "slow_api" });

    const live = handler({ Records: [syntheticRecord(body)] }, lambdaContext());
    await vi.waitFor(() => expect(slow.runs).toHaveLength(1), { timeout: 5_000, interval: 20 });
    await sleep(2 * leaseMs);
    const duplicate = await handler({ Records: [syntheticRecord(body, 2)] }, lambdaContext());
    expect(duplicate.batchItemFailures).toHaveLength(1);
    expect(delays.at(-1)).toBeLessThanOrEqual(leaseMs / 1000 + 1);

    expect(await live).toEqual({ batchItemFailures: [] });
    expect(await store.get(job.id)).toMatchObject({ status: "completed", attempt: 1 });
    expect(slow.runs).toHaveLength(1);
  });

  it("stops the run before the lease lapses when the store stops answering, and releases the job", async () => {
    const leaseMs = 1_000;
    const storeDown = (): Promise<never> => Promise.reject(new Error("store timed out"));
    const { slow, store, delays, handler } = worker(
      (real) => ({ ...bind(real), renewLease: storeDown, get: storeDown }),
      {
        leaseMs,
        cancelCheckMs: 100,
      },
    );
    const job = newJob({ input: { query: "stalled", delaySeconds: 10 } });
    await store.create(job);
    const startedAt = Date.now();

    const response = await handler(
      { Records: [syntheticRecord(JSON.stringify({ jobId: job.id, type: "slow_api" }))] },
      lambdaContext(),
    );
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(response.batchItemFailures).toHaveLength(1);
    expect(delays).toHaveLength(1);
    expect(slow.runs).toHaveLength(1);
    expect(await store.get(job.id)).toMatchObject({
      status: "running",
      attempt: 1,
      leaseExpiresAt: 0,
      lastError: { code: "store_unavailable", retryable: true },
    });
  });
});

/** Every method of the store, bound, so a test can replace one. */
function bind(store: JobStore): JobStore {
  const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(store)).filter(
    (name) => name !== "constructor" && typeof store[name as keyof JobStore] === "function",
  );
  return Object.fromEntries(
    methods.map((name) => [
      name,
      (store[name as keyof JobStore] as (...args: unknown[]) => unknown).bind(store),
    ]),
  ) as unknown as JobStore;
}
