import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import type { JobQueue, JobStore, RetryScheduler } from "../../lambdas/shared/domain/ports.js";
import { slowApi } from "../../lambdas/shared/jobs/slow-api.js";
import { createWorkerDeps } from "../../lambdas/shared/wiring.js";
import { rowWaitDelaySeconds } from "../../lambdas/shared/worker/process-delivery.js";
import {
  createSqsWorkerHandler,
  UNRECORDED_RETRY_SECONDS,
} from "../../lambdas/shared/worker/sqs-handlers.js";
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
function worker(wrapStore: (store: JobStore) => JobStore = (store) => store) {
  const slow = counted(slowApi);
  const deps = createWorkerDeps(workerConfig(aws), aws, silentLog, { jobTypes: [slow] });
  const delays: number[] = [];
  const queue: RetryScheduler & JobQueue = {
    async retryAfter(_receiptHandle, delaySeconds) {
      delays.push(delaySeconds);
    },
    send: (message, options) => deps.queue.send(message, options),
  };
  const store = storeFor(aws);
  const handler = createSqsWorkerHandler({ ...deps, store: wrapStore(store), queue });
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

/** Every method of the store, bound, so a test can replace one. */
function bind(store: JobStore): JobStore {
  const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(store)).filter(
    (name) => name !== "constructor",
  );
  return Object.fromEntries(
    methods.map((name) => [
      name,
      (store[name as keyof JobStore] as (...args: unknown[]) => unknown).bind(store),
    ]),
  ) as unknown as JobStore;
}
