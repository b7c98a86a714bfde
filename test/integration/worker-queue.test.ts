import { setTimeout as sleep } from "node:timers/promises";
import { ChangeMessageVisibilityCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DynamoJobStore } from "../../lambdas/shared/adapters/dynamo-job-store.js";
import { SqsJobQueue } from "../../lambdas/shared/adapters/sqs-job-queue.js";
import { composeWorker } from "../../lambdas/shared/app/worker.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import type { JobQueue, JobStore, RetryScheduler } from "../../lambdas/shared/domain/ports.js";
import { flakyApi } from "../../lambdas/shared/jobs/flaky-api.js";
import { hungApi } from "../../lambdas/shared/jobs/hung-api.js";
import type { JobType } from "../../lambdas/shared/jobs/job-type.js";
import {
  createSqsDeadLetterHandler,
  type SqsBatchHandler,
} from "../../lambdas/shared/worker/sqs-handlers.js";
import type { WorkerSettings } from "../../lambdas/shared/worker/worker-deps.js";
import { type SqsPoller, startSqsPoller } from "../../local/sqs-poller.js";
import { countMessages, type LocalAws, useLocalAws } from "../support/local-aws.js";
import { counted, enqueue, newJob, storeFor, workerConfig } from "../support/worker-kit.js";

const eventually = { timeout: 20_000, interval: 100 };

const pollers: SqsPoller[] = [];
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
});

function poll(
  aws: LocalAws,
  queue: "main" | "dead-letter",
  handler: SqsBatchHandler,
  functionTimeoutMs = 30_000,
) {
  const { queueUrl, queueArn, deadLetterQueueUrl, deadLetterQueueArn } = aws.resources;
  pollers.push(
    startSqsPoller({
      sqs: aws.sqs,
      ...(queue === "main"
        ? { queueUrl, queueArn }
        : { queueUrl: deadLetterQueueUrl, queueArn: deadLetterQueueArn }),
      region: aws.endpoints.region,
      functionTimeoutMs,
      waitTimeSeconds: 1,
      handler,
    }),
  );
}

interface Deliveries {
  readonly receiveCounts: string[];
  readonly at: number[];
}

/** The real worker handler, with the retry scheduler and the deliveries it saw recorded. */
function workerOn(
  aws: LocalAws,
  types: readonly JobType[],
  settings: Partial<WorkerSettings>,
  options: { readonly wrapStore?: (store: JobStore) => JobStore } = {},
): { handler: SqsBatchHandler; store: JobStore; delays: number[]; deliveries: Deliveries } {
  const delays: number[] = [];
  const { handler } = composeWorker({
    config: workerConfig(aws, settings),
    clients: aws,
    log: silentLog,
    jobTypes: types,
    wrap: {
      ...(options.wrapStore !== undefined ? { store: options.wrapStore } : {}),
      retries: (queue): RetryScheduler & JobQueue => ({
        retryAfter(receiptHandle, delaySeconds) {
          delays.push(delaySeconds);
          return queue.retryAfter(receiptHandle, delaySeconds);
        },
        send: (message, sendOptions) => queue.send(message, sendOptions),
      }),
    },
  });
  const deliveries: Deliveries = { receiveCounts: [], at: [] };
  return {
    store: storeFor(aws),
    delays,
    deliveries,
    handler: (event: SQSEvent, context) => {
      for (const record of event.Records) {
        deliveries.receiveCounts.push(record.attributes.ApproximateReceiveCount);
        deliveries.at.push(Date.now());
      }
      return handler(event, context);
    },
  };
}

/** The handler as Lambda invokes it, with a remaining time that stands still at `remainingMs`. */
function withRemainingTime(handler: SqsBatchHandler, remainingMs: number): SqsBatchHandler {
  return (event, context) => handler(event, { ...context, getRemainingTimeInMillis: () => remainingMs });
}

/** The store as a loaded machine serves it: every call takes `delayMs` longer. */
function slowed(delayMs: number): (store: JobStore) => JobStore {
  return (store) =>
    new Proxy(store, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== "function") return value;
        return async (...args: unknown[]) => {
          await sleep(delayMs);
          return value.apply(target, args);
        };
      },
    });
}

/** Receives the message and lets it go again unprocessed, as an invocation that crashed would. */
async function crashOnce(aws: LocalAws): Promise<void> {
  const { Messages } = await aws.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: aws.resources.queueUrl,
      WaitTimeSeconds: 2,
      MaxNumberOfMessages: 1,
    }),
  );
  const receiptHandle = Messages?.[0]?.ReceiptHandle;
  if (receiptHandle === undefined) throw new Error("no message to receive");
  await aws.sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: aws.resources.queueUrl,
      ReceiptHandle: receiptHandle,
      VisibilityTimeout: 0,
    }),
  );
}

describe("worker behind the SQS event source", () => {
  it("completes flaky_api after its transient failures, each retried after its backoff", async () => {
    const aws = await useLocalAws();
    const flaky = counted(flakyApi);
    const worker = workerOn(aws, [flaky], { retryBaseSeconds: 1, retryMaxSeconds: 2 });
    const job = newJob({
      type: "flaky_api",
      input: { query: "q", delaySeconds: 0, failTimes: 2 },
      maxAttempts: 5,
    });
    await worker.store.create(job);
    await enqueue(aws, { jobId: job.id, type: job.type });
    poll(aws, "main", worker.handler);

    const done = await vi.waitFor(async () => {
      const row = await worker.store.get(job.id);
      expect(row?.status).toBe("completed");
      return row;
    }, eventually);

    expect(done).toMatchObject({ attempt: 3 });
    expect(done).not.toHaveProperty("lastError");
    expect(JSON.parse(done?.resultJson ?? "null")).toEqual({ answer: "Flaky result for: q", attempts: 3 });
    expect(flaky.runs.map((run) => run.attempt)).toEqual([1, 2, 3]);
    expect(worker.deliveries.receiveCounts).toEqual(["1", "2", "3"]);
    // Backoff: attempt 1 waits 1 s, attempt 2 between 1 and 2 s, and SQS held the message that long.
    expect(worker.delays).toHaveLength(2);
    expect(worker.delays[0]).toBe(1);
    expect(worker.delays[1]).toBeGreaterThanOrEqual(1);
    expect(worker.delays[1]).toBeLessThanOrEqual(2);
    const [first = 0, second = 0, third = 0] = worker.deliveries.at;
    expect(second - first).toBeGreaterThanOrEqual(900);
    expect(third - second).toBeGreaterThanOrEqual(900);
    await vi.waitFor(
      async () => expect(await countMessages(aws.sqs, aws.resources.queueUrl)).toBe(0),
      eventually,
    );
  });

  it("drives hung_api through all its attempts to failed: timeout, retryable", async () => {
    const aws = await useLocalAws();
    const hung = counted(hungApi);
    // However slow the machine (here: every store call 300 ms late), each run times out the same way.
    const worker = workerOn(aws, [hung], {}, { wrapStore: slowed(300) });
    const job = newJob({ type: "hung_api", input: { query: "q" } });
    await worker.store.create(job);
    await enqueue(aws, { jobId: job.id, type: job.type });
    // Each invocation reports 700 ms left, however long its store calls took: every run gets its 500 ms
    // budget (700 less the 200 ms margin) and times out. The poller's own timeout stays far away, so
    // a slow invocation is never cut off and left invisible.
    poll(aws, "main", withRemainingTime(worker.handler, 700));

    const failed = await vi.waitFor(async () => {
      const row = await worker.store.get(job.id);
      expect(row?.status).toBe("failed");
      return row;
    }, eventually);
    expect(failed).toMatchObject({ attempt: 3, error: { code: "timeout", retryable: true } });
    expect(hung.runs.map((run) => run.attempt)).toEqual([1, 2, 3]);
    await vi.waitFor(
      async () => expect(await countMessages(aws.sqs, aws.resources.queueUrl)).toBe(0),
      eventually,
    );
    expect(await countMessages(aws.sqs, aws.resources.deadLetterQueueUrl)).toBe(0);
  });

  it("fails the job on the message's last receive instead of leaving it to the dead-letter queue", async () => {
    const aws = await useLocalAws(undefined, { maxReceiveCount: 2 });
    const flaky = counted(flakyApi);
    const worker = workerOn(aws, [flaky], { maxReceiveCount: 2 });
    const job = newJob({
      type: "flaky_api",
      input: { query: "q", delaySeconds: 0, failTimes: 5 },
      maxAttempts: 5,
    });
    await worker.store.create(job);
    await enqueue(aws, { jobId: job.id, type: job.type });
    await crashOnce(aws);
    poll(aws, "main", worker.handler);

    const failed = await vi.waitFor(async () => {
      const row = await worker.store.get(job.id);
      expect(row?.status).toBe("failed");
      return row;
    }, eventually);
    expect(worker.deliveries.receiveCounts).toEqual(["2"]);
    expect(failed).toMatchObject({
      attempt: 1,
      error: { code: "external_api_unavailable", retryable: true },
    });
    expect(flaky.runs).toHaveLength(1);
    await vi.waitFor(
      async () => expect(await countMessages(aws.sqs, aws.resources.queueUrl)).toBe(0),
      eventually,
    );
    expect(await countMessages(aws.sqs, aws.resources.deadLetterQueueUrl)).toBe(0);
  });

  it("a message that reaches the dead-letter queue leaves its job failed, never stuck", async () => {
    const aws = await useLocalAws(undefined, { maxReceiveCount: 2 });
    const store = new DynamoJobStore({ client: aws.dynamo, tableName: aws.resources.tableName });
    const job = newJob();
    await store.create(job);
    await new SqsJobQueue({ client: aws.sqs, queueUrl: aws.resources.queueUrl }).send({
      jobId: job.id,
      type: job.type,
    });
    // A worker claimed the job, then every invocation died before it could settle the message.
    await store.claim(job.id, 60_000);
    await crashOnce(aws);
    await crashOnce(aws);
    poll(aws, "dead-letter", createSqsDeadLetterHandler({ store, log: silentLog }));
    // The receive after the last allowed one moves the message to the dead-letter queue.
    await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: aws.resources.queueUrl, WaitTimeSeconds: 1 }));

    const failed = await vi.waitFor(async () => {
      const row = await store.get(job.id);
      expect(row?.status).toBe("failed");
      return row;
    }, eventually);
    expect(failed).toMatchObject({ attempt: 1, error: { code: "delivery_exhausted", retryable: true } });
    await vi.waitFor(
      async () => expect(await countMessages(aws.sqs, aws.resources.deadLetterQueueUrl)).toBe(0),
      eventually,
    );
  });
});
